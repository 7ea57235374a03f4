"""Missing proxy values filled with the worst value seen in training: a transformer for recipes.

A proxy the project could not compute is NaN in its table; for NB201 these are the cells whose
input never reaches the output (their CIFAR-10 accuracy is chance level). Such a net is, for
the proxy, as bad as a net gets, so :class:`WorstValueImputer` fills each NaN with the column's
worst training value: the minimum, or the maximum for the proxies where lower predicts better
(:data:`graf.data.proxytable.LOWER_IS_BETTER`, read from a column named ``proxies.<proxy>``).
Columns other than ``proxies.*`` are filled with their training minimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["WorstValueImputer", "lower_is_better_columns"]


def lower_is_better_columns(columns) -> np.ndarray:
    """Boolean mask: which of ``columns`` are ``proxies.<p>`` with ``p`` a lower-is-better proxy."""
    from graf.data.proxytable import LOWER_IS_BETTER

    return np.array([str(c).startswith("proxies.") and str(c)[len("proxies."):] in LOWER_IS_BETTER for c in columns])


class WorstValueImputer(TransformerMixin, BaseEstimator):
    """Fill NaN with each column's worst training value (see the module docstring).

    A column with no value in training is filled with 0. Infinite values are rejected. A
    DataFrame comes back as a DataFrame with the same columns and index.

    Attributes
    ----------
    fill_ : ndarray, the value used per column.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        columns = getattr(self, "feature_names_in_", np.arange(values.shape[1]))
        empty = np.isnan(values).all(axis=0)
        low = np.where(empty, 0.0, np.where(np.isnan(values), np.inf, values).min(axis=0, initial=np.inf))
        high = np.where(empty, 0.0, np.where(np.isnan(values), -np.inf, values).max(axis=0, initial=-np.inf))
        self.fill_ = np.where(lower_is_better_columns(columns), high, low)
        return self

    def transform(self, X):
        check_is_fitted(self, "fill_")
        values = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        out = np.where(np.isnan(values), self.fill_, values)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(out, index=X.index, columns=X.columns)
        return out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "fill_")
        names = getattr(self, "feature_names_in_", None)
        return np.asarray(names if names is not None else [f"x{i}" for i in range(self.n_features_in_)], dtype=object)
