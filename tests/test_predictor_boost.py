"""The log-error target transform and the CatBoost recipes (optional extra ``boost``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from graf.predictor import make_predictor
from graf.predictor.targets import LogErrorTransformer


def test_log_error_transform_by_hand_and_back():
    t = LogErrorTransformer().fit(np.array([[90.5], [0.5]]))
    # log(100.5 - 90.5) = log 10, log(100.5 - 0.5) = log 100
    np.testing.assert_allclose(t.transform(np.array([[90.5], [0.5]])).ravel(), [np.log(10), np.log(100)])
    np.testing.assert_allclose(t.inverse_transform(np.array([np.log(10), 0.0])), [90.5, 99.5])


def test_log_error_transform_rejects_targets_at_or_over_the_ceiling():
    with pytest.raises(ValueError, match="below the ceiling 100.5"):
        LogErrorTransformer().fit(np.array([[50.0], [100.5]]))
    with pytest.raises(ValueError, match="NaN/inf"):
        LogErrorTransformer().fit(np.array([[50.0], [np.nan]]))
    with pytest.raises(ValueError, match="below the ceiling 2"):
        LogErrorTransformer(ceiling=2.0).fit(np.array([[1.0]])).transform(np.array([[3.0]]))


def _accuracy_frame(n=150, seed=0):
    # accuracies in percent driven by two of four features
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["graf.a", "graf.b", "zcp.c", "zcp.d"])
    y = 85 + 4 * np.tanh(X["graf.a"]) - 3 * X["zcp.c"] ** 2 + 0.2 * rng.normal(size=n)
    return X, np.clip(y.to_numpy(), 10, 95)


@pytest.mark.parametrize("name", ["catboost-logerr", "rf+et+catboost-logerr"])
def test_catboost_recipes_learn_rank_and_repeat(name, tmp_path, monkeypatch):
    pytest.importorskip("catboost")  # optional extra "boost"
    monkeypatch.chdir(tmp_path)  # CatBoost must not leave a catboost_info/ directory behind
    X, y = _accuracy_frame()
    Xt, yt = _accuracy_frame(n=300, seed=1)
    first = make_predictor(name, 3).fit(X, y).predict(Xt)
    again = make_predictor(name, 3).fit(X, y).predict(Xt)
    np.testing.assert_array_equal(first, again)
    assert kendalltau(first, yt).statistic > 0.6
    assert list(tmp_path.iterdir()) == []


def test_the_blend_is_the_weighted_mean_of_its_members():
    pytest.importorskip("catboost")
    X, y = _accuracy_frame()
    Xt, _ = _accuracy_frame(n=50, seed=2)
    blend = make_predictor("rf+et+catboost-logerr", 5).fit(X, y).predict(Xt)
    forests = make_predictor("rf+et-mf0.33", 5).fit(X, y).predict(Xt)
    boosted = make_predictor("catboost-logerr", 5).fit(X, y).predict(Xt)
    np.testing.assert_allclose(blend, (forests + 2 * boosted) / 3, rtol=1e-10)


def test_catboost_logerr_rejects_non_percent_targets():
    pytest.importorskip("catboost")
    X, y = _accuracy_frame()
    with pytest.raises(ValueError, match="below the ceiling"):
        make_predictor("catboost-logerr", 0).fit(X, y + 100)
