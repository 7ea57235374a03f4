"""NAS-Bench-301 / DARTS against NASLib's file and hand-worked cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graf.cli import main
from graf.data import get_benchmark
from graf.data.nb301 import NASLIB_FILE, load_nb301
from graf.features import feature_table
from graf.spaces import get_space
from graf.spaces.nb301 import NUM_ARCHS

SPACE = get_space("nb301")

#: DARTS_V2 of the DARTS paper (genotypes.py), as its repository writes it
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))"
)
#: the same genotype as a NASLib key (ops 0 max_pool .. 6 dil_conv_5x5), each node's pairs sorted by input
DARTS_V2_KEY = (
    "[[(0, 3), (1, 3), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)], "
    "[(0, 0), (1, 0), (1, 0), (2, 2), (0, 0), (2, 2), (1, 0), (2, 2)]]"
)


@pytest.fixture(scope="module")
def file_keys(data_dir):
    with open(data_dir / NASLIB_FILE) as fh:
        return list(json.load(fh)["cifar10"])


def test_encodings_by_hand():
    a = SPACE.parse(DARTS_V2)
    assert str(a) == DARTS_V2_KEY == SPACE.format(a, "naslib")
    assert SPACE.parse(DARTS_V2_KEY) == a == SPACE.parse(SPACE.format(a, "genotype"))
    assert a.cell_ops("normal")[-1] == ("dil_conv_3x3", 2)
    assert SPACE.format(a, "genotype").startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")
    assert "normal_concat=[2, 3, 4, 5]" in SPACE.format(a, "genotype")
    # a node's two pairs in either order are one architecture (the node sums them)
    swapped = DARTS_V2_KEY.replace("(0, 2), (2, 5)]", "(2, 5), (0, 2)]")
    assert swapped != DARTS_V2_KEY and SPACE.parse(swapped) == a
    assert SPACE.parse(tuple(tuple(c) for c in a.to_naslib())) == a
    assert SPACE.size == NUM_ARCHS == (3 * 6 * 10 * 7**8) ** 2 and SPACE.enumerate() is None


@pytest.mark.parametrize(
    "bad, message",
    [
        ("[[(0, 3), (0, 3), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)], [(0, 0)] * 8]", "malformed"),
        ("[[(0, 3), (0, 1), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)], " + DARTS_V2_KEY[1:-1].split("], ")[1] + "]",
         "uses input 0 twice"),
        ("[[(0, 3), (2, 1), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)], " + DARTS_V2_KEY[1:-1].split("], ")[1] + "]",
         "takes inputs 0..1"),
        ("[[(0, 7), (1, 1), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5)], " + DARTS_V2_KEY[1:-1].split("], ")[1] + "]",
         "op index"),
        ("[[(0, 3), (1, 1)], [(0, 0), (1, 0)]]", "8 \\(input, op\\) pairs"),
        (DARTS_V2.replace("normal_concat=range(2, 6)", "normal_concat=[2, 3, 4]"), "concatenate"),
        (DARTS_V2.replace("'dil_conv_3x3'", "'conv_7x1_1x7'"), "op name"),
        ("Genotype(normal=[], reduce=[])", "names exactly"),
        ("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", "cannot parse"),
    ],
)
def test_bad_genotypes_say_why(bad, message):
    with pytest.raises(ValueError, match=message):
        SPACE.parse(bad)


def test_every_file_key_parses_and_is_distinct(file_keys):
    archs = [SPACE.parse(k) for k in file_keys]
    assert len(set(archs)) == len(file_keys) == 725
    for key, arch in zip(file_keys[:50], archs):
        assert SPACE.parse(SPACE.format(arch, "genotype")) == arch
        assert SPACE.parse(key.replace("[", "(").replace("]", ")")) == arch  # tuples as NASLib's compact form


def test_benchmark_reads_the_naslib_file(data_dir, file_keys):
    bench = get_benchmark(SPACE)
    y, source = bench.target("val_accuracy", data_dir)
    assert source == NASLIB_FILE and len(y) == 725 and y.between(80, 100).all()
    assert bench.default_nets("val_accuracy", data_dir) == [str(SPACE.parse(k)) for k in file_keys]
    proxies, _ = bench.published_proxies("val_accuracy", data_dir)
    assert sorted(proxies.columns) == sorted(
        ["flops", "params", "synflow", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip"]
    )
    assert proxies.loc[str(SPACE.parse(file_keys[0])), "params"] == 0.856298
    with pytest.raises(ValueError, match="unknown target"):
        bench.target("test_accuracy", data_dir)


def test_sampling_and_mutation_keep_darts_rules():
    archs = SPACE.sample(300, 0)
    assert archs == SPACE.sample(300, 0)
    for a in archs:
        for cell in a.to_naslib():
            for k in range(4):
                (i, _), (j, _) = cell[2 * k], cell[2 * k + 1]
                assert i < j < k + 2  # two different inputs, sorted
    a = SPACE.parse(DARTS_V2)
    nbrs = SPACE.neighbours(a)
    # per cell: 8 pairs x 6 other ops + per node k, two pairs x k free inputs (0+2+4+6)
    assert len(nbrs) == len(set(nbrs)) == 2 * (8 * 6 + 12)
    assert all(sum(x != y for x, y in zip(a.normal + a.reduce, n.normal + n.reduce)) <= 2 for n in nbrs)


def test_iso_key_ignores_node_relabelling():
    a = SPACE.parse(DARTS_V2)
    # normal nodes 0 and 1 both read (0, sep3), (1, sep3) and node 3 reads node 0: relabel node 0 <-> 1
    relabelled = DARTS_V2_KEY.replace("(0, 2), (2, 5)]", "(0, 2), (3, 5)]")
    b = SPACE.parse(relabelled)
    assert a != b and SPACE.iso_key(a) == SPACE.iso_key(b)
    c = SPACE.parse(DARTS_V2_KEY.replace("(0, 2), (2, 5)]", "(0, 2), (4, 5)]"))  # node 3 reads node 2: different
    assert SPACE.iso_key(c) != SPACE.iso_key(a)


def test_graf_features_by_hand():
    row = feature_table([DARTS_V2], ["graf"], space=SPACE).iloc[0]
    assert len(row) == 2 * (7 + 127 * 2 + 127 * 4) == 1538
    assert row["op_count.normal.sep_conv_3x3"] == 5 and row["op_count.normal.skip_connect"] == 2
    assert row["op_count.normal.dil_conv_3x3"] == 1 and row["op_count.normal.max_pool_3x3"] == 0
    assert row["op_count.reduce.max_pool_3x3"] == 5 and row["op_count.reduce.skip_connect"] == 3
    every = "+".join(SPACE.graf_config.ops)
    # normal: c_k-2 -> node 0 -> node 3 (dil_conv_3x3 on node 0)
    assert row[f"max_op_on_path.normal.c_k-2.{every}"] == 2 and row[f"max_op_on_path.normal.c_k-1.{every}"] == 2
    assert row["max_op_on_path.normal.c_k-2.sep_conv_3x3"] == 1
    assert row["max_op_on_path.normal.c_k-2.skip_connect"] == 1
    assert row["max_op_on_path.normal.c_k-1.skip_connect"] == 0  # no skip leaves c_k-1: no path
    assert row["max_op_on_path.normal.c_k-2.sep_conv_3x3+dil_conv_3x3"] == 2
    # reduce: node 0 reads both inputs, nodes 1..3 read node 0 by skip and an input by max_pool
    assert row[f"max_op_on_path.reduce.c_k-1.{every}"] == 2 == row["max_op_on_path.reduce.c_k-1.max_pool_3x3+skip_connect"]
    assert row["max_op_on_path.reduce.c_k-1.max_pool_3x3"] == 1 and row["max_op_on_path.reduce.c_k-1.skip_connect"] == 0
    assert row[f"node_degree.normal.c_k-2_out.{every}"] == 4 and row[f"node_degree.normal.c_k-1_out.{every}"] == 3
    assert row[f"node_degree.normal.mean_out.{every}"] == pytest.approx(8 / 7) == row[f"node_degree.normal.mean_in.{every}"]
    assert row["node_degree.reduce.c_k-2_out.max_pool_3x3"] == 2 and row["node_degree.reduce.c_k-1_out.max_pool_3x3"] == 3


def test_onehot_marks_the_sixteen_pairs():
    names, matrix = SPACE.onehot([SPACE.parse(DARTS_V2)])
    assert len(names) == 2 * 14 * 7 and matrix.sum() == 16
    on = {n for n, v in zip(names, matrix[0]) if v}
    assert "onehot.normal.2-5.dil_conv_3x3" in on and "onehot.reduce.1-2.max_pool_3x3" in on


def test_cli_features_on_naslib_keys(tmp_path, file_keys, data_dir):
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(file_keys[:3] + [DARTS_V2, file_keys[0]]) + "\n")
    out = tmp_path / "f.parquet"
    assert main(["features", "--space", "nb301", "--archs", str(archs), "--out", str(out), "--quiet"]) == 0
    table = pd.read_parquet(out)
    assert table.shape == (4, 1538)
    code = main(["features", "--space", "nb301", "--out", str(tmp_path / "all.parquet"), "--quiet"])
    assert code == 2 and not (tmp_path / "all.parquet").exists()  # not enumerable: --archs is needed
    assert table.index[0] == str(SPACE.parse(file_keys[0])) and table.index[3] == DARTS_V2_KEY


def test_params_equal_the_published_column(data_dir):
    """Every 25th net of the file (all 725 agree too: docs/BENCHMARKS.md, `graf proxies --proxies params`)."""
    torch = pytest.importorskip("torch")
    from proxies.darts_network import DartsNetwork
    from proxies.params import count_parameters

    table = load_nb301(data_dir).iloc[::25]
    ours = [count_parameters(DartsNetwork(a, device="meta")) / 1e6 for a in table.index]  # shapes only, no init
    np.testing.assert_array_equal(np.round(ours, 6), np.round(table["params"].to_numpy(), 6))
    net = DartsNetwork(table.index[0], device="meta")
    assert len(net.cells) == 8 and [c.reduction for c in net.cells].count(True) == 2
    assert net.classifier.in_features == 4 * 128 and net.stem[0].out_channels == 96
    del torch


def test_network_is_seeded_and_runs(torch_one_thread):
    torch = pytest.importorskip("torch")
    from proxies.network import network_builder, network_defaults

    build = network_builder("nb301")
    assert network_defaults("nb301") == {"C": 32, "N": 2}
    a, b = build(DARTS_V2, seed=0, C=8, N=1), build(DARTS_V2, seed=0, C=8, N=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = build(DARTS_V2, seed=1, C=8, N=1)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    with torch.no_grad():
        out = a(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="C must be even"):
        build(DARTS_V2, seed=0, C=7, N=1)
