"""The cell GNN (graf.predictor.cellgnn) and the recipes that use it; needs PyTorch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from graf.predictor import build_dataset, make_predictor
from graf.predictor.cellgnn import CellGNNRegressor, cell_from_onehot
from graf.spaces.nb201 import EDGES, OPS, SPACE, NB201Arch

from conftest import SAME_ROW_REL

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _onehot_frame(archs):
    names, matrix = SPACE.onehot(archs)
    return pd.DataFrame(matrix, columns=names, index=[a.to_str() for a in archs])


@pytest.fixture(scope="module")
def nets(data_dir):
    """The 9445 valid nets: graf + onehot columns and CIFAR-10 accuracy (the protocol's data)."""
    ds = build_dataset("cifar10_val_naslib", "graf,onehot", data_dir=data_dir)
    return ds.X, ds.y.to_numpy()


def test_cell_from_onehot_reads_the_ops_of_real_nets(nets):
    X, _ = nets
    edges, ops, op_index = cell_from_onehot(X)  # the graf columns are ignored
    assert edges == list(EDGES) and ops == list(OPS)
    for row in (0, 17, 4000, len(X) - 1):
        arch = NB201Arch.from_str(X.index[row])
        assert [ops[i] for i in op_index[row]] == [arch.edge_op(s, t) for s, t in EDGES]


def test_learns_to_rank_real_nets_from_the_cell_alone(nets):
    X, y = nets
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:512], order[512:2512]
    model = CellGNNRegressor(n_models=1, epochs=200, random_state=0).fit(X.iloc[train], y[train])
    pred = model.predict(X.iloc[test])
    assert kendalltau(pred, y[test]).statistic > 0.7  # 0.765-0.78 over seeds 0..2


def test_same_seed_same_predictions_other_seed_other_predictions(nets):
    import torch

    X, y = nets
    state = torch.random.get_rng_state()
    fit = lambda seed: CellGNNRegressor(n_models=2, epochs=30, random_state=seed).fit(X.iloc[:64], y[:64])  # noqa: E731
    first, again, other = (fit(s).predict(X.iloc[64:200]) for s in (3, 3, 4))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global RNG is left alone


def test_a_fitted_model_pickles_and_predicts_the_same(nets):
    import pickle

    X, y = nets
    model = CellGNNRegressor(n_models=2, epochs=20, random_state=1).fit(X.iloc[:64], y[:64])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X.iloc[64:300]), model.predict(X.iloc[64:300]))


def test_a_cell_whose_output_gets_nothing_has_one_prediction(nets):
    # every edge into node 3 (the output) is "none": whatever the other edges carry, the
    # output node's state is zero, so all such cells must get the same prediction
    X, y = nets
    model = CellGNNRegressor(n_models=1, epochs=30, random_state=0).fit(X.iloc[:64], y[:64])
    none, conv = OPS.index("none"), OPS.index("nor_conv_3x3")
    dead = [NB201Arch.from_op_indices([a, b, c, none, none, none]) for a, b, c in [(conv, conv, conv), (1, 2, 4), (0, 0, 0)]]
    live = NB201Arch.from_op_indices([conv, conv, conv, none, none, conv])
    pred = model.predict(_onehot_frame([*dead, live]))
    assert pred[0] == pred[1] == pred[2]
    assert pred[3] != pred[0]


def test_bad_inputs_get_one_clear_error(nets):
    X, y = nets
    small, target = X.iloc[:40], y[:40]
    with pytest.raises(ValueError, match="pass a pandas DataFrame"):
        CellGNNRegressor(epochs=1).fit(small.to_numpy(), target)
    with pytest.raises(ValueError, match="add onehot to --inputs"):
        CellGNNRegressor(epochs=1).fit(small.filter(like="op_count"), target)
    broken = small.copy()
    broken.loc[broken.index[5], [f"onehot.1-2.{op}" for op in OPS]] = 1.0  # every op at once on one edge
    with pytest.raises(ValueError, match=r"edge 1-2 must have exactly one op set to 1"):
        CellGNNRegressor(epochs=1).fit(broken, target)
    with pytest.raises(ValueError, match="lack op"):
        CellGNNRegressor(epochs=1).fit(small.drop(columns="onehot.2-3.avg_pool_3x3"), target)
    with pytest.raises(ValueError, match="NaN/inf"):
        CellGNNRegressor(epochs=1).fit(small, np.where(np.arange(40) == 3, np.nan, target))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        CellGNNRegressor(epochs=0).fit(small, target)
    fitted = CellGNNRegressor(n_models=1, epochs=1).fit(small, target)
    renamed = small.rename(columns=lambda c: c.replace("avg_pool_3x3", "pool"))
    with pytest.raises(ValueError, match="other edges or ops"):
        fitted.predict(renamed)


def test_the_three_member_blend_is_the_size_weighted_mean_of_its_members(nets):
    pytest.importorskip("catboost")  # optional extra "boost"
    X, y = nets
    train, test = X.iloc[:128], X.iloc[128:200]
    blend = make_predictor("rf+et+catboost+gnn", 5).fit(train, y[:128])
    # the trees do not see the onehot columns; the GNN reads only those
    trees = X.drop(columns=[c for c in X.columns if c.startswith("onehot.")])
    forests = make_predictor("rf+et-mf0.33", 5).fit(trees.iloc[:128], y[:128]).predict(trees.iloc[128:200])
    boosted = make_predictor("catboost-logerr", 5).fit(trees.iloc[:128], y[:128]).predict(trees.iloc[128:200])
    gnn = make_predictor("cellgnn-logerr", 5).fit(train, y[:128]).predict(test)
    w = 0.5 * np.sqrt(128 / 1024)  # the GNN's weight grows with the training set, full at 1024
    np.testing.assert_allclose(blend.weights_, [1, 2, w])
    np.testing.assert_allclose(blend.predict(test), (forests + 2 * boosted + w * gnn) / (3 + w), rtol=1e-10)


@pytest.fixture(scope="module")
def nets_with_proxies(data_dir):
    """The valid nets with complete own proxies: graf + proxies + onehot columns and CIFAR-10 accuracy."""
    ds = build_dataset("cifar10_val_naslib", "proxies,onehot", data_dir=data_dir, drop_missing_proxies=True)
    return ds.X, ds.y.to_numpy()


def test_extra_columns_reach_the_head(nets_with_proxies):
    X, y = nets_with_proxies
    train, test = X.iloc[:64], X.iloc[64:400]
    fit = lambda **kw: CellGNNRegressor(n_models=1, epochs=30, random_state=2, **kw).fit(train, y[:64])  # noqa: E731
    cell_only, with_proxies = fit(), fit(extra_prefix="proxies.")
    assert with_proxies.extra_columns_ == [c for c in X.columns if c.startswith("proxies.")]
    pred = with_proxies.predict(test)
    np.testing.assert_array_equal(pred, fit(extra_prefix="proxies.").predict(test))  # same seed, same predictions
    assert not np.allclose(pred, cell_only.predict(test))
    # two nets with the same cell but other proxy values get other predictions (cell-only: the same)
    twin = test.iloc[[0, 0]].copy()
    twin.iloc[1, twin.columns.get_loc("proxies.naswot")] += 50.0
    same, other = cell_only.predict(twin), with_proxies.predict(twin)
    assert same[0] == pytest.approx(same[1], rel=SAME_ROW_REL)
    assert abs(other[0] - other[1]) > 1e-4 * abs(other[0])


def test_extra_columns_bad_inputs(nets_with_proxies):
    X, y = nets_with_proxies
    small, target = X.iloc[:40], y[:40]
    with pytest.raises(ValueError, match="no column of X starts with extra_prefix 'zcp.'"):
        CellGNNRegressor(epochs=1, extra_prefix="zcp.").fit(small, target)
    holed = small.copy()
    holed.iloc[3, holed.columns.get_loc("proxies.jacov")] = np.nan
    with pytest.raises(ValueError, match=r"proxies\.\* columns have NaN/inf values"):
        CellGNNRegressor(epochs=1, extra_prefix="proxies.").fit(holed, target)
    fitted = CellGNNRegressor(n_models=1, epochs=1, extra_prefix="proxies.").fit(small, target)
    with pytest.raises(ValueError, match="lacks the column"):
        fitted.predict(small.drop(columns="proxies.ntk"))


def test_the_proxy_gnn_recipe_adds_a_fourth_member(nets_with_proxies):
    pytest.importorskip("catboost")  # optional extra "boost"
    from graf.predictor.models import PROXY_GNN_WEIGHT

    X, y = nets_with_proxies
    train, test = X.iloc[:32], X.iloc[32:100]
    model = make_predictor("rf+et+catboost+gnn+pgnn-iso", 4).fit(train, y[:32])
    blend = model.estimator_
    names = [name for name, _ in blend.estimators]
    assert names == ["forests", "catboost", "gnn", "proxy_gnn"]
    np.testing.assert_allclose(blend.weights_, [np.sqrt(32 / 512), 2, 0.5 * np.sqrt(32 / 1024), PROXY_GNN_WEIGHT])
    members = np.column_stack([blend.named_estimators_[n].predict(test) for n in names])
    alone = make_predictor("proxy-gnn-logerr", 4).fit(train, y[:32]).predict(test)
    np.testing.assert_array_equal(members[:, 3], alone)
    np.testing.assert_allclose(blend.predict(test), members @ blend.weights_ / blend.weights_.sum(), rtol=1e-12)
