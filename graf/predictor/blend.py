"""A weighted mean of regressors in which a data-hungry member earns its weight with more data.

:class:`SizeScaledBlend` fits every member on the same data and averages their predictions
with fixed weights, except that the weight of a member named in ``grow`` is multiplied by
``sqrt(min(n, full_size) / full_size)``, ``n`` being the number of training rows. The cell GNN
(:mod:`graf.predictor.cellgnn`) learns the cell from scratch: on 32 nets it ranks far below the
trees (τ .56 against .72 on CIFAR-10) and would drag their mean down, on 1024 nets it adds what
the trees miss (docs/BENCHMARKS.md).

:func:`without_cell_columns` wraps a regressor so that it does not see the ``onehot`` columns
the GNN reads (with them the trees rank slightly worse on small training sets).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["SizeScaledBlend", "without_cell_columns"]


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
