"""surrogate-BO and the zero-cost rank prior: hand-computed priors, where the asks come from, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graf.search import BenchmarkObjective, SurrogateBO, rank_prior, run_search, surrogate_features
from graf.search.strategies import default_regressor


def test_rank_prior_by_hand():
    table = pd.DataFrame({"naswot": [3.0, 1.0, 2.0, np.nan], "ntk": [10.0, 30.0, 20.0, 40.0], "error": ""},
                         index=pd.Index(list("abcd"), name="arch"))
    prior = rank_prior(table)
    # naswot percentile ranks of 3, 1, 2 among 3 values: 1, 1/3, 2/3; NaN -> 0.
    # ntk lower is better: -ntk ranks 1, 0.5, 0.75, 0.25 among 4 values.
    np.testing.assert_allclose(prior.to_numpy(), [(1 + 1) / 2, (1 / 3 + 0.5) / 2, (2 / 3 + 0.75) / 2, (0 + 0.25) / 2])
    assert list(prior.index) == list("abcd")
    np.testing.assert_allclose(rank_prior(table, ["ntk"]).to_numpy(), [1, 0.5, 0.75, 0.25])
    with pytest.raises(ValueError, match="no column 'synflow'"):
        rank_prior(table, ["synflow"])
    with pytest.raises(ValueError, match="at least one proxy column"):
        rank_prior(table[["error"]])


@pytest.fixture(scope="module")
def setup(data_dir):
    from graf.search import proxy_prior

    objective = BenchmarkObjective("cifar10", data_dir=data_dir)
    features = surrogate_features(("graf",))
    prior, source = proxy_prior()
    assert source.startswith("rank average of naswot, synflow, jacov, ntk, params, flops in ")
    return objective, features, prior


def _forest(seed):
    return default_regressor(seed, n_estimators=20)


def test_asks_come_from_the_prior_top(setup):
    objective, features, prior = setup
    s = SurrogateBO(features=features, prior=prior, n_init=4, init_top=10, n_candidates=50, regressor=_forest, seed=0)
    ranked = list(prior.sort_values(ascending=False, kind="stable").index)
    asked = [str(a) for a in run_search(s, objective, 12).history["arch"]]
    assert len(set(asked)) == 12
    assert set(asked[:4]) <= set(ranked[:10])
    assert set(asked[4:]) <= set(ranked[:50])
    assert s.n_fits == 8  # one fit per ask after the first four


def test_without_a_prior_every_net_is_a_candidate(setup):
    objective, features, _ = setup
    s = SurrogateBO(features=features, n_init=3, regressor=_forest, seed=1)
    assert len(s._candidates) == 15625
    assert len(run_search(s, objective, 6).history) == 6


def test_exhausted_candidates_follow_the_prior(setup):
    objective, features, prior = setup
    s = SurrogateBO(features=features, prior=prior, n_init=2, init_top=2, n_candidates=3, regressor=_forest, seed=0)
    asked = [str(a) for a in run_search(s, objective, 5).history["arch"]]
    assert asked[3:] == list(prior.sort_values(ascending=False, kind="stable").index[3:5])


def test_errors(setup):
    _, features, prior = setup
    with pytest.raises(ValueError, match="init_top >= n_init"):
        SurrogateBO(features=features, prior=prior, n_init=5, init_top=3, seed=0)
    with pytest.raises(ValueError, match="the prior has no value for 15624 of 15625"):
        SurrogateBO(features=features, prior=prior.iloc[:1], seed=0)
    with pytest.raises(ValueError, match="must be finite"):
        SurrogateBO(features=features, prior=prior.where(prior.index != prior.index[0], np.nan), seed=0)
    with pytest.raises(ValueError, match="no features for 15625 of 15625"):
        SurrogateBO(features=features.iloc[:0], seed=0)
    s = SurrogateBO(features=features, prior=prior, n_init=2, seed=0, regressor=_forest)
    s.ask(), s.ask()
    with pytest.raises(ValueError, match="tell the first asks' values"):
        s.ask()


def test_reinforce_policy_moves_towards_rewarded_ops():
    from graf.search import REINFORCE
    from graf.spaces import get_space

    space = get_space("nb201")
    s = REINFORCE(seed=0, learning_rate=0.1)
    assert all(np.allclose(p, 0.2) for p in s.probabilities())
    for _ in range(60):  # reward: the number of conv3x3 edges
        a = s.ask()
        s.tell(a, float(sum(op == "nor_conv_3x3" for op in space.to_parameters(a).values())))
    conv = space.ops.index("nor_conv_3x3")
    assert all(p[conv] == p.max() and p[conv] > 0.4 for p in s.probabilities())
    assert len({str(a) for a, _ in s.told}) == 60  # never asks a queried net again


def test_reinforce_first_gradient_by_hand():
    from graf.search import REINFORCE

    s = REINFORCE(seed=0, learning_rate=0.5, momentum=0.5)
    a1 = s.ask()
    s.tell(a1, 10.0)  # the baseline is then 10 (bias-corrected): zero advantage, no step
    assert all(np.allclose(z, 0.0) for z in s.logits)
    a2 = s.ask()
    s.tell(a2, 20.0)
    # baseline = (0.5*0.5*10 + 0.5*20) / (1 - 0.25) = 16.67; advantage 3.33 > 0. Adam's second
    # step moves every logit by about lr in the sign of -grad: up for a2's ops, down for the rest.
    from graf.spaces import get_space

    chosen = get_space("nb201").to_parameters(a2)
    for k, (name, z) in enumerate(zip(s._names, s.logits)):
        up = s._choice_index[k][chosen[name]]
        assert z[up] > 0 and all(z[j] < 0 for j in range(len(z)) if j != up)
