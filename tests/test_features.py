"""GRAF features: hand-computed cells, family functions, the fast path, the table builder."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graf.features import (
    FEATURE_GROUPS,
    feature_table,
    graph_features,
    max_path_len,
    min_path_len,
    node_degree,
    op_subsets,
    restrict,
)
from graf.features.graf import graf_matrix, graf_specs
from graf.spaces import DuplicateArchitecturesWarning
from graf.spaces.nb201 import OPS, SPACE, NB201Arch, all_archs

ALL = "none+skip_connect+nor_conv_1x1+nor_conv_3x3+avg_pool_3x3"
C1, C3, NONE, SKIP = "nor_conv_1x1", "nor_conv_3x3", "none", "skip_connect"


def features(ops):
    arch = NB201Arch(tuple(ops))
    return feature_table([arch], ["graf"]).iloc[0]


def test_all_conv3x3_cell_by_hand():
    f = features([C3] * 6)
    expected = {
        f"op_count.{C3}": 6, f"op_count.{NONE}": 0, f"op_count.{C1}": 0,
        f"min_path_len.{C3}": 1, f"min_path_len.{NONE}": 5, f"min_path_len.{ALL}": 1,
        f"max_op_on_path.{C3}": 3, f"max_op_on_path.{NONE}": -1, f"max_op_on_path.{C1}+{C3}": 3,
        f"node_degree.input_out.{C3}": 3, f"node_degree.output_in.{C3}": 3,
        f"node_degree.mean_out.{C3}": 1.5, f"node_degree.mean_in.{C3}": 1.5,
        f"node_degree.input_out.{NONE}": 0, f"node_degree.mean_out.{NONE}": 0,
    }  # fmt: skip
    assert f[list(expected)].to_dict() == expected


def test_cell_whose_input_never_reaches_output_by_hand():
    # edges (0,1) conv3, (2,3) conv1, all others none: graph 1->2 conv3, 3->4 conv1
    arch_ops = [C3, NONE, NONE, NONE, NONE, C1]
    assert not NB201Arch(tuple(arch_ops)).input_reaches_output
    f = features(arch_ops)
    expected = {
        f"op_count.{NONE}": 4, f"op_count.{C1}": 1, f"op_count.{C3}": 1,
        f"min_path_len.{C1}+{C3}": 5, f"min_path_len.{NONE}": 1, f"min_path_len.{ALL}": 1,
        f"max_op_on_path.{C1}+{C3}": -1, f"max_op_on_path.{NONE}": 1,
        f"max_op_on_path.{NONE}+{C1}": 2, f"max_op_on_path.{NONE}+{C3}": 2, f"max_op_on_path.{ALL}": 3,
        f"node_degree.input_out.{C1}+{C3}": 1, f"node_degree.output_in.{C1}+{C3}": 1,
        f"node_degree.mean_out.{C1}+{C3}": 0.5,
        f"node_degree.input_out.{NONE}": 2, f"node_degree.output_in.{NONE}": 2, f"node_degree.mean_in.{NONE}": 1.0,
    }  # fmt: skip
    assert f[list(expected)].to_dict() == expected


def test_cell_with_dead_branch_by_hand():
    # 0->1 none makes node 1 dead; graph 1->2 none, 1->3 conv1, 2->3 conv3, 1->4 pool, 2->4 skip, 3->4 skip
    arch_ops = [NONE, C1, C3, "avg_pool_3x3", SKIP, SKIP]
    assert not NB201Arch(tuple(arch_ops)).is_valid
    f = features(arch_ops)
    expected = {
        f"op_count.{SKIP}": 2, f"op_count.{NONE}": 1, "op_count.avg_pool_3x3": 1,
        f"min_path_len.{ALL}": 1, f"min_path_len.{SKIP}": 5, f"min_path_len.{SKIP}+{C1}": 2,
        f"min_path_len.{NONE}+{SKIP}": 2, f"min_path_len.{NONE}+{SKIP}+{C1}+{C3}": 2,
        f"max_op_on_path.{ALL}": 3, f"max_op_on_path.{SKIP}+{C1}": 2, f"max_op_on_path.{NONE}+{SKIP}": 2,
        f"max_op_on_path.{SKIP}+{C1}+{C3}": 2, f"max_op_on_path.{NONE}+{SKIP}+{C3}": 3,
        f"node_degree.input_out.{ALL}": 3, f"node_degree.output_in.{ALL}": 3, f"node_degree.mean_out.{ALL}": 1.5,
        f"node_degree.input_out.{SKIP}": 0, f"node_degree.output_in.{SKIP}": 2, f"node_degree.mean_in.{SKIP}": 0.5,
    }  # fmt: skip
    assert f[list(expected)].to_dict() == expected


def test_191_uniquely_named_float_columns():
    names, matrix = graf_matrix(SPACE, all_archs()[:10])
    assert len(names) == len(set(names)) == 191 == matrix.shape[1]
    families = pd.Series([n.split(".")[0] for n in names]).value_counts().to_dict()
    assert families == {"op_count": 5, "min_path_len": 31, "max_op_on_path": 31, "node_degree": 124}
    assert len(op_subsets(OPS, range(1, 6))) == 31


def test_fast_path_equals_direct_networkx_evaluation():
    archs = random.Random(0).sample(all_archs(), 150)
    names, matrix = graf_matrix(SPACE, archs)
    specs = graf_specs(SPACE)
    for arch, row in zip(archs, matrix):
        direct = graph_features(arch.to_graph(), specs)
        assert list(direct) == names
        np.testing.assert_array_equal(np.array(list(direct.values())), row)


def test_families_on_a_general_graph():
    g = nx.DiGraph(input="in", output="out")
    g.add_edge("in", "a", op="x")
    g.add_edge("a", "b", op="x")
    g.add_edge("b", "out", op="x")
    g.add_edge("in", "out", op="y")
    g.add_node("lonely")
    assert min_path_len(g) == {"value": 1.0}
    assert max_path_len(g) == {"value": 3.0}
    assert min_path_len(restrict(g, {"x"})) == {"value": 3.0}
    assert max_path_len(restrict(g, {"y"})) == {"value": 1.0}
    assert min_path_len(restrict(g, {"z"}), no_path=99) == {"value": 99.0}
    assert max_path_len(restrict(g, {"z"})) == {"value": -1.0}
    assert node_degree(g) == {"input_out": 2.0, "output_in": 2.0, "mean_out": 0.8, "mean_in": 0.8}
    assert g.number_of_edges() == 4  # restrict copies, never mutates


def test_table_index_order_dtype_and_onehot():
    archs = random.Random(1).sample(all_archs(), 40)
    table = feature_table(archs, ["graf", "onehot"])
    assert table.index.name == "arch"
    assert list(table.index) == [str(a) for a in archs]
    assert table.shape == (40, 191 + 30)
    assert all(dtype == np.float64 for dtype in table.dtypes)
    onehot = table.filter(like="onehot.")
    assert (onehot.sum(axis=1) == 6).all()
    assert table.loc[str(archs[0]), f"onehot.0-1.{archs[0].ops[0]}"] == 1.0
    op_counts = table[[f"op_count.{op}" for op in OPS]].to_numpy()
    np.testing.assert_array_equal(op_counts, onehot.to_numpy().reshape(40, 6, 5).sum(axis=1))


def test_table_errors():
    archs = all_archs()[:3]
    with pytest.raises(ValueError, match="unknown feature group 'bogus'; available: .*graf"):
        feature_table(archs, ["bogus"])
    with pytest.warns(DuplicateArchitecturesWarning, match="1 duplicate architectures dropped"):
        dup = feature_table(archs + [SPACE.format(archs[0], "naslib")], space="nb201")
    assert list(dup.index) == [str(a) for a in archs]
    with pytest.raises(ValueError, match="at least one feature group"):
        feature_table(archs, [])
    with pytest.raises(ValueError, match="cannot tell the search space"):
        feature_table(["not an arch"])
    with pytest.raises(ValueError, match="cannot parse 'not an arch' as an NB201 architecture"):
        feature_table(["not an arch"], space="nb201")


def test_parquet_cache_reuses_and_keys_on_inputs(tmp_path, monkeypatch):
    archs = all_archs()[:50]
    first = feature_table(archs, ["graf"], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 1

    def boom(*args, **kwargs):
        raise AssertionError("recomputed despite a cache hit")

    group = FEATURE_GROUPS["graf"]
    monkeypatch.setitem(FEATURE_GROUPS, "graf", type(group)(group.name, boom, group.version, group.description))
    pd.testing.assert_frame_equal(feature_table(archs, ["graf"], cache_dir=tmp_path), first)
    with pytest.raises(AssertionError, match="recomputed"):
        feature_table(archs[:49], ["graf"], cache_dir=tmp_path)  # other archs: another key
    monkeypatch.setitem(FEATURE_GROUPS, "graf", type(group)(group.name, boom, "2", group.description))
    with pytest.raises(AssertionError, match="recomputed"):
        feature_table(archs, ["graf"], cache_dir=tmp_path)  # new version: another key
