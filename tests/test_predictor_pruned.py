"""Pruned cells, worst-value imputation and the recipe built on them (FLAN's protocol on all NB201 nets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from graf.predictor import build_dataset, evaluate_predictor, make_predictor
from graf.predictor.cells import cell_from_onehot, prune_cells
from graf.predictor.impute import WorstValueImputer
from graf.predictor.models import HANDLES_MISSING, PREDICTORS
from graf.spaces.nb201 import EDGES, OPS, SPACE, NB201Arch

from conftest import SAME_ROW_REL

NONE = OPS.index("none")


@parametrize_with_checks([WorstValueImputer()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_prune_cells_agrees_with_the_space_on_every_nb201_cell():
    archs = SPACE.enumerate()
    op_index = np.array([a.op_indices for a in archs])
    pruned = prune_cells(list(EDGES), op_index, NONE)
    expected = np.array([a.pruned().op_indices for a in archs])
    np.testing.assert_array_equal(pruned, expected)
    assert len({tuple(r) for r in pruned}) == 9445  # the valid nets, each its own pruned form


def test_prune_cells_by_hand():
    conv, skip = OPS.index("nor_conv_3x3"), OPS.index("skip_connect")
    # edges (0,1) (0,2) (1,2) (0,3) (1,3) (2,3): node 1 gets nothing, so 1->2 and 1->3 are dead;
    # node 2 is fed by 0 and feeds 3, so 0->2 and 2->3 stay, and 0->3 stays
    cell = [NONE, conv, skip, conv, conv, skip]
    assert prune_cells(list(EDGES), np.array([cell]), NONE).tolist() == [[NONE, conv, NONE, conv, NONE, skip]]
    # node 2 reaches nothing: its input edges go; the output receives nothing: everything goes
    assert prune_cells(list(EDGES), np.array([[conv, conv, conv, NONE, conv, NONE]]), NONE).tolist() == [
        [conv, NONE, NONE, NONE, conv, NONE]
    ]
    assert prune_cells(list(EDGES), np.array([[conv, conv, conv, NONE, NONE, NONE]]), NONE).tolist() == [[NONE] * 6]
    assert prune_cells(list(EDGES), np.array([cell]), None).tolist() == [cell]  # no none op: unchanged


def test_worst_value_imputer_by_hand():
    X = pd.DataFrame(
        {"proxies.naswot": [3.0, np.nan, 1.0], "proxies.ntk": [5.0, 2.0, np.nan], "graf.a": [np.nan, 4.0, 7.0]},
        index=["a", "b", "c"],
    )
    out = WorstValueImputer().fit(X).transform(X)
    # naswot: higher is better -> min 1; ntk: lower is better -> max 5; other columns -> min 4
    expected = pd.DataFrame(
        {"proxies.naswot": [3.0, 1.0, 1.0], "proxies.ntk": [5.0, 2.0, 5.0], "graf.a": [4.0, 4.0, 7.0]}, index=X.index
    )
    pd.testing.assert_frame_equal(out, expected)
    # the fill comes from the training rows only, and a column without any value gets 0
    imp = WorstValueImputer().fit(pd.DataFrame({"proxies.synflow": [np.nan, np.nan], "x": [2.0, 1.0]}))
    np.testing.assert_array_equal(imp.fill_, [0.0, 1.0])


@pytest.fixture(scope="module")
def all_nets(data_dir):
    """Every NB201 net with the features of its pruned equivalent, NaN proxies kept."""
    nets = [str(a) for a in SPACE.enumerate()]
    return build_dataset("cifar10_val_naslib", "graf,proxies,onehot", data_dir=data_dir, nets=nets,
                         pruned=True, keep_missing_proxies=True)


def test_pruned_dataset_gives_each_net_the_features_of_its_pruned_equivalent(all_nets, data_dir):
    ds = all_nets
    assert len(ds.X) == 15625 and ds.pruned and list(ds.X.index) == list(ds.y.index)
    # 341 cells whose input never reaches the output: chance accuracy, no proxy values
    dead = [a for a in ds.X.index if not NB201Arch.from_str(a).input_reaches_output]
    assert len(dead) == ds.missing_proxies == 341
    assert (ds.y.loc[dead] == 10.0).all()
    assert ds.X.loc[dead, "proxies.synflow"].isna().all()
    # a net with a dead branch: its own target, the features of the pruned cell
    net = "|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|"
    pruned = str(NB201Arch.from_str(net).pruned())
    assert pruned != net
    pd.testing.assert_series_equal(ds.X.loc[net], ds.X.loc[pruned], check_names=False)
    own = build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, nets=[net, pruned])
    assert not np.allclose(own.X.loc[net], own.X.loc[pruned])  # unpruned, the two differ
    assert ds.y.loc[net] == own.y.loc[net] != own.y.loc[pruned]
    with pytest.raises(ValueError, match="keep_missing_proxies"):
        build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, keep_missing_proxies=True)


def test_nan_features_only_for_recipes_that_fill_them(all_nets):
    X, y = all_nets.X, all_nets.y
    rows = np.r_[0:40, 15585:15625]  # both ends of the enumeration: dead cells with NaN proxies among them
    assert X.iloc[rows].isna().any().any()
    with pytest.raises(ValueError, match="NaN/inf.*rf\\+et\\+catboost\\+gnn-pruned"):
        evaluate_predictor(X.iloc[rows], y.iloc[rows], train_sizes=[20], seeds=1, model="rf")
    assert HANDLES_MISSING <= set(PREDICTORS)


@pytest.mark.usefixtures("torch_one_thread")
def test_pruned_gnn_predicts_a_dead_branch_cell_as_its_pruned_cell(all_nets):
    pytest.importorskip("torch")
    from graf.predictor.cellgnn import CellGNNRegressor

    every = SPACE.enumerate()
    net = NB201Arch.from_str("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|")
    archs = [every[i] for i in np.random.default_rng(0).choice(len(every), 64, replace=False)] + [net, net.pruned()]
    names, matrix = SPACE.onehot(archs)
    X = pd.DataFrame(matrix, columns=names, index=[str(a) for a in archs])  # each net's own cell
    y = all_nets.y.loc[X.index].to_numpy()
    train, pair = slice(0, 64), X.iloc[64:]
    assert (cell_from_onehot(pair)[2][0] != cell_from_onehot(pair)[2][1]).any()
    pruned = CellGNNRegressor(n_models=1, epochs=20, prune=True, random_state=0).fit(X.iloc[train], y[train])
    first, second = pruned.predict(pair)
    assert first == pytest.approx(second, rel=SAME_ROW_REL)
    plain = CellGNNRegressor(n_models=1, epochs=20, random_state=0).fit(X.iloc[train], y[train])
    a, b = plain.predict(pair)
    assert abs(a - b) > 1e-4 * abs(a)


@pytest.mark.usefixtures("torch_one_thread")
def test_the_recipe_fills_nan_and_its_members_match_rf_et_catboost_gnn_on_complete_valid_nets(all_nets):
    pytest.importorskip("catboost")
    X, y = all_nets.X, all_nets.y.to_numpy()
    common = {"gnn__regressor__epochs": 20, "gnn__regressor__n_models": 1}
    # the new recipe's tree members sit behind the imputer, one pipeline level deeper; its CatBoost
    # is a SizeSwitch (depth 4 below `threshold` training nets, depth 6 from there on)
    old_params = {"catboost__model__regressor__iterations": 50, "forests__model__n_estimators": 20}
    switch = "catboost__pipeline__model__"
    new_params = {f"{switch}small__regressor__iterations": 50, f"{switch}large__regressor__iterations": 50,
                  "forests__pipeline__model__n_estimators": 20}

    def fitted(name, rows, **extra):
        model = make_predictor(name, 0)
        model.set_params(**common, **(new_params if name.endswith("-pruned") else old_params), **extra)
        return model.fit(X.iloc[rows], y[rows])

    valid = np.flatnonzero([NB201Arch.from_str(a).is_valid for a in X.index] & X.notna().all(axis=1).to_numpy())
    train, test = valid[:48], valid[48:400]
    # with the depth-6 CatBoost (threshold 1: 48 nets count as "large"), nothing to fill or prune: the members agree
    new = fitted("rf+et+catboost+gnn-pruned", train, **{f"{switch}threshold": 1})
    old = fitted("rf+et+catboost+gnn", train)
    for name in ("forests", "catboost", "gnn"):
        np.testing.assert_allclose(new.named_estimators_[name].predict(X.iloc[test]),
                                   old.named_estimators_[name].predict(X.iloc[test]))
    # with the recipe's own threshold (512), 48 nets get the depth-4 CatBoost, which predicts otherwise
    shallow = fitted("rf+et+catboost+gnn-pruned", train)
    chosen = shallow.named_estimators_["catboost"][-1][-1]
    assert chosen.chosen_ == "small" and chosen.estimator_.regressor_.get_params()["depth"] == 4
    assert new.named_estimators_["catboost"][-1][-1].estimator_.regressor_.get_params()["depth"] == 6
    assert not np.allclose(shallow.named_estimators_["catboost"].predict(X.iloc[test]),
                           old.named_estimators_["catboost"].predict(X.iloc[test]))
    # only the forests' weight differs: sqrt(48 / 512) of 1 against 1 (the GNN's sqrt(48 / 1024) of 0.5 in both)
    np.testing.assert_allclose(new.weights_, [np.sqrt(48 / 512), 2, 0.5 * np.sqrt(48 / 1024)])
    np.testing.assert_allclose(old.weights_, [1, 2, 0.5 * np.sqrt(48 / 1024)])
    # with the dead cells (NaN proxies) in training and test, every prediction is finite
    rows = np.r_[0:60, 15565:15625]
    assert np.isfinite(fitted("rf+et+catboost+gnn-pruned", rows[::2]).predict(X.iloc[rows[1::2]])).all()


def _cells(*ops_lists):
    archs = [NB201Arch(tuple(ops)) for ops in ops_lists]
    names, matrix = SPACE.onehot(archs)
    return pd.DataFrame(matrix, columns=names, index=[str(a) for a in archs])


def test_isomorphic_nets_get_the_mean_target_of_their_training_class():
    from sklearn.dummy import DummyRegressor

    from graf.predictor.equivalent import EquivalentNetsMean

    n, c, s = "none", "nor_conv_3x3", "skip_connect"
    # edges (0,1) (0,2) (1,2) (0,3) (1,3) (2,3): x -> conv -> output through node 1, or through node 2
    via1, via2 = [c, n, n, n, s, n], [n, c, n, n, n, s]
    other, train_other = [n, n, n, "avg_pool_3x3", n, n], [n, n, n, s, n, n]
    assert NB201Arch(tuple(via1)).iso_key == NB201Arch(tuple(via2)).iso_key != NB201Arch(tuple(other)).iso_key
    X_train, y_train = _cells(via1, train_other, via1), np.array([80.0, 50.0, 70.0])
    X_test = _cells(via2, other)
    model = EquivalentNetsMean(DummyRegressor(), weight=1.0).fit(X_train, y_train)
    # via2 is isomorphic to the two via1 training nets: their mean 75; `other` has no class in training
    np.testing.assert_allclose(model.predict(X_test), [75.0, y_train.mean()])
    half = EquivalentNetsMean(DummyRegressor(), weight=0.5).fit(X_train, y_train)
    np.testing.assert_allclose(half.predict(X_test), [(75.0 + y_train.mean()) / 2, y_train.mean()])
    with pytest.raises(ValueError, match=r"weight must lie in \[0, 1\]"):
        EquivalentNetsMean(DummyRegressor(), weight=1.5).fit(X_train, y_train)
    with pytest.raises(ValueError, match="onehot"):
        EquivalentNetsMean(DummyRegressor()).fit(X_train.drop(columns=X_train.columns[:3]), y_train)
    assert "rf+et+catboost+gnn-iso" in HANDLES_MISSING


def test_cli_pruned_features_and_kept_missing_proxies(tmp_path, data_dir, capsys):
    import json

    from graf.cli import main

    archs = tmp_path / "archs.txt"
    archs.write_text("".join(f"{a}\n" for a in SPACE.enumerate()[:1500]))  # dead branches and disconnected cells
    common = ["evaluate", "--data-dir", str(data_dir), "--inputs", "graf,proxies", "--archs", str(archs),
              "--train-sizes", "32", "--seeds", "1", "--target", "cifar10_val_naslib", "--json", "--quiet"]
    assert main([*common, "--keep-missing-proxies"]) == 2  # rf does not fill NaN: one clear line
    err = capsys.readouterr().err
    assert "NaN is accepted by the recipes" in err and len(err.strip().splitlines()) == 1
    assert main([*common, "--drop-missing-proxies"]) == 0
    plain = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*common, "--drop-missing-proxies", "--pruned-features"]) == 0
    pruned = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert plain["nets"] == pruned["nets"] and plain != pruned  # same nets, other features
