"""A lookup-table latency model (ProxylessNAS-style): a net's cost is a sum of per-op costs.

``latency ≈ bias + Σ over the cell's edges e of table[e, op(e)]``, the assumption of
ProxylessNAS (Cai et al., ICLR'19), whose latency predictor sums a lookup table of measured
per-layer latencies. Here the table is *fitted*: ordinary least squares (``alpha=0``,
scikit-learn ``LinearRegression``) or ridge (``alpha>0``, ``Ridge``) on the one-hot encoding
of the cell, on the training nets only. The same cell is repeated in every stage of the
network, so one entry per (edge position, op) covers all its copies; ``bias`` is everything
outside the cells (stem, reductions, head) plus the cost of the reference op on every edge.

The cell comes from the ``onehot`` feature group (``onehot.<s>-<t>.<op>`` columns, see
:mod:`graf.predictor.cells`); other columns are ignored. The table is identified by giving the
reference op (``none`` when the space has it, else the first op) a cost of 0 on every edge; an
(edge, op) pair absent from the training nets gets 0 as well (least squares' minimum-norm
solution), i.e. it is priced like the reference op.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.validation import check_is_fitted

from graf.predictor.cells import cell_from_onehot

__all__ = ["LookupTableLatency"]

_READER = "the lookup-table latency model (lut)"


class LookupTableLatency(RegressorMixin, BaseEstimator):
    """Least-squares per-(edge, op) cost table plus a bias, as a scikit-learn regressor.

    Parameters (keyword-only)
    -------------------------
    alpha : float, default 0.0
        0 fits by ordinary least squares; > 0 is the ridge penalty (towards the reference op).
    reference_op : str, default "none"
        The op whose cost is fixed to 0 on every edge (the first op if the space lacks it).

    Attributes
    ----------
    bias_ : float
    table_ : pandas.DataFrame, index the edges ``"s-t"``, columns the ops: the fitted costs.
    edges_, ops_ : the edges ``(s, t)`` and op names read from the onehot columns.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    """

    def __init__(self, *, alpha: float = 0.0, reference_op: str = "none"):
        self.alpha = alpha
        self.reference_op = reference_op

    def fit(self, X, y):
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"LookupTableLatency: alpha must be a finite number >= 0, got {self.alpha!r}")
        edges, ops, op_index = cell_from_onehot(X, reader=_READER)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(op_index):
            raise ValueError(f"X has {len(op_index)} rows but y has {len(y)}")
        if len(y) < 2:
            raise ValueError("LookupTableLatency needs at least 2 training nets")
        if not np.isfinite(y).all():
            raise ValueError("LookupTableLatency: the target has NaN/inf values")
        ref = ops.index(self.reference_op) if self.reference_op in ops else 0
        free = [o for o in range(len(ops)) if o != ref]
        design = _design(op_index, len(ops))[:, :, free].reshape(len(y), -1)
        model = LinearRegression() if self.alpha == 0 else Ridge(alpha=float(self.alpha))
        model.fit(design, y)
        table = np.zeros((len(edges), len(ops)))
        table[:, free] = np.asarray(model.coef_).reshape(len(edges), len(free))
        self.edges_, self.ops_ = edges, ops
        self.bias_ = float(model.intercept_)
        self.table_ = pd.DataFrame(table, index=[f"{s}-{t}" for s, t in edges], columns=ops)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X):
        check_is_fitted(self, "table_")
        edges, ops, op_index = cell_from_onehot(X, reader=_READER)
        if edges != self.edges_ or ops != self.ops_:
            raise ValueError("X's onehot columns describe other edges or ops than the ones the model was fitted on")
        costs = self.table_.to_numpy()[np.arange(len(edges))[None, :], op_index]
        return self.bias_ + costs.sum(axis=1)


def _design(op_index: np.ndarray, n_ops: int) -> np.ndarray:
    """``(n, edges, ops)`` 0/1 array with a 1 at each edge's op."""
    out = np.zeros((*op_index.shape, n_ops))
    np.put_along_axis(out, op_index[:, :, None], 1.0, axis=2)
    return out
