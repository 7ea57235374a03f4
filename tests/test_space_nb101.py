"""NAS-Bench-101: the cell space, its canonical form and hash, its features, its data and its network.

Independent values: NB101's published count of unique cells (423,624), NASLib's
``zc_nasbench101.json`` (keys, ``params`` and ``flops`` of every key), and features counted by
hand on small cells.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graf.features import feature_table, graph_features
from graf.features.graf import graf_matrix, graf_specs
from graf.features.labels import feature_label
from graf.spaces import get_space
from graf.spaces.nb101 import MAX_EDGES, NASLIB_OPS, OPS, NB101Arch, prune, spec_hash

SPACE = get_space("nb101")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
KEYS_FILE = DATA / "NASLib" / "zc_nasbench101.json"
needs_data = pytest.mark.skipif(not KEYS_FILE.is_file(), reason="needs ../shared/data/NASLib/zc_nasbench101.json")

# input -> conv3x3 -> output, input -> maxpool -> output, input -> output
DIAMOND = np.array([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])


def _keys() -> dict:
    return json.loads(KEYS_FILE.read_text())["nasbench101"]["cifar10"]


def _relabel(matrix: np.ndarray, labels, order) -> tuple[np.ndarray, list[int]]:
    """The spec with its interior nodes in ``order`` (a permutation of 1..n-2)."""
    perm = [0, *order, len(matrix) - 1]
    return matrix[np.ix_(perm, perm)], [labels[v - 1] for v in order]


# --------------------------------------------------------------------------- the set
def test_enumeration_is_nb101s_published_count():
    archs = SPACE.enumerate()
    assert len(archs) == 423_624 == SPACE.size
    counts = pd.Series([a.n for a in archs]).value_counts().sort_index()
    # small cells, counted by hand: 2 nodes: in -> out; 3 nodes: 2 matrices x 3 ops
    assert counts[2] == 1 and counts[3] == 6
    assert max(a.num_edges for a in archs) == MAX_EDGES


def test_isomorphic_specs_have_one_canonical_form_and_hash():
    rng = np.random.default_rng(0)
    for arch in SPACE.sample(30, 1):
        m, labels = arch.matrix, list(arch.labels)
        inner = list(range(1, arch.n - 1))
        for _ in range(3):
            order = list(rng.permutation(inner)) if inner else []
            pm, pl = _relabel(m, labels, order)
            if np.tril(pm).any():  # not a topological order: not an NB101 matrix
                continue
            assert NB101Arch.from_spec(pm, pl) == arch
            hash_labels = [-1, *(["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"].index(OPS[v]) for v in pl), -2]
            assert spec_hash(pm, hash_labels) == arch.spec_hash
    # different cells, different hashes (NB101 checked its hash has no collision in the space)
    sample = list(dict.fromkeys(SPACE.sample(300, 2)))
    assert len({a.spec_hash for a in sample}) == len(sample)


def test_spec_hash_is_nb101s_own():
    # NB101's README cell; its hash as NB101's code gives it (google-research/google-research,
    # unified_functional_hashing/nasbench tests use it as this spec's graph_hash)
    m = np.array([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                  [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
    ops = ["conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3"]
    arch = NB101Arch.from_spec(m, [OPS.index(o) for o in ops])
    assert arch.spec_hash == SPACE.iso_key(arch) == "28cfc7874f6d200472e1a9dcd8650aa0"


def test_pruning_drops_nodes_off_every_path():
    # node 2 reaches nothing (dead end), node 3 is unreachable from the input
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[1, 4] = m[0, 2] = m[3, 4] = 1
    assert prune(m).tolist() == [0, 1, 4]
    arch = NB101Arch.from_spec(m, [2, 0, 1])
    assert str(arch) == "010-001-000|conv3x3" and arch.n == 3
    with pytest.raises(ValueError, match="does not reach"):
        NB101Arch.from_spec(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]), [0])
    dense = np.triu(np.ones((7, 7), dtype=int), 1)
    with pytest.raises(ValueError, match="at most 9 edges"):
        NB101Arch.from_spec(dense, [0] * 5)
    with pytest.raises(ValueError, match="upper-triangular"):
        NB101Arch.from_spec(dense.T, [0] * 5)


def test_constructor_rejects_non_canonical_fields():
    arch = NB101Arch.parse("0111-0001-0001-0000|conv3x3,maxpool3x3")
    assert NB101Arch(arch.n, arch.edges, arch.labels) == arch
    with pytest.raises(ValueError, match="not a canonical cell"):
        NB101Arch(arch.n, arch.edges, tuple(reversed(arch.labels)))


@needs_data
def test_naslib_keys_parse_verbatim_and_round_trip():
    keys = list(_keys())
    archs = [SPACE.parse(k) for k in keys]
    assert len(set(archs)) == 292  # 500 unpruned keys, 292 distinct cells
    for key, arch in zip(keys[:40], archs[:40]):
        assert SPACE.parse(SPACE.format(arch, "naslib")) == arch
        assert SPACE.parse(str(arch)) == arch
        values = [int(v) for v in key.strip("()").split(",")]
        assert arch.n == len(prune(np.array(values[:49]).reshape(7, 7)))


def test_neighbours_change_one_thing_and_reach_other_sizes():
    arch = NB101Arch.parse("0110-0001-0001-0000|conv3x3,conv1x1")
    nbrs = SPACE.neighbours(arch)
    assert arch not in nbrs and len(set(nbrs)) == len(nbrs)
    sizes = {b.n for b in nbrs}
    assert sizes == {3, 4, 5}  # a node removed (in=out=1), ops / edges changed, a node inserted
    for b in nbrs:
        assert arch in SPACE.neighbours(b)
        assert abs(b.num_edges - arch.num_edges) <= 2


# --------------------------------------------------------------------------- features
def test_graf_features_by_hand():
    arch = NB101Arch.from_spec(DIAMOND, [OPS.index("conv3x3-bn-relu"), OPS.index("maxpool3x3")])
    table = feature_table([arch], ["graf"], space=SPACE)
    row = table.iloc[0]
    assert table.shape[1] == 3 + 7 + 7 + 28
    assert row["op_count.maxpool3x3"] == 1 and row["op_count.conv1x1-bn-relu"] == 0
    assert row["min_path_len.conv1x1-bn-relu"] == 1  # the input -> output edge always counts
    assert row["max_op_on_path.conv1x1-bn-relu"] == 0
    assert row["max_op_on_path.conv3x3-bn-relu"] == 1
    assert row["node_degree.input_out.conv3x3-bn-relu"] == 1
    assert row["node_degree.output_in.maxpool3x3+conv3x3-bn-relu"] == 2
    assert row["node_degree.mean_in.maxpool3x3+conv1x1-bn-relu+conv3x3-bn-relu"] == 2 / 4
    assert row["node_degree.mean_out.conv3x3-bn-relu"] == 1 / 4
    # no allowed path: input -> conv1x1 -> output with conv1x1 banned
    chain = NB101Arch.from_spec(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), [OPS.index("conv1x1-bn-relu")])
    row = feature_table([chain], ["graf"], space=SPACE).iloc[0]
    assert row["min_path_len.maxpool3x3"] == 7 and row["max_op_on_path.maxpool3x3"] == -1
    assert feature_label("min_path_len.maxpool3x3+conv3x3-bn-relu") == "min path · maxpool, conv3x3"


def test_vectorised_features_equal_the_graph_functions():
    archs = list(dict.fromkeys(SPACE.sample(60, 5))) + [NB101Arch.parse("01-00|")]
    specs = graf_specs(SPACE)
    names, matrix = graf_matrix(SPACE, archs)
    rows = [graph_features(SPACE.graph(a), specs) for a in archs]
    direct = np.array([[row[n] for n in names] for row in rows])
    np.testing.assert_array_equal(matrix, direct)


def test_graph_has_ops_on_nodes():
    arch = NB101Arch.from_spec(DIAMOND, [0, 2])
    g = SPACE.graph(arch)
    assert g.graph["ops_on"] == "nodes" and nx.is_directed_acyclic_graph(g)
    assert [g.nodes[v]["op"] for v in g] == list(arch.ops)


def test_onehot_tells_cells_of_different_sizes_apart():
    archs = [NB101Arch.parse("01-00|"), NB101Arch.parse("010-001-000|conv1x1"), NB101Arch.parse("0110-0001-0001-0000|conv1x1,conv3x3")]
    names, matrix = SPACE.onehot(archs)
    assert len(names) == 21 + 15 and len({tuple(r) for r in matrix}) == 3
    assert matrix[0, names.index("onehot.0-6")] == 1  # the output sits at 6 in the padded layout


# --------------------------------------------------------------------------- data
@needs_data
def test_benchmark_averages_a_cells_keys():
    from graf.data.benchmarks import get_benchmark
    from graf.data.nb101 import load_nb101_keys

    bench = get_benchmark("nb101")
    y, source = bench.target("val_accuracy", DATA)
    keys = load_nb101_keys(DATA)
    assert len(keys) == 500 and len(y) == 292 and source.endswith("zc_nasbench101.json")
    np.testing.assert_allclose(y.to_numpy(), keys.groupby("arch", sort=False)["val_accuracy"].mean().to_numpy())
    proxies, _ = bench.published_proxies(None, DATA)
    assert "nwot" not in proxies.columns and {"synflow", "jacov", "params", "flops"} <= set(proxies.columns)
    with pytest.raises(ValueError, match="unknown target"):
        bench.target("cifar100", DATA)


# --------------------------------------------------------------------------- network
torch = pytest.importorskip("torch")


def _key_spec(key: str):
    values = [int(v) for v in key.strip("()").split(",")]
    m, ops = np.array(values[:49]).reshape(7, 7), values[49:]
    keep = prune(m)
    return m[np.ix_(keep, keep)], [NASLIB_OPS[ops[v]] for v in keep[1:-1]]


@needs_data
def test_params_and_flops_equal_the_published_values():
    from proxies.flops import count_flops
    from proxies.nb101_network import NB101Network
    from proxies.params import count_parameters

    keys = _keys()
    for i, key in enumerate(itertools.islice(keys, 0, 500, 50)):  # 10 keys (all 500: BENCHMARKS)
        net = NB101Network(_key_spec(key), device="meta")  # the key's own node order, as NASLib builds it
        assert round(count_parameters(net) / 1e6, 6) == keys[key]["params"]
        if i % 3 == 0:  # a forward pass each: 4 keys
            assert round(count_flops(net) / 1e6, 6) == pytest.approx(keys[key]["flops"], abs=1e-6)


def test_channel_split_depends_on_node_order():
    from proxies.nb101_network import NB101Network, vertex_channels
    from proxies.params import count_parameters

    # three interior nodes feed the output: 128 = 43 + 43 + 42, the extra channel goes to the first two
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[0, 2] = m[0, 3] = m[1, 4] = m[2, 4] = m[3, 4] = 1
    assert vertex_channels(128, 128, m) == [128, 43, 43, 42, 128]
    a = NB101Network((m, ["conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3"]), device="meta")
    b = NB101Network((m, ["maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu"]), device="meta")
    assert a.arch == b.arch  # one cell ...
    assert count_parameters(a) != count_parameters(b)  # ... whose parameter count depends on the order


def test_builder_is_seeded_and_runs():
    from proxies.network import network_builder, network_defaults

    arch = NB101Arch.parse("0110-0001-0001-0000|conv3x3,maxpool3x3")
    assert network_defaults("nb101") == {"C": 128, "N": 3}
    build = network_builder("nb101")
    a, b = build(arch, seed=1, C=8, N=1), build(arch, seed=1, C=8, N=1)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    out = a(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


# --------------------------------------------------------------------------- CLI
@needs_data
def test_cli_features_from_naslib_keys(tmp_path):
    keys = list(_keys())[:6]
    archs = tmp_path / "keys.txt"
    archs.write_text("\n".join(keys) + "\n")
    out = tmp_path / "f.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "graf", "features", "--space", "nb101", "--archs", str(archs), "--out", str(out), "--json"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, index_col="arch")
    assert list(table.index) == list(dict.fromkeys(str(NB101Arch.parse(k)) for k in keys))
    assert table.shape[1] == 45
    bad = tmp_path / "bad.txt"
    bad.write_text("(0, 1, 0, 0, 1)\n")
    proc = subprocess.run(
        [sys.executable, "-m", "graf", "features", "--space", "nb101", "--archs", str(bad), "--out", str(tmp_path / "g.csv")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and "bad.txt:1:" in proc.stderr and "Traceback" not in proc.stderr
