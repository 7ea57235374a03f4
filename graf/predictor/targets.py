"""Target transforms for regressors (scikit-learn transformers for ``TransformedTargetRegressor``).

:class:`LogErrorTransformer` maps an accuracy in percent to ``log(ceiling - accuracy)``, the
log of the error rate (plus a small offset). Boosted trees fitted on that scale spread the
good nets apart and shrink the long tail of poor nets, which ranks the test set better than
fitting the raw accuracy (docs/BENCHMARKS.md, "Predictor").
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["LogErrorTransformer"]


class LogErrorTransformer(TransformerMixin, BaseEstimator):
    """``z = log(ceiling - y)`` and back, ``y = ceiling - exp(z)``; strictly decreasing, so it keeps ranks (reversed).

    Parameters
    ----------
    ceiling : float
        Must exceed every target it is fitted on or transforms. The default 100.5 is meant
        for accuracies in percent (error rate + 0.5 points); other targets (latency, energy)
        need a ceiling of their own or another recipe.
    """

    def __init__(self, ceiling: float = 100.5):
        self.ceiling = ceiling

    def _check(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError("LogErrorTransformer: the target has NaN/inf values")
        if (y >= self.ceiling).any():
            raise ValueError(
                f"LogErrorTransformer: target values must be below the ceiling {self.ceiling} "
                f"(largest is {y.max():.6g}); it is meant for accuracies in percent"
            )
        return y

    def fit(self, y, _=None):
        if not np.isfinite(self.ceiling):
            raise ValueError(f"LogErrorTransformer: ceiling must be finite, got {self.ceiling!r}")
        self._check(y)
        self.ceiling_ = float(self.ceiling)
        return self

    def transform(self, y):
        check_is_fitted(self, "ceiling_")
        return np.log(self.ceiling_ - self._check(y))

    def inverse_transform(self, z):
        check_is_fitted(self, "ceiling_")
        return self.ceiling_ - np.exp(np.asarray(z, dtype=np.float64))
