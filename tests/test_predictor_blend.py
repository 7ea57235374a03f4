"""SizeScaledBlend, SizeSwitch and without_cell_columns (graf.predictor.blend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from graf.predictor.blend import SizeScaledBlend, SizeSwitch, without_cell_columns


def _frame(n):
    rng = np.random.default_rng(n)
    X = pd.DataFrame({"graf.a": rng.normal(size=n), "onehot.0-1.none": rng.integers(0, 2, size=n).astype(float)})
    return X, 3 * X["graf.a"].to_numpy() + 10 * X["onehot.0-1.none"].to_numpy()


def _blend(**kw):
    members = [("line", LinearRegression()), ("mean", DummyRegressor())]
    return SizeScaledBlend(members, weights=kw.pop("weights", [2, 1]), grow=kw.pop("grow", {"line": 100}))


@pytest.mark.parametrize("n, scale", [(25, 0.5), (100, 1.0), (400, 1.0)])
def test_a_growing_weight_follows_the_square_root_of_the_training_size(n, scale):
    X, y = _frame(n)
    blend = _blend().fit(X, y)
    # by hand: weight 2 * sqrt(min(n, 100) / 100) for the line, 1 for the mean
    np.testing.assert_allclose(blend.weights_, [2 * scale, 1])
    line = LinearRegression().fit(X, y).predict(X)
    np.testing.assert_allclose(blend.predict(X), (2 * scale * line + y.mean()) / (2 * scale + 1))


def test_params_reach_the_members_and_clone_keeps_them():
    blend = _blend()
    params = blend.get_params(deep=True)
    assert params["line__fit_intercept"] is True and params["mean__strategy"] == "mean"
    blend.set_params(mean__strategy="median")
    assert clone(blend).get_params()["mean__strategy"] == "median"


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"weights": [1]}, "one finite weight >= 0 per member"),
        ({"weights": [0, 0]}, "not all 0"),
        ({"weights": [1, np.nan]}, "one finite weight"),
        ({"grow": {"lines": 10}}, r"unknown member\(s\) \['lines'\]"),
        ({"grow": {"line": 0}}, "must be a positive integer"),
    ],
)
def test_bad_settings_are_one_clear_error(kw, message):
    X, y = _frame(20)
    with pytest.raises(ValueError, match=message):
        _blend(**kw).fit(X, y)


def test_without_cell_columns_hides_only_the_onehot_group():
    X, y = _frame(50)
    model = without_cell_columns(LinearRegression()).fit(X, y)
    assert list(model.named_steps["model"].feature_names_in_) == ["graf.a"]
    np.testing.assert_allclose(model.predict(X), LinearRegression().fit(X[["graf.a"]], y).predict(X[["graf.a"]]))


@parametrize_with_checks([SizeSwitch(DummyRegressor(), LinearRegression(), threshold=20)])
def test_size_switch_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("n, chosen", [(19, "small"), (20, "large"), (400, "large")])
def test_size_switch_fits_the_small_member_below_the_threshold_only(n, chosen):
    X, y = _frame(n)
    switch = SizeSwitch(DummyRegressor(), LinearRegression(), threshold=20).fit(X, y)
    assert switch.chosen_ == chosen
    expected = np.full(n, y.mean()) if chosen == "small" else LinearRegression().fit(X, y).predict(X)
    np.testing.assert_allclose(switch.predict(X), expected)


@pytest.mark.parametrize("threshold", [0, -3, 2.5, True, "512"])
def test_size_switch_rejects_a_threshold_that_is_no_positive_int(threshold):
    X, y = _frame(10)
    with pytest.raises(ValueError, match="threshold must be a positive integer"):
        SizeSwitch(DummyRegressor(), LinearRegression(), threshold=threshold).fit(X, y)
