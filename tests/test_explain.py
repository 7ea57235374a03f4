"""SHAP explanations: families, exactness (additivity), importances, `graf explain` outputs."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pandas as pd
import pytest

from graf.cli import main
from graf.predictor import GrafRegressor, feature_family, shap_importances, shap_values
from pathlib import Path

from graf.features.labels import feature_label
from graf.predictor.explain import EXPLAIN_FILES, explain, plot_title, tree_model

explain_module = importlib.import_module("graf.predictor.explain")

pytest.importorskip("shap")


def test_feature_family():
    assert feature_family("op_count.nor_conv_3x3") == "op_count"
    assert feature_family("node_degree.input_out.none+skip_connect") == "node_degree"
    assert feature_family("zcp.nwot") == "zcp"
    assert feature_family("onehot.0-1.none") == "onehot"
    assert feature_family("plain") == "plain"


def test_importances_by_hand():
    values = np.array([[1.0, -2.0, 0.5], [-3.0, 0.0, 0.5]])
    feats, fams = shap_importances(values, ["a.x", "b.y", "a.z"])
    assert list(feats["feature"]) == ["a.x", "b.y", "a.z"]
    np.testing.assert_allclose(feats["mean_abs_shap"], [2.0, 1.0, 0.5])
    assert list(fams["family"]) == ["a", "b"]
    np.testing.assert_allclose(fams["mean_abs_shap"], [2.5, 1.0])
    assert list(fams["n_features"]) == [2, 1]
    with pytest.raises(ValueError, match="do not match 2 columns"):
        shap_importances(values, ["a", "b"])


def test_shap_is_exact_and_finds_the_informative_feature():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["sig.a", "noise.b", "noise.c"])
    y = 5 * X["sig.a"].to_numpy()
    model = GrafRegressor(n_estimators=20, random_state=0).fit(X, y)
    values, expected = shap_values(model, X, backend="shap")
    # local accuracy: expected value + sum of SHAP values = the model's prediction
    np.testing.assert_allclose(expected + values.sum(axis=1), model.predict(X), atol=1e-8)
    feats, fams = shap_importances(values, list(X.columns))
    assert feats["feature"].iloc[0] == "sig.a" and fams["family"].iloc[0] == "sig"
    # process-parallel chunks give the same values
    par, _ = shap_values(model, X, backend="shap", n_jobs=2)
    np.testing.assert_allclose(par, values)


@pytest.mark.parametrize("backend", ["shap", "woodelf"])
def test_shap_of_the_forest_pair_is_the_mean_of_both_forests(backend):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["sig.a", "noise.b", "sig.c"])
    y = 4 * X["sig.a"].to_numpy() - X["sig.c"].to_numpy() ** 2
    pair = GrafRegressor(model="rf+extra_trees", n_estimators=10, max_features=0.67, random_state=0).fit(X, y)
    values, expected = shap_values(pair, X, backend=backend)  # woodelf: additivity checked inside
    np.testing.assert_allclose(expected + values.sum(axis=1), pair.predict(X), atol=1e-8 if backend == "shap" else 1e-4)
    one = [shap_values(f, X, backend="shap") for f in tree_model(pair)]
    assert len(one) == 2
    np.testing.assert_allclose(values, (one[0][0] + one[1][0]) / 2, atol=1e-8 if backend == "shap" else 1e-4)


def test_exact_reference_backend_and_bad_backend():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=["sig.a", "noise.b", "noise.c"])
    model = GrafRegressor(n_estimators=10, random_state=0).fit(X, 5 * X["sig.a"].to_numpy())
    values, expected = shap_values(model, X, backend="shap")
    np.testing.assert_allclose(expected + values.sum(axis=1), model.predict(X), atol=1e-10)
    with pytest.raises(ValueError, match="unknown SHAP backend 'kernel'"):
        shap_values(model, X, backend="kernel")


def test_woodelf_agrees_with_shap_on_the_protocol_forest(data_dir):
    # the real case: graf+zcp, a fully grown forest on 256 nets, explained on 300 others
    from graf.predictor import build_dataset, protocol_split
    from graf.predictor.dataset import default_nets

    ds = build_dataset("cifar10_val_naslib", "graf,zcp", data_dir=data_dir, nets=default_nets(data_dir)[:556])
    train, test = protocol_split(556, 256, 0)
    model = GrafRegressor(n_estimators=20, random_state=0).fit(ds.X.iloc[train], ds.y.iloc[train])
    X = ds.X.iloc[test]
    fast, e_fast = shap_values(model, X, backend="woodelf")  # additivity checked
    ref, e_ref = shap_values(model, X, backend="shap")
    assert e_fast == pytest.approx(e_ref)
    scale = np.abs(ref).max()
    assert np.abs(fast - ref).max() <= 1e-4 * scale
    f_fast, _ = shap_importances(fast, list(X.columns))
    f_ref, _ = shap_importances(ref, list(X.columns))
    assert list(f_fast["feature"].head(10)) == list(f_ref["feature"].head(10))


def test_woodelf_additivity_guard(monkeypatch):
    import importlib

    ex = importlib.import_module("graf.predictor.explain")  # (the package exports a function of that name)

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    model = GrafRegressor(n_estimators=5, random_state=0).fit(X, 3 * X["a"].to_numpy())
    monkeypatch.setattr(ex, "WOODELF_ADDITIVITY_RTOL", 0.0)  # float32 values never add up exactly
    with pytest.raises(ValueError, match="do not add up"):
        shap_values(model, X, backend="woodelf")
    values, _ = shap_values(model, X, backend="woodelf", check_additivity=False)
    assert values.shape == (100, 2)


def test_cli_explain_writes_tables_and_plots(tmp_path, capsys, data_dir, monkeypatch):
    out = tmp_path / "explain"
    shown = {}
    save = explain_module._save

    def recording_save(fig, path):
        ax = fig.axes[0]
        shown[path.name] = (ax.get_title(loc="left"), ax.get_xlabel(), [t.get_text() for t in ax.get_yticklabels()])
        return save(fig, path)

    monkeypatch.setattr(explain_module, "_save", recording_save)
    code = main(
        ["explain", "--data-dir", str(data_dir), "--target", "cifar10_val_naslib", "--inputs", "graf,zcp",
         "--train-size", "64", "--seed", "1", "--archs", str(_first_nets(tmp_path, data_dir, 200)),
         "--out", str(out), "--json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out.strip().splitlines()[-1])
    assert payload["n_test"] == 136 and payload["n_features"] == 204 and payload["train_size"] == 64
    assert [Path(f).name for f in payload["files"]] == list(EXPLAIN_FILES)
    for name in EXPLAIN_FILES:
        assert (out / name).stat().st_size > 0
    assert (out / "shap_bar.png").read_bytes()[:4] == b"\x89PNG"
    feats = pd.read_csv(out / "shap_features.csv")
    fams = pd.read_csv(out / "shap_families.csv")
    assert len(feats) == 204 and feats["mean_abs_shap"].is_monotonic_decreasing
    assert set(fams["family"]) == {"op_count", "min_path_len", "max_op_on_path", "node_degree", "zcp"}
    assert fams["n_features"].sum() == 204
    assert fams["mean_abs_shap"].sum() == pytest.approx(feats["mean_abs_shap"].sum())
    assert (feats["label"] == [feature_label(c) for c in feats["feature"]]).all()
    assert set(fams["label"]) == {"op count", "min path", "max path", "degree", "proxy"}
    assert plot_title(payload) == ("cifar10_val_naslib · graf+zcp · rf · train 64 · "
                                   f"τ {payload['tau']:.3f} on 136 test nets")
    assert sorted(shown) == ["shap_bar.png", "shap_beeswarm.png", "shap_families.png"]
    for title, xlabel, _ in shown.values():
        assert title == plot_title(payload) and xlabel.endswith("(accuracy points)")
    assert shown["shap_bar.png"][2][::-1] == list(feats["label"][:20])  # top feature at the top
    assert shown["shap_families.png"][2][-1] == f"{fams['label'][0]} ({fams['n_features'][0]})"


def _first_nets(tmp_path, data_dir, n):
    from graf.predictor.dataset import default_nets

    path = tmp_path / "nets.txt"
    path.write_text("\n".join(default_nets(data_dir)[:n]) + "\n")
    return path


def test_explain_max_explained_draws_seeded_test_rows(data_dir, tmp_path):
    from graf.predictor import build_dataset, explain
    from graf.predictor.dataset import default_nets

    ds = build_dataset("cifar10_val_naslib", "graf,zcp", data_dir=data_dir, nets=default_nets(data_dir)[:200])
    a = explain(ds, train_size=100, seed=2, max_explained=25)
    b = explain(ds, train_size=100, seed=2, max_explained=25, out_dir=tmp_path)  # plots of the 25 explained rows
    assert (tmp_path / "shap_beeswarm.png").stat().st_size > 0
    assert a["n_test"] == 100 and a["n_explained"] == 25 and a["values"].shape == (25, 204)
    assert list(a["X_explained"].index) == list(b["X_explained"].index)
    from graf.predictor import protocol_split

    _, test = protocol_split(200, 100, 2)
    assert set(a["X_explained"].index) <= set(ds.X.index[test])
    with pytest.raises(ValueError, match="max_explained must be positive"):
        explain(ds, train_size=100, seed=2, max_explained=0)
    # recipes that are not forests (a boosted log-target model, a weighted blend) fail before fitting
    for model in ("catboost-logerr", "rf+et+catboost-logerr", "cellgnn-logerr"):  # catboost is in the extra "dev"
        with pytest.raises(ValueError, match=f"need a forest recipe .*{re.escape(repr(model))} is"):
            explain(ds, train_size=100, seed=2, model=model)


def test_auto_backend_switches_on_row_count(monkeypatch):
    import importlib

    ex = importlib.import_module("graf.predictor.explain")
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    model = GrafRegressor(n_estimators=5, random_state=0).fit(X, X["a"].to_numpy())
    exact, _ = shap_values(model, X)  # 60 rows < WOODELF_MIN_ROWS: shap, exact
    np.testing.assert_array_equal(exact, shap_values(model, X, backend="shap")[0])
    monkeypatch.setattr(ex, "WOODELF_MIN_ROWS", 50)
    fast, _ = shap_values(model, X)  # now woodelf: float32 values
    np.testing.assert_array_equal(fast, shap_values(model, X, backend="woodelf")[0])
    assert np.all(fast == fast.astype(np.float32)) and not np.array_equal(fast, exact)


def test_target_units_and_labels():
    from graf.features.labels import feature_label
    from graf.predictor.explain import target_unit

    assert [target_unit(t) for t in ("cifar10_val_naslib", "cifar100_test", "cifar10_valid_12ep",
                                     "robust:pgd@Linf_eps-1.0", "class_scene")] == ["accuracy points"] * 5
    assert target_unit("hw:cifar10:edgegpu_latency") == "ms" and target_unit("hw:cifar10:fpga_energy") == "mJ"
    assert target_unit("cifar10_train_seconds_12ep") == "s" and target_unit("room_layout") == "target units"
    assert feature_label("min_path_len.skip_connect+nor_conv_3x3") == "min path · skip, conv3x3"
    assert feature_label("max_op_on_path.none+avg_pool_3x3") == "max path · none, avgpool"
    assert feature_label("node_degree.output_in.nor_conv_1x1") == "degree output in · conv1x1"
    assert feature_label("onehot.0-1.nor_conv_3x3") == "edge 0→1 · conv3x3"
    assert feature_label("op_count.skip_connect") == "op count · skip"
    assert feature_label("zcp.synflow") == "proxy · synflow" and feature_label("proxies.naswot") == "own proxy · naswot"
    assert feature_label("unknown_column") == "unknown_column" and feature_label("x.y") == "x.y"


def test_explain_needs_ten_train_and_ten_test_nets(data_dir):
    from graf.predictor.dataset import build_dataset

    nets = list(build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir).X.index[:25])
    ds = build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, nets=nets)
    with pytest.raises(ValueError, match="at least 10 train and 10 test nets: train size 9 of 25"):
        explain(ds, train_size=9)
    with pytest.raises(ValueError, match="leaves 9 to explain; use a train size in 10..15"):
        explain(ds, train_size=16)
    small = build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, nets=nets[:12])
    with pytest.raises(ValueError, match="give at least 20 nets"):
        explain(small, train_size=6)
    assert explain(ds, train_size=15)["n_test"] == 10


def test_auto_falls_back_to_exact_shap_when_woodelf_does_not_add_up(data_dir, monkeypatch):
    pytest.importorskip("woodelf")
    from graf.predictor.dataset import build_dataset

    ds = build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir,
                       nets=list(build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir).X.index[:150]))
    monkeypatch.setattr(explain_module, "WOODELF_MIN_ROWS", 10)  # auto picks woodelf for 30 rows
    monkeypatch.setattr(explain_module, "WOODELF_ADDITIVITY_RTOL", -1.0)  # and its check always fails
    assert explain(ds, train_size=100, max_explained=30)["shap_backend"] == "shap"
    with pytest.raises(ValueError, match="do not add up"):
        explain(ds, train_size=100, max_explained=30, backend="woodelf")
