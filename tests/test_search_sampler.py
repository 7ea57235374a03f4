"""graf.search.sampler.StrategySampler: our strategies inside a real optuna study."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from graf.search import REA, BenchmarkObjective, SurrogateBO, proxy_prior, surrogate_features  # noqa: E402
from graf.search.sampler import StrategySampler  # noqa: E402
from graf.search.strategies import default_regressor  # noqa: E402
from graf.spaces import get_space  # noqa: E402


@pytest.fixture(scope="module")
def objective(data_dir):
    return BenchmarkObjective("cifar10", data_dir=data_dir)


def test_a_study_driven_by_surrogate_bo(objective):
    strategy = SurrogateBO(features=surrogate_features(("graf", "proxies")), prior=proxy_prior()[0], n_init=3,
                           n_candidates=200, regressor=lambda s: default_regressor(s, n_estimators=20), seed=0)
    sampler = StrategySampler(strategy)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    space = get_space("nb201")
    study.optimize(lambda trial: objective.peek_target(sampler.arch(trial)), n_trials=12)
    archs = [str(space.from_parameters(t.params)) for t in study.trials]
    assert len(set(archs)) == 12  # the strategy never repeats a net
    assert [str(a) for a, _ in strategy.told] == archs  # every trial came from the strategy and was told back
    assert study.best_value == max(v for _, v in strategy.told)
    assert study.best_value >= 84.0  # 0.33% of the nets reach 84.0; 12 random trials do so in 3.9% of runs


def test_minimising_study_tells_negated_values_and_failures_are_dropped(objective):
    strategy = REA(population_size=4, sample_size=2, seed=1)
    sampler = StrategySampler(strategy)
    study = optuna.create_study(direction="minimize", sampler=sampler)

    def error_rate(trial):
        arch = sampler.arch(trial)
        if trial.number == 2:
            raise optuna.TrialPruned()
        return 100.0 - objective.peek_target(arch)

    study.optimize(error_rate, n_trials=8)
    told = dict((str(a), v) for a, v in strategy.told)
    assert len(told) == 7 and not strategy._pending
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert told[str(get_space("nb201").from_parameters(t.params))] == pytest.approx(-t.value)


def test_extra_parameters_are_sampled_independently(objective):
    sampler = StrategySampler(REA(population_size=3, sample_size=2, seed=2))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: objective.peek_target(sampler.arch(t)) - t.suggest_float("lr", 0.0, 1.0), n_trials=5)
    assert all(0.0 <= t.params["lr"] <= 1.0 for t in study.trials)


def test_gp_baseline_is_seeded_and_never_repeats_a_net(objective):
    from graf.search import run_search
    from graf.search.strategies import OptunaSearch

    pytest.importorskip("torch")  # optuna's GPSampler runs on torch
    runs = [run_search(OptunaSearch(sampler="gp", seed=3), objective, 12).history for _ in range(2)]  # 10 random startup trials, then 2 by the GP
    assert runs[0]["arch"].tolist() == runs[1]["arch"].tolist()  # same seed, same nets
    assert runs[0]["arch"].nunique() == 12
    other = run_search(OptunaSearch(sampler="gp", seed=4), objective, 12).history
    assert other["arch"].tolist() != runs[0]["arch"].tolist()
    with pytest.raises(ValueError, match="unknown optuna sampler 'bo'"):
        OptunaSearch(sampler="bo", seed=0)
