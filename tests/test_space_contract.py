"""The contract every registered search space passes (one suite, parametrised over SPACES).

Adding a space to :data:`graf.spaces.SPACES` runs it through all of these: encodings round
trip, seeded sampling and mutation are deterministic, a mutation is one edit, the graph has
the shape the features need, the features are finite with stable names, the one-hot encoding
is one-hot, the benchmark data is wired, and a forward pass runs where a network is
registered.
"""

from __future__ import annotations

import numpy as np
import pytest

from graf.data.benchmarks import BENCHMARKS, get_benchmark
from graf.features import feature_table, graph_features
from graf.features.graf import graf_matrix, graf_specs
from graf.spaces import SPACES, InvalidParameters, Space, get_space

SPACE_NAMES = sorted(SPACES)


@pytest.fixture(params=SPACE_NAMES)
def space(request) -> Space:
    return get_space(request.param)


@pytest.fixture
def archs(space):
    return list(dict.fromkeys(space.sample(40, 7)))


def test_registry(space):
    assert SPACES[space.name] is space
    assert get_space(space) is space
    assert space.encodings and space.description and space.arch_help
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("no_such_space")


def test_every_encoding_round_trips(space, archs):
    for arch in archs:
        assert space.parse(arch) is arch or space.parse(arch) == arch
        assert str(arch) == space.format(arch)
        for encoding in space.encodings:
            text = space.format(arch, encoding)
            assert isinstance(text, str)
            assert space.parse(text) == arch, (encoding, text)
        assert hash(arch) == hash(space.parse(str(arch)))
    with pytest.raises(ValueError):
        space.format(archs[0], "no-such-encoding")


def test_garbage_is_a_value_error(space):
    for bad in ("", "nonsense", "(1, 2)", "||", 3.5, None):
        with pytest.raises(ValueError):
            space.parse(bad)


def test_enumeration(space):
    archs = space.enumerate()
    if archs is None:
        pytest.skip(f"{space.name} is not enumerable")
    assert len(archs) == space.size
    assert len(set(archs)) == len(archs)
    assert space.enumerate() == archs  # a fixed order
    valid = space.valid_archs()
    assert valid == [a for a in archs if space.is_valid(a)]
    for a in archs[:: max(1, len(archs) // 200)]:
        assert space.is_valid(space.pruned(a))
        assert space.is_valid(a) == (space.pruned(a) == a)


def test_sampling_is_seeded(space):
    assert space.sample(30, 3) == space.sample(30, 3)
    assert space.sample(30, 3) != space.sample(30, 4)
    assert space.sample(30, np.random.default_rng(3)) == space.sample(30, 3)
    assert all(space.is_valid(a) for a in space.sample(50, 1, valid_only=True))
    assert space.sample(0, 0) == []
    with pytest.raises(ValueError):
        space.sample(-1, 0)


def test_mutation_is_one_seeded_edit(space, archs):
    for i, arch in enumerate(archs):
        child = space.mutate(arch, i)
        assert child == space.mutate(arch, i)
        assert child != arch
        assert child in space.neighbours(arch)
    rng = np.random.default_rng(0)
    draws = max(200, 30 * len(space.neighbours(archs[0])))  # large neighbourhoods (nb301: 120) need more draws
    children = {space.mutate(archs[0], rng) for _ in range(draws)}
    assert children == set(space.neighbours(archs[0]))  # every neighbour is reachable


def test_neighbours(space, archs):
    for arch in archs:
        nbrs = space.neighbours(arch)
        assert arch not in nbrs
        assert len(set(nbrs)) == len(nbrs)
        assert nbrs == space.neighbours(arch)
        valid = space.neighbours(arch, valid_only=True)
        assert valid == [a for a in nbrs if space.is_valid(a)]
        for n in nbrs:
            assert arch in space.neighbours(n)  # one edit is symmetric
        if valid:
            assert space.mutate(arch, 0, valid_only=True) in valid


def test_iso_key(space, archs):
    keys = [space.iso_key(a) for a in archs]
    if all(k is None for k in keys):
        pytest.skip(f"{space.name} defines no isomorphism key")
    for a, k in zip(archs, keys):
        assert isinstance(k, str)
        assert space.iso_key(space.pruned(a)) == k  # pruning keeps the computation


def test_graph_shape(space, archs):
    ops = set(space.graf_config.ops)
    for arch in archs:
        g = space.graph(arch)
        assert g.is_directed()
        assert g.graph["input"] in g and g.graph["output"] in g
        if g.graph.get("ops_on") == "nodes":  # nb101: ops on the interior nodes
            io = {g.graph["input"], g.graph["output"]}
            assert all(d["op"] in ops for v, d in g.nodes(data=True) if v not in io)
        else:
            assert all(d["op"] in ops for _, _, d in g.edges(data=True))
        if space.cell_shape is not None:
            assert tuple(g.nodes) == space.cell_shape.nodes
            assert set(g.edges) <= set(space.cell_shape.edges)


def test_graf_features_finite_with_stable_names(space, archs):
    table = feature_table(archs, ["graf"], space=space)
    assert table.index.tolist() == [str(a) for a in archs]
    assert np.isfinite(table.to_numpy()).all()
    other = feature_table(space.sample(5, 99), ["graf"], space=space)
    assert list(other.columns) == list(table.columns)
    n_ops = len(space.graf_config.ops)
    cells = len(space.graph(archs[0]).graph.get("cells", ("",)))  # nb301: one op count per op and cell
    assert sum(c.startswith("op_count.") for c in table.columns) == n_ops * cells
    assert all(c.split(".")[0] in {f.family for f in space.graf_config.families} for c in table.columns)
    # the vectorised path equals evaluating every family on every graph
    direct = [graph_features(space.graph(a), graf_specs(space)) for a in archs[:10]]
    names, matrix = graf_matrix(space, archs[:10])
    assert names == list(table.columns)
    np.testing.assert_array_equal(matrix, np.array([[row[n] for n in names] for row in direct]))


def test_onehot(space, archs):
    names, matrix = space.onehot(archs)
    assert all(n.startswith("onehot.") for n in names)
    assert matrix.shape == (len(archs), len(names))
    assert set(np.unique(matrix)) <= {0.0, 1.0}
    if space.cell_shape is not None:
        assert (matrix.sum(axis=1) == len(space.cell_shape.edges)).all()
    distinct = {tuple(r) for r in matrix}
    assert len(distinct) == len(set(archs))  # the encoding tells the architectures apart


def test_benchmark_is_wired(space):
    assert space.name in BENCHMARKS
    bench = get_benchmark(space)
    assert space.default_dataset in space.datasets
    assert bench.default_target in bench.targets()
    table = bench.table()
    for ds in space.datasets.values():
        for col in (ds.target, ds.test, ds.cost):
            if col is not None:
                assert col in table.columns, (ds.name, col)
    y, source = bench.target(bench.default_target)
    assert source and y.notna().all() and len(y) > 100
    nets = bench.default_nets(bench.default_target)
    assert set(nets) <= set(y.index)
    assert all(str(space.parse(a)) == a for a in nets[:50])
    proxies, _ = bench.published_proxies(bench.default_target)
    assert set(nets) <= set(proxies.index)


def test_forward_pass_where_a_network_is_registered(space, archs):
    torch = pytest.importorskip("torch")
    from proxies.network import NETWORK_BUILDERS, network_builder

    if space.name not in NETWORK_BUILDERS:
        with pytest.raises(ValueError, match=f"no network is registered for space '{space.name}'"):
            network_builder(space.name)
        return
    net = network_builder(space.name)(archs[0], seed=0, C=4, N=1, num_classes=10)
    with torch.no_grad():
        out = net(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_categorical_parameters_round_trip(space, archs):
    try:
        params = space.parameters()
    except NotImplementedError:
        pytest.skip(f"{space.name} has no categorical parameterisation")
    assert params and all(len(choices) >= 2 for choices in params.values())
    for arch in archs:
        values = space.to_parameters(arch)
        assert list(values) == list(params) and all(values[k] in params[k] for k in params)
        assert space.from_parameters(values) == arch
    first = {k: c[0] for k, c in params.items()}
    with pytest.raises(ValueError, match="no value for parameter"):
        space.from_parameters(dict(list(first.items())[1:]))
    with pytest.raises(ValueError, match="has no parameter 'bogus'"):
        space.from_parameters({**first, "bogus": "x"})
    with pytest.raises(ValueError) as bad_value:  # a malformed assignment, not a choice that is no architecture
        space.from_parameters({**first, next(iter(params)): "bogus"})
    assert not isinstance(bad_value.value, InvalidParameters)


def test_random_assignments_are_architectures_or_invalid(space):
    """A seeded draw of assignments: each gives an architecture of the space (which maps back
    to itself) or raises InvalidParameters. Where none is invalid, the assignments and the
    architectures are one to one; where some are (NB101), there are more assignments."""
    try:
        params = space.parameters()
    except NotImplementedError:
        pytest.skip(f"{space.name} has no categorical parameterisation")
    rng = np.random.default_rng(11)
    invalid = 0
    for _ in range(200):
        values = {k: c[int(rng.integers(len(c)))] for k, c in params.items()}
        try:
            arch = space.from_parameters(values)
        except InvalidParameters:
            invalid += 1
            continue
        assert space.parse(str(arch)) == arch
        assert space.from_parameters(space.to_parameters(arch)) == arch
    if space.size is not None:
        size = int(np.prod([len(c) for c in params.values()]))
        assert size == space.size if not invalid else size > space.size
