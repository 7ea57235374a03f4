"""A weighted mean of regressors in which a data-hungry member earns its weight with more data.

:class:`SizeScaledBlend` fits every member on the same data and averages their predictions
with fixed weights, except that the weight of a member named in ``grow`` is multiplied by
``sqrt(min(n, full_size) / full_size)``, ``n`` being the number of training rows. The cell GNN
(:mod:`graf.predictor.cellgnn`) learns the cell from scratch: on 32 nets it ranks far below the
trees (τ .56 against .72 on CIFAR-10) and would drag their mean down, on 1024 nets it adds what
the trees miss (docs/BENCHMARKS.md).

:func:`without_cell_columns` wraps a regressor so that it does not see the ``onehot`` columns
the GNN reads (with them the trees rank slightly worse on small training sets).

:class:`SizeSwitch` fits one of two regressors by the training-set size: e.g. a shallower
CatBoost below 512 nets, where depth 4 ranks better than depth 6 (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

__all__ = ["SizeScaledBlend", "SizeSwitch", "without_cell_columns"]


def without_cell_columns(regressor) -> Pipeline:
    """``regressor`` behind a step that drops the ``onehot.*`` columns (DataFrames in and out)."""
    drop = ColumnTransformer(
        [("cell", "drop", make_column_selector(pattern=r"^onehot\."))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return Pipeline([("drop_cell", drop), ("model", regressor)])


class SizeScaledBlend(RegressorMixin, BaseEstimator):
    """Weighted mean of named regressors; weights in ``grow`` scale with the training-set size.

    Parameters
    ----------
    estimators : list of (name, regressor)
        Unfitted scikit-learn regressors; each is cloned and fitted on all of ``fit``'s data.
    weights : list of float
        One non-negative weight per member, at least one positive.
    grow : dict name -> int
        Members whose weight is multiplied by ``sqrt(min(n, full_size) / full_size)``.
    """

    def __init__(self, estimators, weights, grow=None):
        self.estimators = estimators
        self.weights = weights
        self.grow = grow

    def get_params(self, deep: bool = True) -> dict:
        params = super().get_params(deep=False)
        if deep:
            for name, est in self.estimators:
                params[name] = est
                params.update({f"{name}__{key}": value for key, value in est.get_params(deep=True).items()})
        return params

    def _check(self) -> dict:
        names = [name for name, _ in self.estimators]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"SizeScaledBlend: member names must be unique and non-empty, got {names}")
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != (len(names),) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() == 0:
            raise ValueError(
                f"SizeScaledBlend: need one finite weight >= 0 per member ({len(names)}), not all 0; got {self.weights!r}"
            )
        grow = dict(self.grow or {})
        unknown = sorted(set(grow) - set(names))
        if unknown:
            raise ValueError(f"SizeScaledBlend: grow names unknown member(s) {unknown}; members: {names}")
        for name, full in grow.items():
            if not isinstance(full, (int, np.integer)) or full < 1:
                raise ValueError(f"SizeScaledBlend: grow[{name!r}] must be a positive integer, got {full!r}")
        return grow

    def weights_for(self, n_train: int) -> np.ndarray:
        """The weights used after fitting on ``n_train`` rows."""
        grow = self._check()
        return np.array(
            [
                w * (math.sqrt(min(n_train, grow[name]) / grow[name]) if name in grow else 1.0)
                for (name, _), w in zip(self.estimators, self.weights)
            ]
        )

    def fit(self, X, y):
        self.weights_ = self.weights_for(len(y))
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self.named_estimators_ = dict(zip([name for name, _ in self.estimators], self.estimators_))
        return self

    def predict(self, X):
        check_is_fitted(self, "estimators_")
        predictions = np.column_stack([np.asarray(est.predict(X), dtype=np.float64).ravel() for est in self.estimators_])
        return predictions @ self.weights_ / self.weights_.sum()


class SizeSwitch(RegressorMixin, BaseEstimator):
    """``small`` fitted on fewer than ``threshold`` training rows, ``large`` on more.

    Parameters
    ----------
    small, large : regressor
        Unfitted scikit-learn regressors; the chosen one is cloned and fitted on ``fit``'s data.
    threshold : int
        The smallest number of training rows that gets ``large``.
    """

    def __init__(self, small, large, threshold: int = 512):
        self.small = small
        self.large = large
        self.threshold = threshold

    def fit(self, X, y):
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)) or self.threshold < 1:
            raise ValueError(f"SizeSwitch: threshold must be a positive integer, got {self.threshold!r}")
        # checks only: the member gets X as given (a DataFrame keeps its columns)
        checked, _ = check_X_y(X, y, dtype=None, ensure_all_finite=not self._allow_nan(), y_numeric=True)
        self.chosen_ = "small" if checked.shape[0] < self.threshold else "large"
        self.estimator_ = clone(self.small if self.chosen_ == "small" else self.large).fit(X, y)
        self.n_features_in_ = checked.shape[1]
        return self

    def _allow_nan(self) -> bool:
        return all(get_tags(est).input_tags.allow_nan for est in (self.small, self.large))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        return tags

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        n_features = check_array(X, dtype=None, ensure_all_finite=not self._allow_nan()).shape[1]
        if n_features != self.n_features_in_:  # the member would see other columns than it was fitted on
            raise ValueError(f"X has {n_features} features, but SizeSwitch is expecting {self.n_features_in_} "
                             "features as input")
        return self.estimator_.predict(X)
