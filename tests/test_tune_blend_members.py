"""benchmarks/tune_blend_members.py: saved member predictions and the weight grid built from them."""

from __future__ import annotations

import numpy as np
import pytest

from graf.predictor import build_dataset
from graf.spaces import get_space

from conftest import load_script


def test_the_grid_at_the_recipes_own_weight_is_the_recipe(tmp_path, torch_one_thread):
    pytest.importorskip("torch")
    pytest.importorskip("catboost")
    tune = load_script("benchmarks/tune_blend_members.py")
    nets = [str(a) for a in get_space("nb201").valid_archs()][:200]
    ds = build_dataset("cifar10_val_naslib", "graf,onehot", nets=nets)
    X, y = ds.X, ds.y.to_numpy()
    runs = [tune.member_predictions(X, y, "rf+et+catboost+gnn", 32, seed, tmp_path / f"s{seed}.npz") for seed in (100, 101)]
    again = tune.member_predictions(X, y, "rf+et+catboost+gnn", 32, 100, tmp_path / "s100.npz")  # read back, not refitted
    for key in runs[0]:
        np.testing.assert_array_equal(again[key], runs[0][key])
    own = float(runs[0]["weights"][2])  # the GNN's weight at 32 nets
    entry = tune.size_report(runs, "gnn", [0.0, own])
    assert sorted(entry["member_tau"]) == ["catboost", "forests", "gnn"]
    # without an iso-class mean the recipe is its blend: the grid at its own weight reproduces it
    assert entry["blend_tau_by_weight"][str(own)] == pytest.approx(entry["recipe_tau"], abs=1e-12)
    assert entry["blend_tau_by_weight"]["0.0"] != entry["recipe_tau"]
    with pytest.raises(ValueError, match="no member 'proxy_gnn'"):
        tune.size_report(runs, "proxy_gnn", [0.5])
