"""Predictions for nets isomorphic to training nets, pulled to the training nets' mean target.

Cells that compute the same function up to node relabelling (the space's ``iso_key``: NB201's
15625 cells fall into 5260 classes, one of them the 341 cells whose output receives nothing)
have the same expected accuracy, but their hand-made features differ, so a model trained on one member does
not carry its label over to the others. :class:`EquivalentNetsMean` wraps a regressor: a net
whose class has training nets gets ``(1 - weight) * prediction + weight * their mean target``,
every other net the wrapped regressor's prediction.

The cell is read from the ``onehot`` feature group (:func:`graf.predictor.cells.cell_from_onehot`),
so the wrapper needs those columns; they are passed on to the wrapped regressor unchanged.
Edge-cell spaces only (NB201 and TransNAS-Bench-101 micro: 4 nodes, 6 edges).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from graf.predictor.cells import cell_from_onehot

__all__ = ["EquivalentNetsMean", "iso_keys"]


def iso_keys(X: pd.DataFrame, space="nb201") -> np.ndarray:
    """The ``iso_key`` of the cell in each row of ``X`` (from its ``onehot`` columns) in ``space``."""
    from graf.spaces import get_space
    from graf.spaces.cell import EDGES

    space = get_space(space)
    arch_type = getattr(space, "arch_type", None)
    edges, ops, op_index = cell_from_onehot(X, reader="EquivalentNetsMean")
    if arch_type is None or edges != list(EDGES):
        raise ValueError(f"EquivalentNetsMean needs an edge-cell space with edges {list(EDGES)}; got {space.name!r}")
    return np.array([space.iso_key(arch_type(tuple(ops[i] for i in row))) for row in op_index], dtype=object)


class EquivalentNetsMean(RegressorMixin, BaseEstimator):
    """``estimator``'s predictions, pulled to the mean training target of isomorphic training nets.

    Parameters
    ----------
    estimator : regressor
        Cloned and fitted on all of ``fit``'s data (it sees the same columns).
    weight : float in [0, 1]
        Share of the class mean in the prediction of a net whose class has training nets
        (1: the class mean itself, 0: the wrapped prediction).
    space : str
        The space whose ``iso_key`` defines the classes (an edge-cell space).

    Attributes
    ----------
    estimator_ : the fitted wrapped regressor.
    class_means_ : dict iso_key -> mean training target.
    """

    def __init__(self, estimator, weight: float = 1.0, space: str = "nb201"):
        self.estimator = estimator
        self.weight = weight
        self.space = space

    def fit(self, X, y):
        if not (np.isfinite(self.weight) and 0 <= self.weight <= 1):
            raise ValueError(f"EquivalentNetsMean: weight must lie in [0, 1], got {self.weight!r}")
        keys = iso_keys(X, self.space)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(keys):
            raise ValueError(f"X has {len(keys)} rows but y has {len(y)}")
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.class_means_ = pd.Series(y).groupby(keys).mean().to_dict()
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        pred = np.asarray(self.estimator_.predict(X), dtype=np.float64).ravel()
        mean = np.array([self.class_means_.get(k, np.nan) for k in iso_keys(X, self.space)], dtype=np.float64)
        known = ~np.isnan(mean)
        pred[known] = (1 - self.weight) * pred[known] + self.weight * mean[known]
        return pred
