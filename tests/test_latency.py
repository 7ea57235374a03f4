"""The lookup-table latency model (graf.predictor.latency, recipe ``lut``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from graf.predictor.latency import LookupTableLatency
from graf.predictor.models import DETERMINISTIC, make_predictor
from graf.spaces import get_space

SPACE = get_space("nb201")


def _onehot(archs, extra: bool = True) -> pd.DataFrame:
    names, matrix = SPACE.onehot(archs)
    X = pd.DataFrame(matrix, columns=names, index=[str(a) for a in archs])
    if extra:  # other groups' columns are ignored
        X["op_count.none"] = X.filter(like=".none").sum(axis=1)
    return X


def _additive(archs, seed=0):
    """A latency that *is* a bias plus a per-(edge, op) table, none costing 0."""
    rng = np.random.default_rng(seed)
    ops = list(SPACE.ops)
    table = rng.uniform(0.1, 2.0, size=(6, len(ops)))
    table[:, ops.index("none")] = 0.0
    idx = SPACE.op_index_matrix(archs)
    return 3.0 + table[np.arange(6), idx].sum(axis=1), table


def test_recovers_an_additive_latency_exactly():
    archs = SPACE.sample(80, 0)
    y, table = _additive(archs)
    model = LookupTableLatency().fit(_onehot(archs), y)
    assert model.bias_ == pytest.approx(3.0)
    np.testing.assert_allclose(model.table_.to_numpy(), table, atol=1e-9)
    assert list(model.table_.columns) == list(SPACE.ops)
    assert list(model.table_.index) == ["0-1", "0-2", "1-2", "0-3", "1-3", "2-3"]
    test = SPACE.sample(200, 1)
    np.testing.assert_allclose(model.predict(_onehot(test)), _additive(test)[0], rtol=1e-9)


def test_is_least_squares_on_the_one_hot_encoding():
    archs = SPACE.sample(60, 2)
    rng = np.random.default_rng(0)
    y = _additive(archs)[0] + rng.normal(scale=0.3, size=len(archs))
    X = _onehot(archs, extra=False)
    ours = LookupTableLatency().fit(X, y).predict(_onehot(SPACE.sample(100, 3), extra=False))
    ref = LinearRegression().fit(X.to_numpy(), y).predict(_onehot(SPACE.sample(100, 3), extra=False).to_numpy())
    np.testing.assert_allclose(ours, ref, rtol=1e-8)  # the gauge does not change the predictions
    ridge = LookupTableLatency(alpha=1.0).fit(X, y)
    assert not np.allclose(ridge.table_.to_numpy(), LookupTableLatency().fit(X, y).table_.to_numpy())


def test_is_a_scikit_learn_estimator():
    model = LookupTableLatency(alpha=0.5)
    assert clone(model).get_params() == {"alpha": 0.5, "reference_op": "none"}
    with pytest.raises(TypeError):
        LookupTableLatency(0.5)  # noqa
    archs = SPACE.sample(40, 4)
    X, y = _onehot(archs), _additive(archs)[0]
    fitted = model.fit(X, y)
    assert fitted is model and model.n_features_in_ == X.shape[1]
    assert list(model.feature_names_in_) == list(X.columns)
    assert isinstance(make_predictor("lut", 3), LookupTableLatency) and "lut" in DETERMINISTIC


def test_clear_errors():
    archs = SPACE.sample(20, 5)
    X, y = _onehot(archs), _additive(archs)[0]
    with pytest.raises(ValueError, match=r"the lookup-table latency model \(lut\) needs the onehot feature group"):
        LookupTableLatency().fit(X[["op_count.none"]], y)
    with pytest.raises(ValueError, match="pass a pandas DataFrame"):
        LookupTableLatency().fit(X.to_numpy(), y)
    bad = X.copy()
    bad.iloc[0, 0] = 1.0 - bad.iloc[0, 0]
    with pytest.raises(ValueError, match="must have exactly one op set to 1"):
        LookupTableLatency().fit(bad, y)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        LookupTableLatency(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="NaN/inf"):
        LookupTableLatency().fit(X, np.r_[np.nan, y[1:]])
    model = LookupTableLatency().fit(X, y)
    with pytest.raises(ValueError, match="other edges or ops"):
        model.predict(X.drop(columns=[c for c in X.columns if c.startswith("onehot.2-3")]))


def test_ranks_real_latencies(data_dir):
    from graf.predictor import build_dataset, evaluate_predictor

    ds = build_dataset("hw:cifar10:fpga_latency", "onehot", data_dir=data_dir)
    res = evaluate_predictor(ds.X, ds.y, train_sizes=[128], seeds=2, model="lut")
    assert res.runs["tau"].min() > 0.95  # FPGA latency is close to additive in the ops
