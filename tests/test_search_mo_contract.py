"""Contract tests every multi-objective strategy passes (parametrized over all of them), on the real tables."""

from __future__ import annotations

import numpy as np
import pytest

from graf.search import proxy_prior, surrogate_features
from graf.search.multi import MOREA, NSGAII, MORandomSearch, MOSurrogateBO, MultiObjective, run_mo_search
from graf.spaces import nb201


@pytest.fixture(scope="module")
def objective(data_dir):
    return MultiObjective("cifar10,hw:cifar10:edgegpu_latency", data_dir=data_dir)


@pytest.fixture(scope="module")
def features():
    return surrogate_features(("graf",))


@pytest.fixture(scope="module")
def prior():
    return proxy_prior()[0]


def _small_forest(seed):
    from graf.search.strategies import default_regressor

    return default_regressor(seed, n_estimators=10)


FACTORIES = {
    "random": lambda seed, obj, features, prior, **kw: MORandomSearch(senses=obj.senses, seed=seed, **kw),
    "mo-rea": lambda seed, obj, features, prior, **kw: MOREA(senses=obj.senses, population_size=5, sample_size=2,
                                                              seed=seed, **kw),
    "nsga2": lambda seed, obj, features, prior, **kw: NSGAII(senses=obj.senses, population_size=5, seed=seed, **kw),
    "surrogate-bo": lambda seed, obj, features, prior, **kw: MOSurrogateBO(
        senses=obj.senses, features=features, known=obj.known(), prior=prior, n_init=3, n_candidates=300,
        regressor=_small_forest, seed=seed, **kw),
    "surrogate-bo-parego": lambda seed, obj, features, prior, **kw: MOSurrogateBO(
        senses=obj.senses, features=features, known=obj.known(), prior=prior, n_init=3, n_candidates=300,
        acquisition="parego", regressor=_small_forest, seed=seed, **kw),
}


@pytest.fixture(params=sorted(FACTORIES))
def make(request, objective, features, prior):
    factory = FACTORIES[request.param]
    return lambda seed, **kw: factory(seed, objective, features, prior, **kw)


def _drive(strategy, objective, n):
    asked = []
    for _ in range(n):
        a = strategy.ask()
        asked.append(str(a))
        strategy.tell(a, objective.values.loc[str(a)].to_numpy())
    return asked


def test_same_seed_same_asks(make, objective):
    assert _drive(make(3), objective, 9) == _drive(make(3), objective, 9)


def test_generator_seed_accepted(make, objective):
    assert _drive(make(np.random.default_rng(7)), objective, 8) == _drive(make(np.random.default_rng(7)), objective, 8)


def test_different_seeds_differ(make, objective):
    assert _drive(make(1), objective, 9) != _drive(make(2), objective, 9)


def test_seed_is_required(make):
    with pytest.raises(ValueError, match="seed"):
        make(None)


def test_asks_are_space_members(make, objective):
    for a in _drive(make(0), objective, 10):
        assert str(nb201.NB201Arch.from_str(a)) == a


def test_tell_unasked_or_twice_errors(make):
    s = make(0)
    a = s.ask()
    with pytest.raises(ValueError, match="not asked"):
        s.tell(nb201.mutate(a, 0), (90.0, 2.0))
    s.tell(a, (90.0, 2.0))
    with pytest.raises(ValueError, match="not asked"):
        s.tell(a, (90.0, 2.0))


@pytest.mark.parametrize("bad", [(float("nan"), 1.0), (90.0, float("inf")), (90.0,), (90.0, 1.0, 2.0), 90.0, None,
                                 ("x", 1.0)])
def test_tell_bad_values_error(make, bad):
    s = make(0)
    a = s.ask()
    with pytest.raises(ValueError):
        s.tell(a, bad)


def test_discard_drops_a_pending_ask(make):
    s = make(0)
    a = s.ask()
    s.discard(a)
    with pytest.raises(ValueError, match="not asked"):
        s.tell(a, (90.0, 2.0))


def test_recommend_is_the_pareto_set_of_the_told_values(make, objective):
    s = make(5)
    assert s.recommend() == []
    _drive(s, objective, 12)
    told = [(str(a), np.asarray(v)) for a, v in s.told]

    def dominated(v):  # independent pairwise check: accuracy maximised, latency minimised
        return any(w[0] >= v[0] and w[1] <= v[1] and (w[0] > v[0] or w[1] < v[1]) for _, w in told)

    expected = {a for a, v in told if not dominated(v)}
    got = [str(a) for a in s.recommend()]
    assert set(got) == expected and len(got) == len(expected)
    accs = [dict(told)[a][0] for a in got]
    assert accs == sorted(accs, reverse=True)  # best accuracy first


@pytest.mark.parametrize("budget", [1, 9])
def test_query_budget_respected_and_history_records_every_objective(make, objective, budget):
    r = run_mo_search(make(4), objective, budget)
    assert r.queries == budget == len(r.history)
    assert list(r.history["hw:cifar10:edgegpu_latency"]) == list(objective.values.loc[r.history["arch"],
                                                                                      "hw:cifar10:edgegpu_latency"])
    assert set(r.pareto) <= set(r.history["arch"]) and set(r.history.loc[r.history["pareto"], "arch"]) == set(r.pareto)
    assert 0 < r.hypervolume_ratio <= r.queried_hypervolume_ratio <= 1 + 1e-12
    assert r.history["hypervolume_ratio"].iloc[-1] == pytest.approx(r.hypervolume_ratio)


@pytest.mark.parametrize("senses", [("max",), ("max", "up"), ()])
@pytest.mark.parametrize("cls", [MORandomSearch, MOREA, NSGAII])
def test_bad_senses(cls, senses):
    with pytest.raises(ValueError, match="sense"):
        cls(senses=senses, seed=0)


def test_surrogate_needs_a_queried_objective(objective, features):
    known = objective.values.set_axis([0, 1], axis=1)
    with pytest.raises(ValueError, match="nothing to search"):
        MOSurrogateBO(senses=objective.senses, features=features, known=known, seed=0)
    with pytest.raises(ValueError, match="ehvi"):
        MOSurrogateBO(senses=("max", "max", "min"), features=features, known=known.iloc[:, [1]].set_axis([2], axis=1),
                      acquisition="ehvi", seed=0)


def test_pool_is_respected(data_dir, features, prior):
    """edgetpu_latency lacks 4699 nets (not compiled): every strategy draws from the 10926 others."""
    obj = MultiObjective("cifar10,hw:cifar10:edgetpu_latency", data_dir=data_dir)
    assert len(obj.archs) == 10926
    pool = set(obj.archs)
    for name, factory in sorted(FACTORIES.items()):
        r = run_mo_search(factory(0, obj, features.loc[obj.archs], prior, pool=obj.archs), obj, 8)
        assert set(r.history["arch"]) <= pool and len(r.history) == 8, name


def test_surrogate_without_a_prior_starts_at_random(objective, features):
    s = MOSurrogateBO(senses=objective.senses, features=features, known=objective.known(), n_init=3, n_candidates=300,
                      regressor=_small_forest, seed=0)
    first = _drive(s, objective, 5)
    again = MOSurrogateBO(senses=objective.senses, features=features, known=objective.known(), n_init=3,
                          n_candidates=300, regressor=_small_forest, seed=0)
    assert _drive(again, objective, 5) == first and s.n_fits == 2
