"""GrafRegressor: scikit-learn contract, equivalence to the paper's forest, rank transform, recipes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from graf.predictor import GrafRegressor, kendall_tau_score, make_predictor, tuned_regressor
from graf.predictor.models import DETERMINISTIC, PREDICTORS


# Every check applies and passes; none is skipped (sklearn itself skips its array-API check
# unless SCIPY_ARRAY_API is set). Few trees keep the checks fast.
@parametrize_with_checks(
    [
        GrafRegressor(n_estimators=10, random_state=0),
        GrafRegressor(n_estimators=10, target_transform="rank", random_state=0),
        GrafRegressor(model="extra_trees", n_estimators=10, random_state=0),
        GrafRegressor(model="rf+extra_trees", n_estimators=5, max_features=0.5, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a.x", "b.y", "c", "d"])
    y = 3 * X["a.x"] - X["b.y"] ** 2 + 0.1 * rng.normal(size=n)
    return X, y.to_numpy()


def test_default_is_the_papers_random_forest():
    X, y = _frame()
    ours = GrafRegressor(random_state=7).fit(X, y).predict(X)
    ref = RandomForestRegressor(random_state=7).fit(X.to_numpy(), y).predict(X.to_numpy())
    np.testing.assert_array_equal(ours, ref)


def test_forest_pair_averages_the_two_forests():
    X, y = _frame()
    kw = dict(n_estimators=15, max_features=0.5, random_state=3)
    pair = GrafRegressor(model="rf+extra_trees", **kw).fit(X, y)
    rf = RandomForestRegressor(**kw).fit(X.to_numpy(), y)
    et = ExtraTreesRegressor(**kw).fit(X.to_numpy(), y)
    np.testing.assert_allclose(pair.predict(X), (rf.predict(X.to_numpy()) + et.predict(X.to_numpy())) / 2, rtol=1e-12)
    np.testing.assert_allclose(pair.feature_importances_, (rf.feature_importances_ + et.feature_importances_) / 2)
    assert pair.feature_importances_.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("model", ["rf", "rf+extra_trees"])
def test_predict_spread_is_the_trees_mean_and_sd(model):
    X, y = _frame()
    est = GrafRegressor(model=model, n_estimators=15, max_features=0.5, random_state=3).fit(X, y)
    mean, sd = est.predict_spread(X.iloc[:20])
    forests = est.estimator_.estimators_ if model == "rf+extra_trees" else [est.estimator_]
    per_tree = np.array([t.predict(X.iloc[:20].to_numpy()) for f in forests for t in f.estimators_])
    assert per_tree.shape == (15 * len(forests), 20)
    np.testing.assert_allclose(mean, est.predict(X.iloc[:20]), rtol=1e-12)
    np.testing.assert_allclose(sd, per_tree.std(axis=0), rtol=1e-12)
    assert (sd > 0).all()  # bootstrap / random splits: the trees disagree on noisy data


def test_predict_spread_is_zero_when_every_tree_is_the_same():
    # no bootstrap and every feature at every split: all trees are the same tree
    X, y = _frame()
    est = GrafRegressor(n_estimators=5, bootstrap=False, random_state=0).fit(X, y)
    mean, sd = est.predict_spread(X)
    np.testing.assert_allclose(sd, 0.0, atol=1e-12)
    np.testing.assert_allclose(mean, y)  # fully grown trees reproduce the training targets


def test_keeps_feature_names_and_rejects_reordered_columns():
    X, y = _frame()
    model = GrafRegressor(n_estimators=5, random_state=0).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.n_features_in_ == 4
    assert model.feature_importances_.shape == (4,)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["b.y", "a.x", "c", "d"]])


def test_same_seed_same_numbers_different_seed_different():
    X, y = _frame()
    a = GrafRegressor(n_estimators=20, random_state=3).fit(X, y).predict(X)
    b = clone(GrafRegressor(n_estimators=20, random_state=3)).fit(X, y).predict(X)
    c = GrafRegressor(n_estimators=20, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_keyword_only_parameters():
    with pytest.raises(TypeError):
        GrafRegressor("rf")  # noqa


def test_rank_transform_is_monotone_back_to_target_scale():
    X, y = _frame()
    model = GrafRegressor(n_estimators=30, target_transform="rank", random_state=0).fit(X, y)
    # fitted on ranks in (0, 1) ...
    assert 0 < model.estimator_.predict(X).min() and model.estimator_.predict(X).max() < 1
    # ... predictions mapped back into the range of the training targets, order preserved
    pred = model.predict(X)
    assert y.min() <= pred.min() and pred.max() <= y.max()
    inner = model.estimator_.predict(X)
    order = np.argsort(inner, kind="stable")
    assert np.all(np.diff(pred[order]) >= 0)
    # hand check of the mapping: the CDF value of the k-th smallest target maps back onto it
    np.testing.assert_allclose(np.interp(model.cdf_sorted_, model.cdf_sorted_, model.y_sorted_), np.sort(y))


def test_bad_parameters_give_clear_errors():
    X, y = _frame()
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        GrafRegressor(model="svm").fit(X, y)
    with pytest.raises(ValueError, match="unknown target_transform"):
        GrafRegressor(target_transform="log").fit(X, y)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        make_predictor("nope", 0)


def test_pipeline_and_grid_search_with_kendall_scorer():
    X, y = _frame(n=80)
    pipe = make_pipeline(StandardScaler(), GrafRegressor(n_estimators=10, random_state=0))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (80,)
    grid = GridSearchCV(
        GrafRegressor(n_estimators=10, random_state=0), {"max_features": [1.0, 0.5]}, scoring=kendall_tau_score, cv=3
    ).fit(X, y)
    assert grid.best_params_["max_features"] in (1.0, 0.5)
    assert list(grid.best_estimator_.feature_names_in_) == list(X.columns)


def test_kendall_scorer_by_hand():
    class Fixed:
        def predict(self, X):
            return np.array([1.0, 2.0, 3.0, 4.0])

    # pairs: (1,2)+ (1,3)+ (1,4)+ (2,3)- (2,4)+ (3,4)+ -> (5 - 1) / 6
    assert kendall_tau_score(Fixed(), None, np.array([1.0, 3.0, 2.0, 4.0])) == pytest.approx(4 / 6)
    assert kendall_tau_score(Fixed(), None, np.array([5.0, 5.0, 5.0, 5.0])) == 0.0


def test_tuned_regressor_searches_on_fit_data_only():
    X, y = _frame(n=60)
    search = tuned_regressor(param_grid={"min_samples_leaf": [1, 5]}, cv=3, random_state=0)
    search.set_params(estimator__n_estimators=10)
    search.fit(X, y)
    # CV folds are drawn from the 60 training rows only
    assert sum(len(test) for _, test in search.cv.split(X)) == 60
    assert search.best_params_["min_samples_leaf"] in (1, 5)


@pytest.mark.parametrize("name", sorted(PREDICTORS))
def test_every_recipe_is_seeded(name):
    if name == "lightgbm":
        pytest.importorskip("lightgbm")  # optional extra "boost"
    if "catboost" in name:
        pytest.importorskip("catboost")  # optional extra "boost"
    if "gnn" in name:
        pytest.importorskip("torch")  # the cell GNN
    if name in DETERMINISTIC:  # no randomness: the seed changes nothing
        assert make_predictor(name, 11).get_params(deep=True) == make_predictor(name, 12).get_params(deep=True)
        return
    params = make_predictor(name, 11).get_params(deep=True)
    seeds = {k: v for k, v in params.items() if k.endswith(("random_state", "random_seed"))}
    assert seeds and set(seeds.values()) == {11}, seeds


@pytest.mark.parametrize("model", ["rf", "extra_trees"])
def test_missing_values_are_learned_from_and_inf_is_rejected(model):
    # a feature that is NaN exactly where the target is low (like a proxy that cannot be
    # computed for a net whose input never reaches its output): the forest must use it
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"proxy": rng.normal(size=200), "noise": rng.normal(size=200)})
    dead = np.arange(200) < 40
    X.loc[dead, "proxy"] = np.nan
    y = np.where(dead, 10.0, 80.0 + X["proxy"].fillna(0).to_numpy())
    est = GrafRegressor(model=model, n_estimators=20, random_state=0).fit(X, y)
    pred = est.predict(X)
    assert np.all(pred[dead] < 30) and np.all(pred[~dead] > 60)
    with pytest.raises(ValueError, match="infinity"):
        est.predict(X.fillna(np.inf))
