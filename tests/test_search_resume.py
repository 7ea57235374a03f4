"""Resumable and asynchronous searches: the checkpoint beside --history, --resume after kill -9,
local worker processes and Dask, failed evaluations recorded."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graf.search import REA, BenchmarkObjective, RandomSearch, SurrogateREA, run_search, surrogate_features
from graf.search.objective import _QueryLog
from graf.search.runner import DaskExecutor, ProcessExecutor, checkpoint_path

GRAF = [sys.executable, "-m", "graf"]


# --------------------------------------------------------------------------- API: replay
@pytest.mark.parametrize("make", ["rea", "surrogate-rea"])
def test_replaying_any_prefix_gives_the_uninterrupted_history(data_dir, make):
    objective = BenchmarkObjective("cifar10", data_dir=data_dir)

    def strategy():
        if make == "rea":
            return REA(seed=3)
        features = surrogate_features(("graf",), data_dir)
        return SurrogateREA(features=features, seed=3, n_candidates=20, refit_every=6)

    records: list[dict] = []
    full = run_search(strategy(), objective, 25, journal=records.append).history
    assert len(records) == 25 and [r["arch"] for r in records] == list(full["arch"])
    for cut in (0, 1, 12, 24, 25) if make == "rea" else (1, 13):
        replayed: list[dict] = []
        again = run_search(strategy(), objective, 25, journal=replayed.append, replay=records[:cut]).history
        pd.testing.assert_frame_equal(again, full)
        assert replayed == records[cut:]  # only the queries after the cut are journaled (nothing repeated)


def test_a_checkpoint_of_another_run_is_refused(data_dir):
    objective = BenchmarkObjective("cifar10", data_dir=data_dir)
    records: list[dict] = []
    run_search(REA(seed=0), objective, 12, journal=records.append)
    with pytest.raises(ValueError, match="belongs to another run"):
        run_search(REA(seed=1), objective, 12, replay=records)


# --------------------------------------------------------------------------- kill -9 and --resume
def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", **extra)
    env.pop("GRAF_DATA_DIR", None)  # the NB201 tables ship in the package
    return env


def _kill_after(cmd, ckpt: Path, lines: int, cwd, timeout: float = 300):
    """Start ``cmd`` in its own process group; SIGKILL the group once ``ckpt`` has ``lines`` lines."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ckpt.exists() and ckpt.read_bytes().count(b"\n") >= lines:
            break
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.returncode


def _run(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-800:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _main(argv):
    import contextlib
    import io

    from graf.cli import main

    torch = sys.modules.get("torch")  # one torch thread, as the subprocesses (OMP_NUM_THREADS=1)
    threads = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            assert main(argv + ["-q"]) == 0
    finally:
        if torch:
            torch.set_num_threads(threads)
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def test_kill_9_and_resume_benchmark_search(tmp_path):
    args = ["search", "--algorithm", "rea", "--dataset", "cifar10", "--budget", "50", "--seeds", "150", "--json",
            "--no-progress"]
    _main(args + ["--history", str(tmp_path / "full.parquet")])
    assert not checkpoint_path(tmp_path / "full.parquet").exists()  # a finished run leaves no checkpoint
    ckpt = checkpoint_path(tmp_path / "h.parquet")
    assert _kill_after(GRAF + args + ["--history", "h.parquet"], ckpt, 1000, tmp_path) == -signal.SIGKILL
    kept = ckpt.read_bytes().count(b"\n") - 1
    assert kept >= 999 and not (tmp_path / "h.parquet").exists()
    out = _run(GRAF + args + ["--history", "h.parquet", "--resume"], tmp_path)
    assert out["resumed_queries"] == kept
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "h.parquet"), pd.read_parquet(tmp_path / "full.parquet"))
    assert not ckpt.exists()
    res = subprocess.run(GRAF + args + ["--history", "h.parquet", "--resume"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True)
    assert res.returncode == 2 and "already exists" in res.stderr  # finished: nothing to resume


def _digits_npz(path: Path) -> Path:
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:10] for k in range(4)])
    np.savez(path, x=(d.images[keep] * 15).astype(np.uint8)[..., None], y=d.target[keep])
    return path


def test_kill_9_and_resume_training_search(tmp_path):
    pytest.importorskip("torch")
    data = _digits_npz(tmp_path / "d.npz")
    args = ["search", "--algorithm", "rea", "--population-size", "3", "--sample-size", "2", "--objective", "train",
            "--train-data", str(data), "--channels", "4", "--epochs", "1", "--budget", "5", "--seeds", "1", "--json",
            "--no-progress"]
    full = _main(args + ["--history", str(tmp_path / "full.parquet")])  # in this process, one thread as the others
    assert full["trainings"] == 5 and full["backend"] == "in-process"
    ckpt = checkpoint_path(tmp_path / "h.parquet")
    _kill_after(GRAF + args + ["--history", "h.parquet"], ckpt, 3, tmp_path)  # header + 2 queries
    out = _run(GRAF + args + ["--history", "h.parquet", "--resume"], tmp_path)
    assert out["resumed_queries"] >= 2
    a, b = pd.read_parquet(tmp_path / "h.parquet"), pd.read_parquet(tmp_path / "full.parquet")
    assert list(a["arch"]) == list(b["arch"]) and a["arch"].is_unique  # every planned query exactly once
    pd.testing.assert_frame_equal(a.drop(columns=["seconds"]), b.drop(columns=["seconds"]))  # wall seconds differ


# --------------------------------------------------------------------------- asynchronous workers
def crash_or_value(key: str, fail: str) -> dict:
    """A stand-in evaluation: the net ``fail`` kills its worker process (or raises, with Dask)."""
    if key == fail:
        if fail.startswith("|none"):
            raise RuntimeError("boom")
        os._exit(3)
    time.sleep(0.05)
    return {"target": float(len(key) % 17), "test": 0.0, "seconds": 1.0, "error": ""}


class _Fake(_QueryLog):
    records_errors = True

    def __init__(self, fail: str) -> None:
        self.task = (crash_or_value, fail)
        self.reset()

    def lookup(self, key):
        return None

    def peek_target(self, arch):
        return self._seen[str(arch)]

    def test_accuracy(self, arch):
        return 0.0


def _first_asks(n: int, seed: int = 0) -> list[str]:
    s = RandomSearch(seed=seed)
    return [str(s.ask()) for _ in range(n)]


def test_a_worker_that_dies_fails_its_query_only():
    doomed = _first_asks(4)[3]
    strategy = RandomSearch(seed=0)
    with ProcessExecutor(_Fake(doomed).task, workers=2, threads=1) as executor:
        result = run_search(strategy, objective := _Fake(doomed), 6, executor=executor, workers=2)
    h = result.history
    assert len(h) == 6 and h["arch"].is_unique and set(_first_asks(6)) == set(h["arch"])
    failed = h[h["arch"] == doomed].iloc[0]
    assert math.isnan(failed["target"]) and "worker process died (exit code 3)" in failed["error"]
    assert h.drop(index=failed.name)["target"].notna().all() and objective.best() != doomed
    # the failure is told as the worst value told before it (the 4th ask starts after 2 have finished)
    told = {str(a): v for a, v in strategy.told}
    position = int(np.flatnonzero(h["arch"] == doomed)[0])
    assert position >= 2 and told[doomed] == h["target"].iloc[:position].min()


def test_dask_local_cluster_runs_and_records_a_failing_task():
    distributed = pytest.importorskip("distributed")
    doomed = next(a for a in _first_asks(40) if a.startswith("|none"))
    asks = _first_asks(40)
    budget = asks.index(doomed) + 2
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with DaskExecutor(_Fake(doomed).task, cluster.scheduler_address) as executor:
            h = run_search(RandomSearch(seed=0), _Fake(doomed), budget, executor=executor, workers=2).history
    assert sorted(h["arch"]) == sorted(asks[:budget])
    failed = h[h["arch"] == doomed].iloc[0]
    assert math.isnan(failed["target"]) and "RuntimeError: boom" in failed["error"]


def test_cli_two_worker_processes(tmp_path):
    pytest.importorskip("torch")
    data = _digits_npz(tmp_path / "d.npz")
    out = _run(GRAF + ["search", "--algorithm", "random", "--objective", "train", "--train-data", str(data),
                       "--channels", "4", "--budget", "3", "--seeds", "1", "--workers", "2", "--history", "h.parquet",
                       "--json", "--no-progress"], tmp_path)
    h = pd.read_parquet(tmp_path / "h.parquet")
    assert out["backend"] == "processes" and out["workers"] == 2 and len(h) == 3
    assert all(g["arch"].is_unique for _, g in h.groupby(level="seed"))
    assert (h["error"] == "").all() and h["target"].between(0, 100).all()
    res = subprocess.run(GRAF + ["search", "--workers", "2", "--budget", "3", "--seeds", "1"], cwd=tmp_path,
                         env=_env(), capture_output=True, text=True)
    assert res.returncode == 2 and "apply to --objective train" in res.stderr
