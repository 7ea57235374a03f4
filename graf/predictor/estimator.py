"""A scikit-learn regressor over feature tables: tree ensembles with an optional rank target.

:class:`GrafRegressor` is a real estimator (``__init__`` only stores keyword parameters,
``fit`` returns ``self``, learned attributes end in ``_``), so ``clone``, pipelines and grid
search work. With its defaults it *is* ``RandomForestRegressor(random_state=...)`` with
scikit-learn's defaults, the GRAF paper's predictor (DESIGN §5).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, rankdata
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor, VotingRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["GrafRegressor", "MODELS", "TARGET_TRANSFORMS", "kendall_tau_score"]

#: ``model`` name -> the scikit-learn tree ensemble classes whose predictions are averaged.
MODELS = {
    "rf": (RandomForestRegressor,),
    "extra_trees": (ExtraTreesRegressor,),
    "rf+extra_trees": (RandomForestRegressor, ExtraTreesRegressor),
}
#: accepted ``target_transform`` values.
TARGET_TRANSFORMS = (None, "rank")


def kendall_tau_score(estimator, X, y) -> float:
    """Scorer (``scoring=`` callable) giving Kendall tau between predictions and ``y``.

    A constant prediction or target has no defined tau; it scores 0.0 so a grid search
    treats it as an uninformative model instead of failing on NaN.
    """
    tau = kendalltau(estimator.predict(X), y).statistic
    return 0.0 if np.isnan(tau) else float(tau)


class GrafRegressor(RegressorMixin, BaseEstimator):
    """Tree-ensemble regressor for architecture accuracy (or any target) from a feature table.

    Parameters (keyword-only)
    -------------------------
    model : {"rf", "extra_trees", "rf+extra_trees"}
        ``RandomForestRegressor`` (default, the paper's), ``ExtraTreesRegressor``, or both
        with the same parameters, their predictions averaged (a scikit-learn
        ``VotingRegressor``; ``estimator_.estimators_`` holds the two fitted forests).
    n_estimators, max_features, min_samples_leaf, max_depth, bootstrap :
        Passed to the ensemble (to each of the two for "rf+extra_trees"); the defaults are
        scikit-learn's random-forest defaults (``bootstrap=None`` means each ensemble's own
        default: True for "rf", False for "extra_trees").
    target_transform : {None, "rank"}
        ``"rank"`` fits on the empirical CDF of the training targets (ranks scaled to
        (0, 1)) and maps predictions back monotonically by interpolating the sorted
        training targets, so ranking metrics see a rank-regression model.
    random_state : int or None
        Seed of the ensemble; the same seed and data give the same predictions.
    n_jobs : int or None
        Threads of the ensemble (``None`` = 1).

    Missing values (NaN, e.g. a proxy that could not be computed for a net whose input never
    reaches its output) are accepted: scikit-learn's forests route them down the learned
    side of each split. Infinite values are rejected.

    Attributes
    ----------
    estimator_ : the fitted scikit-learn ensemble (use it for SHAP's TreeExplainer).
    n_features_in_, feature_names_in_ : as in scikit-learn (names kept from a DataFrame).
    """

    def __init__(
        self,
        *,
        model: str = "rf",
        n_estimators: int = 100,
        max_features: float | int | str | None = 1.0,
        min_samples_leaf: int | float = 1,
        max_depth: int | None = None,
        bootstrap: bool | None = None,
        target_transform: str | None = None,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ):
        self.model = model
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.bootstrap = bootstrap
        self.target_transform = target_transform
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_ensemble(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; available: {', '.join(MODELS)}")
        if self.target_transform not in TARGET_TRANSFORMS:
            raise ValueError(f"unknown target_transform {self.target_transform!r}; available: None, 'rank'")
        params = dict(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            max_depth=self.max_depth,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        if self.bootstrap is not None:
            params["bootstrap"] = self.bootstrap
        classes = MODELS[self.model]
        if len(classes) == 1:
            return classes[0](**params)
        return VotingRegressor([(cls.__name__, cls(**params)) for cls in classes])

    def fit(self, X, y):
        """Fit on ``X`` (array or DataFrame, feature names kept) and target ``y``; returns self."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, ensure_all_finite="allow-nan")
        if y.ndim != 1:
            raise ValueError(f"GrafRegressor predicts one target; y has shape {y.shape}")
        ensemble = self._make_ensemble()
        if self.target_transform == "rank":
            self.y_sorted_ = np.sort(y)
            self.cdf_sorted_ = (rankdata(self.y_sorted_) - 0.5) / len(y)
            y_fit = (rankdata(y) - 0.5) / len(y)
        else:
            y_fit = y
        self.estimator_ = ensemble.fit(X, y_fit)
        return self

    def predict(self, X):
        """Predicted target for each row of ``X``."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        pred = self.estimator_.predict(X)
        if self.target_transform == "rank":
            pred = np.interp(pred, self.cdf_sorted_, self.y_sorted_)
        return pred

    def predict_spread(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the individual trees' predictions for each row of ``X``.

        The mean equals :meth:`predict` (every tree weighs the same, also across the two
        forests of "rf+extra_trees"); the standard deviation is the ensemble's disagreement,
        an uncertainty estimate (e.g. for an upper-confidence-bound acquisition in search).
        With ``target_transform="rank"`` each tree's prediction is mapped back to the target
        scale first, so the mean can differ slightly from :meth:`predict`, which maps back
        the ensemble's mean.
        """
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        per_tree = np.stack([tree.predict(X) for forest in self._forests() for tree in forest.estimators_])
        if self.target_transform == "rank":
            per_tree = np.interp(per_tree, self.cdf_sorted_, self.y_sorted_)
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity importances of the fitted ensemble (one per input column; the mean over averaged forests)."""
        check_is_fitted(self, "estimator_")
        return np.mean([f.feature_importances_ for f in self._forests()], axis=0)

    def _forests(self) -> list:
        """The fitted forests whose predictions are averaged (one, or two for "rf+extra_trees")."""
        return list(self.estimator_.estimators_) if isinstance(self.estimator_, VotingRegressor) else [self.estimator_]
