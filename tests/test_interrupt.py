"""A SIGINT / SIGTERM whose exception a library swallows (raised inside a ``__del__``, reported
as "Exception ignored") still stops every long loop at its next finished step, and that step is
not kept. The signals are raised in this process, at a chosen point, so each case is exact."""

from __future__ import annotations

import json
import signal

import numpy as np
import pandas as pd
import pytest

from graf import interrupt
from graf.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _Swallowed:
    """Raises ``signum`` in this process from its ``__del__``, where Python reports the
    handler's exception as ignored and goes on."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        signal.raise_signal(self.signum)


def _swallow(signum: int = signal.SIGTERM) -> None:
    _Swallowed(signum)  # dropped at once: __del__ runs here


def _on_call(number: int, function):
    """``function`` that swallows a SIGTERM on its ``number``-th call (1-based), then goes on."""
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            _swallow()
        return function(*args, **kwargs)

    return wrapped


def _stopped(monkeypatch, capsys, owner, name: str, call: int, argv: list[str]) -> str:
    """Run ``graf argv`` with ``owner.name`` swallowing a SIGTERM on its ``call``-th call; it must
    stop with 143 and say so in one line on stderr, which is returned."""
    monkeypatch.setattr(owner, name, _on_call(call, getattr(owner, name)))
    assert main(argv) == 143
    err = [line for line in capsys.readouterr().err.splitlines() if "stopped by" in line]
    assert len(err) == 1 and err[0].startswith(f"graf {argv[0]}: stopped by SIGTERM: ")
    return err[0]


def test_a_swallowed_signal_is_pending_and_check_raises_it():
    before = signal.getsignal(signal.SIGTERM)
    with interrupt.handlers():
        interrupt.check()  # nothing received: nothing raised
        _swallow(signal.SIGTERM)
        assert interrupt.pending() == signal.SIGTERM
        with pytest.raises(interrupt.Terminated):
            interrupt.check()
        with pytest.raises(interrupt.Terminated):  # it stays pending: every later check stops too
            interrupt.check()
    assert signal.getsignal(signal.SIGTERM) is before
    assert interrupt.pending() is None
    interrupt.check()  # outside handlers(): nothing is pending


def test_sigint_is_handled_only_where_python_would_raise_keyboardinterrupt():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interrupt.handlers():
            _swallow(signal.SIGINT)
            assert interrupt.pending() == signal.SIGINT
            with pytest.raises(KeyboardInterrupt):
                interrupt.check()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's SIGINT stays ignored
        with interrupt.handlers():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert interrupt.pending() is None
    finally:
        signal.signal(signal.SIGINT, previous)


def test_search_stops_at_the_seed_a_swallowed_signal_disturbed(tmp_path, data_dir, monkeypatch, capsys):
    from graf.search.objective import BenchmarkObjective

    history = tmp_path / "h.parquet"
    # history_frame ends each seed's search: the third seed's is disturbed
    err = _stopped(monkeypatch, capsys, BenchmarkObjective, "history_frame", 3,
                   ["search", "--data-dir", str(data_dir), "--algorithm", "rea", "--budget", "20", "--seeds", "1000",
                    "--history", str(history), "--no-progress"])
    assert "wrote the history of the 2 finished seed(s)" in err
    table = pd.read_parquet(history)
    assert sorted(set(table.index.get_level_values("seed"))) == [0, 1] and len(table) == 40
    journal = [json.loads(line) for line in (tmp_path / "h.parquet.partial.jsonl").read_text().splitlines()[1:]]
    assert {r["seed"] for r in journal} == {0, 1, 2}  # seed 2's queries before the disturbed one are journaled


def test_a_query_is_not_journaled_after_a_swallowed_signal(tmp_path, data_dir, monkeypatch, capsys):
    from graf.search.objective import BenchmarkObjective

    history = tmp_path / "h.parquet"
    err = _stopped(monkeypatch, capsys, BenchmarkObjective, "lookup", 5,
                   ["search", "--data-dir", str(data_dir), "--algorithm", "random", "--budget", "20", "--seeds", "3",
                    "--history", str(history), "--no-progress"])
    assert "no history was written" in err and not history.exists()
    journal = (tmp_path / "h.parquet.partial.jsonl").read_text().splitlines()
    assert len(journal) == 1 + 4  # the header and the four queries finished before the fifth


def test_evaluate_keeps_only_the_runs_before_a_swallowed_signal(tmp_path, data_dir, monkeypatch, capsys):
    from sklearn.ensemble import RandomForestRegressor

    runs = tmp_path / "runs.csv"
    err = _stopped(monkeypatch, capsys, RandomForestRegressor, "fit", 2,
                   ["evaluate", "--data-dir", str(data_dir), "--inputs", "graf", "--model", "rf", "--train-sizes", "32",
                    "--seeds", "50", "--runs-out", str(runs), "--no-progress"])
    assert "wrote the 1 finished run(s)" in err
    assert list(pd.read_csv(runs)["seed"]) == [0]


def test_proxies_keep_only_the_nets_before_a_swallowed_signal(tmp_path, data_dir, monkeypatch, capsys):
    pytest.importorskip("torch")
    import proxies.runner

    out = tmp_path / "p.parquet"
    err = _stopped(monkeypatch, capsys, proxies.runner, "compute_row", 3,
                   ["proxies", "--data-dir", str(data_dir), "--sample", "20", "--proxies", "params", "--jobs", "1",
                    "--out", str(out), "--no-progress"])
    assert "rerun with --resume" in err and not out.exists()
    rows = (tmp_path / "p.parquet.partial.jsonl").read_text().splitlines()
    assert len(rows) == 1 + 2  # the header and the two nets finished before the third
    assert all(np.isfinite(json.loads(r)["params"]) for r in rows[1:])


def test_multi_objective_search_keeps_only_the_queries_before_a_swallowed_signal(tmp_path, data_dir, monkeypatch,
                                                                                   capsys):
    from graf.search.multi import MultiObjective

    history = tmp_path / "h.parquet"
    err = _stopped(monkeypatch, capsys, MultiObjective, "__call__", 14,
                   ["search", "--data-dir", str(data_dir), "--objectives", "cifar10,hw:cifar10:raspi4_latency",
                    "--algorithm", "random", "--budget", "10", "--seeds", "5", "--history", str(history), "--quiet"])
    assert "wrote the history of the 1 finished seed(s)" in err
    assert sorted(set(pd.read_parquet(history).index.get_level_values("seed"))) == [0]
    journal = [json.loads(line) for line in (tmp_path / "h.parquet.partial.jsonl").read_text().splitlines()[1:]]
    assert [r["seed"] for r in journal] == [0] * 10 + [1] * 3  # the 14th query (seed 1's 4th) is not kept
