"""The search loop and the algorithm registry used by ``graf search`` and the benchmarks."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from graf import interrupt
from graf.search.objective import failed_outcome
from graf.search.strategies import (AREA, NASWOT, REA, REINFORCE, TENAS, OptunaSearch, ProxyREA, RandomSearch, Strategy,
                                    SurrogateBO, SurrogateREA)

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "BUDGET_UNITS", "SearchResult", "run_search", "make_strategy", "surrogate_features",
           "SURROGATE_INPUTS", "make_executor", "InlineExecutor", "ProcessExecutor", "DaskExecutor", "SearchCheckpoint",
           "checkpoint_path"]

#: the default of ``graf search``
DEFAULT_ALGORITHM = "surrogate-bo"
ALGORITHMS = ("surrogate-bo", "random", "naswot", "rea", "area", "surrogate-rea", "reinforce", "tpe", "gp", "proxy-rea", "tenas")
BUDGET_UNITS = ("queries", "seconds")


@dataclass
class SearchResult:
    arch: str | None  # None when every query failed
    target: float
    test: float
    queries: int
    seconds: float
    history: pd.DataFrame = field(repr=False)


def run_search(strategy: Strategy, objective, budget: float, *, unit: str = "queries",
               max_asks: int | None = None, executor=None, workers: int = 1, journal=None,
               replay: Sequence[dict] = ()) -> SearchResult:
    """Ask, query, tell until the budget is spent; return the best-target queried net.

    ``unit="queries"``: exactly ``budget`` distinct nets are queried (a repeated ask is
    answered from the objective's cache and is free). ``unit="seconds"``: nets are queried
    while the (simulated or measured) training time spent is below ``budget`` (the last ones
    may overshoot, as in NB201's REA). A query-free strategy (NASWOT) is not run against the
    objective; its recommendation is reported with ``queries == 0``. ``max_asks`` (default
    ``100 * budget`` queries, or 100 000) stops a strategy that keeps re-asking queried nets.

    Asynchronous evaluation: an ask the objective cannot answer at once (``objective.lookup``
    is None, e.g. a net to train) goes to ``executor`` (see :func:`make_executor`), and up to
    ``workers`` such asks are pending at a time; as soon as one finishes it is told and a new
    net asked (no generations). A strategy that cannot ask yet (a ``ValueError`` while
    evaluations are pending, e.g. REA before its population is told) waits for the next
    result. A failed evaluation is a charged query with a NaN target in the history; the
    strategy is told the worst value it has been told so far (before any, the ask is
    discarded, :meth:`Strategy.discard`), so that strategies that exclude the nets they were
    told (surrogate-BO, surrogate-REA) do not ask it again and again; it is never returned as
    the best net.

    ``journal``: a callable receiving each charged query as a JSON-able dict, when it is
    charged (:class:`SearchCheckpoint` appends them to disk). ``replay``: such dicts of an
    interrupted run of the same strategy and seed; they are told again in their order, at
    the same point of the ask sequence, without evaluating anything, and the run then goes
    on: asks that were pending when it stopped are evaluated again, nothing finished is.
    """
    if unit not in BUDGET_UNITS:
        raise ValueError(f"unknown budget unit {unit!r}; available: {', '.join(BUDGET_UNITS)}")
    if not budget > 0:
        raise ValueError(f"budget must be > 0, got {budget}")
    if unit == "queries" and int(budget) != budget:
        raise ValueError(f"a query budget must be a whole number, got {budget}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    objective.reset()
    if not strategy.uses_queries:
        arch = strategy.recommend()
    else:
        limit = max_asks or (100 * int(budget) if unit == "queries" else 100_000)
        _Loop(strategy, objective, budget, unit, limit, executor, workers, journal).run(replay)
        arch = objective.best()
    if arch is None:
        return SearchResult(None, math.nan, math.nan, objective.queries, objective.seconds, objective.history_frame())
    arch = str(arch)
    return SearchResult(arch, objective.peek_target(arch), objective.test_accuracy(arch), objective.queries,
                        objective.seconds, objective.history_frame())


class _Loop:
    """One search run's ask / evaluate / tell loop (:func:`run_search`)."""

    def __init__(self, strategy, objective, budget, unit, limit, executor, workers, journal):
        self.strategy, self.objective, self.budget, self.unit = strategy, objective, budget, unit
        self.limit, self.executor, self.workers, self.journal = limit, executor, workers, journal
        self.asks = 0
        self.asked: dict[int, str] = {}  # ask number -> arch
        self.inflight: dict[str, int] = {}  # arch -> ask number, evaluations not finished
        self.replaying = False

    def room(self) -> bool:
        """Whether the budget allows another evaluation besides those in flight."""
        if self.unit == "queries":
            return self.objective.queries + len(self.inflight) < self.budget
        return self.objective.seconds < self.budget

    def ask(self) -> bool:
        """Ask once and dispatch the answer; False when the strategy must wait for a result."""
        try:
            arch = self.strategy.ask()
        except ValueError:
            if self.inflight and not self.replaying:
                return False
            raise
        self.asks += 1
        key = str(arch)
        self.asked[self.asks] = key
        if self.objective.known(key):  # charged before in this run: free
            self._tell(arch, self.objective.cached(key))
        elif key not in self.inflight:  # (an ask of a net in flight is told when it finishes)
            self.inflight[key] = self.asks
            if not self.replaying:
                self._dispatch(key)
        return True

    def _dispatch(self, key: str) -> None:
        outcome = self.objective.lookup(key)
        if outcome is not None:
            self.finish(key, outcome)
        elif self.executor is None:
            raise ValueError("this objective evaluates nets in workers: give run_search an executor (make_executor)")
        else:
            self.executor.submit(key)

    def _tell(self, arch, value: float) -> None:
        """Tell ``value``; a failure (NaN) is told as the worst value told so far, as SMAC imputes
        crashed runs, so that no strategy proposes it again and again; before any value it is
        discarded."""
        if math.isfinite(value):
            self.strategy.tell(arch, value)
        elif self.strategy.told:
            self.strategy.tell(arch, min(v for _, v in self.strategy.told))
        else:
            self.strategy.discard(arch)

    def finish(self, key: str, outcome: dict) -> None:
        interrupt.check()  # a stop a library swallowed while this query ran: the query is not kept
        n = self.inflight.pop(key)
        self.objective.record(key, outcome)
        if self.journal is not None and not self.replaying:
            self.journal({"n": n, "asks": self.asks, "arch": key, "outcome": outcome})
        self._tell(key, float(outcome["target"]))  # tell/discard find the pending ask by its string

    def run(self, replay: Sequence[dict]) -> None:
        self.replaying = True
        for i, rec in enumerate(replay):
            while self.asks < rec["asks"]:
                self.ask()
            if self.asks != rec["asks"] or self.asked.get(rec["n"]) != rec["arch"] or rec["arch"] not in self.inflight:
                raise ValueError(f"the checkpoint's query {i + 1} ({rec['arch']}) is not what this run asks at that "
                                 "point: it belongs to another run; delete it to start over")
            self.finish(rec["arch"], rec["outcome"])
        self.replaying = False
        for key in list(self.inflight):  # asked before the interruption, not finished: evaluate again
            self._dispatch(key)
        while True:
            while self.room() and self.asks < self.limit and len(self.inflight) < self.workers:
                if not self.ask():
                    break
            if not self.inflight:
                return
            for key, outcome in self.executor.wait():
                self.finish(key, outcome)


# --------------------------------------------------------------------------- executors
class InlineExecutor:
    """Evaluates in this process, one net at a time, in the order submitted."""

    def __init__(self, task) -> None:
        self.function, self.argument = task
        self._queue: list[str] = []

    def submit(self, key: str) -> None:
        self._queue.append(key)

    def wait(self) -> list[tuple[str, dict]]:
        key = self._queue.pop(0)
        return [(key, self.function(key, self.argument))]

    def close(self) -> None:
        self._queue.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(conn, function, argument, threads: int) -> None:  # pragma: no cover - runs in the worker processes
    """A worker process: evaluate each key received, send back its outcome; exit when the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what a Ctrl-C stops
    try:
        import torch

        torch.set_num_threads(threads)  # this process's own setting: the workers share the cores
    except ImportError:
        pass
    while True:
        try:
            key = conn.recv()
        except (EOFError, OSError):
            return
        try:
            out = function(key, argument)
        except Exception as exc:  # noqa: BLE001 - a worker's failure is the query's, recorded
            out = failed_outcome(f"{type(exc).__name__}: {exc}")
        conn.send(out)


class ProcessExecutor:
    """``workers`` processes of this machine (spawned), one evaluation each at a time.

    Each process runs one evaluation at a time, so a process that dies (killed, out of
    memory, a crash in native code) fails exactly its own query, which is recorded as
    failed, and a fresh process takes its place. Each process gets
    ``cpu_count // workers`` PyTorch threads (at least 1).
    """

    def __init__(self, task, workers: int, threads: int | None = None) -> None:
        import multiprocessing

        self.function, self.argument = task
        self.workers = int(workers)
        self.threads = threads or max(1, (os.cpu_count() or 1) // self.workers)
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list = [None] * self.workers  # (process, connection) or None
        self._busy: dict[int, str] = {}

    def _start(self, i: int):
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child, self.function, self.argument, self.threads), daemon=True)
        proc.start()
        child.close()
        self._slots[i] = (proc, parent)
        return self._slots[i]

    def submit(self, key: str) -> None:
        free = [i for i in range(self.workers) if i not in self._busy]
        if not free:
            raise ValueError("every worker is busy")
        i = free[0]
        proc, conn = self._slots[i] or self._start(i)
        try:
            conn.send(key)
        except (BrokenPipeError, OSError):
            self._reap(i)
            proc, conn = self._start(i)
            conn.send(key)
        self._busy[i] = key

    def _reap(self, i: int) -> int | None:
        proc, conn = self._slots[i]
        conn.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        self._slots[i] = None
        return proc.exitcode

    def wait(self) -> list[tuple[str, dict]]:
        from multiprocessing.connection import wait

        if not self._busy:
            raise ValueError("nothing is being evaluated")
        handles = {}
        for i in self._busy:
            proc, conn = self._slots[i]
            handles[conn] = i
            handles[proc.sentinel] = i
        ready = {handles[h] for h in wait(list(handles))}
        out = []
        for i in sorted(ready):
            proc, conn = self._slots[i]
            key = self._busy.pop(i)
            try:
                outcome = conn.recv() if conn.poll() else None
            except (EOFError, OSError):
                outcome = None
            if outcome is None:
                code = self._reap(i)
                outcome = failed_outcome(f"the worker process died (exit code {code}) while evaluating this net")
            out.append((key, outcome))
        return out

    def close(self) -> None:
        for i, slot in enumerate(self._slots):
            if slot is not None:
                slot[0].kill()
                self._reap(i)
        self._busy.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor:
    """Evaluations on a Dask ``distributed`` cluster at ``scheduler`` (``tcp://host:port``).

    A task that raises, or whose workers die (Dask's ``KilledWorker`` after its allowed
    failures), is recorded as a failed query.
    """

    def __init__(self, task, scheduler: str, timeout: float = 30.0) -> None:
        from graf.optional import require

        self._distributed = require("distributed", needed_for="--scheduler", install="pip install 'graf-nas[proxies]'")
        self.function, self.argument = task
        try:
            self.client = self._distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
        self._futures: dict = {}
        self._done = self._distributed.as_completed([], loop=self.client.loop)
        self._count = 0
        self._token = os.urandom(6).hex()

    def submit(self, key: str) -> None:
        self._count += 1
        future = self.client.submit(self.function, key, self.argument, pure=False,
                                    key=f"graf-search-{self._token}-{self._count}")
        self._futures[future] = key
        self._done.add(future)

    def wait(self) -> list[tuple[str, dict]]:
        if not self._futures:
            raise ValueError("nothing is being evaluated")
        done = [next(self._done)] + list(self._done.next_batch(block=False))
        out = []
        for future in done:
            key = self._futures.pop(future)
            if future.status == "finished":
                out.append((key, future.result()))
            else:
                exc = future.exception()
                out.append((key, failed_outcome(f"the Dask task failed: {type(exc).__name__}: {exc}")))
        return out

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_executor(objective, workers: int = 1, scheduler: str | None = None):
    """Where ``objective``'s evaluations run: a Dask cluster (``scheduler``), ``workers`` > 1
    local processes, or this process. None for an objective that needs no worker (a table)."""
    if objective.task is None:
        return None
    if scheduler:
        return DaskExecutor(objective.task, scheduler)
    if workers > 1:
        return ProcessExecutor(objective.task, workers)
    return InlineExecutor(objective.task)


# --------------------------------------------------------------------------- checkpoint
CHECKPOINT_VERSION = 1


def checkpoint_path(history: str | os.PathLike) -> Path:
    """The checkpoint file beside the history table ``history``."""
    history = Path(history)
    return history.with_name(history.name + ".partial.jsonl")


class SearchCheckpoint:
    """Every charged query of a search, appended to ``<history>.partial.jsonl`` as it finishes.

    The first line describes the run (``run``: whatever determines its numbers); each further
    line is one query, ``{"seed", "n", "asks", "arch", "outcome"}`` (see :func:`run_search`;
    ``graf train`` keeps its checkpoint the same way, as a search of seed 0).
    Lines are written whole and flushed (and, with ``fsync``, forced to disk), so a process
    killed at any moment leaves at most a last line cut short, which :meth:`open` drops.
    ``resume``: an existing checkpoint must describe the same run; without it an existing
    checkpoint is an error (an interrupted run is never discarded by accident).
    """

    def __init__(self, path: Path, records: list[dict], fh, fsync: bool) -> None:
        self.path, self.records, self._fh, self._fsync = path, records, fh, fsync

    @classmethod
    def open(cls, history: str | os.PathLike, run: dict, *, resume: bool, fsync: bool = False,
             kind: str = "graf_search_checkpoint") -> "SearchCheckpoint":
        path = checkpoint_path(history)
        header = {kind: CHECKPOINT_VERSION, "run": run}
        records: list[dict] = []
        if path.exists():
            if not resume:
                raise ValueError(f"found the checkpoint {path} of an interrupted run: pass --resume to continue it, "
                                 "or delete it to start over")
            records = cls._read(path, header)
            fh = open(path, "a", encoding="utf-8")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(path, "w", encoding="utf-8")
        out = cls(path, records, fh, fsync)
        if not records and fh.tell() == 0:
            out._write(header)
        return out

    @staticmethod
    def _read(path: Path, header: dict) -> list[dict]:
        data = path.read_bytes()
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        if not complete:
            path.write_bytes(b"")  # killed before the header was whole
            return []
        try:
            found = json.loads(complete[0])
        except json.JSONDecodeError:
            raise ValueError(f"checkpoint {path} does not start with a header line; delete it to start over") from None
        if found != json.loads(json.dumps(header)):
            diff = sorted(k for k in set(header["run"]) | set((found.get("run") or {}) if isinstance(found, dict) else {})
                          if not isinstance(found, dict) or (found.get("run") or {}).get(k) != header["run"].get(k))
            raise ValueError(f"checkpoint {path} belongs to another run (differs in {', '.join(diff) or 'its header'}); "
                             "delete it to start over, or resume with the same options")
        records, good = [], len(complete[0]) + 1
        for i, raw in enumerate(complete[1:], start=2):
            try:
                rec = json.loads(raw)
                rec["outcome"] = {k: (math.nan if v is None else v) for k, v in rec["outcome"].items()}
                if not {"seed", "n", "asks", "arch"} <= set(rec):
                    raise KeyError
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ValueError(f"checkpoint {path}:{i} is corrupt; delete the file to start over") from None
            records.append(rec)
            good += len(raw) + 1
        if tail:  # a line cut short by a kill: drop it, its query is evaluated again
            with open(path, "r+b") as fh:
                fh.truncate(good)
        return records

    def replay(self, seed: int) -> list[dict]:
        """The recorded queries of ``seed``, in the order they were charged."""
        return [r for r in self.records if r["seed"] == seed]

    def writer(self, seed: int):
        """The ``journal`` callable of :func:`run_search` for ``seed``."""
        return lambda rec: self._write({"seed": seed, **rec})

    def _write(self, obj: dict) -> None:
        clean = json.loads(json.dumps(obj, default=float), parse_constant=lambda c: None)
        self._fh.write(json.dumps(clean, allow_nan=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def remove(self) -> None:
        """The run is complete and its history written: the checkpoint goes."""
        self.close()
        self.path.unlink(missing_ok=True)


SURROGATE_INPUTS = ("graf", "proxies", "zcp")


def surrogate_features(inputs: tuple[str, ...] = ("graf",), data_dir: str | os.PathLike | None = None,
                       proxies_file: str | os.PathLike | None = None, *, space="nb201", archs=None,
                       dataset: str | None = None) -> pd.DataFrame:
    """Predictor inputs, one row per net (index: arch string), built by :func:`graf.features.feature_table`.

    ``archs``: the nets to cover (default: every net of the space, or its valid nets with
    ``zcp``). ``graf``: the space's GRAF features. ``proxies``: the project's own proxy table
    (``proxies_file``, default for nb201 the shipped table of all 15625 nets), NaN where a proxy
    failed (e.g. for a net whose input never reaches its output). ``zcp``: the published
    NB-Suite-Zero proxies (for ``dataset``'s task where the benchmark has several), which
    restricts the table to the nets that have them (NB201: the 9445 valid nets). Columns are in
    the order graf, proxies, zcp whatever the order of ``inputs``.
    """
    from graf.spaces import get_space

    space = get_space(space)
    unknown = set(inputs) - set(SURROGATE_INPUTS)
    if unknown or not inputs:
        raise ValueError(f"unknown surrogate inputs {sorted(unknown) or inputs}; available: {', '.join(SURROGATE_INPUTS)}")
    groups = [g for g in SURROGATE_INPUTS if g in inputs]
    if archs is None:
        archs = space.valid_archs() if "zcp" in groups else space.enumerate()
    archs = [space.parse(a) for a in archs]
    if "zcp" in groups:
        from graf.data.benchmarks import get_benchmark

        covered = set(get_benchmark(space).published_proxies(dataset, data_dir)[0].index)
        archs = [a for a in archs if str(a) in covered]
    if "proxies" in groups:
        from graf.data.paths import default_proxies_file

        try:
            proxies_file = default_proxies_file(proxies_file, space)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"surrogate input 'proxies': {exc}; or use --surrogate-inputs graf") from None
    return _features(space, tuple(archs), tuple(groups), data_dir, proxies_file, dataset).copy()


@lru_cache(maxsize=4)
def _features(space, archs: tuple, groups: tuple, data_dir, proxies_file, dataset) -> pd.DataFrame:
    from graf.features import feature_table

    return feature_table(list(archs), groups, space=space, data_dir=data_dir,
                         options={"proxies_file": proxies_file, "proxies_nan": True, "task": dataset})


def make_strategy(algorithm: str, *, seed: int, budget: float = 100, scores=None, features=None,
                  valid_only: bool | None = None, options: dict[str, Any] | None = None, space="nb201",
                  pool=None) -> Strategy:
    """A fresh strategy for ``algorithm`` on ``space`` (optionally restricted to ``pool``).
    For ``naswot`` and ``proxy-rea`` the budget is the number of nets scored by the proxy (no queries);
    ``tenas`` (no queries either) does not use it."""
    opts = dict(options or {})
    opts.update(space=space, pool=pool)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; available: {', '.join(ALGORITHMS)}")
    if algorithm in ("naswot", "area", "proxy-rea") and scores is None:
        raise ValueError(f"{algorithm} needs proxy scores (a score provider)")
    if algorithm in ("naswot", "area", "proxy-rea") and valid_only is None:
        valid_only = scores.valid_only
    if algorithm == "surrogate-rea" and opts.get("scores") is not None and valid_only is None:
        valid_only = opts["scores"].valid_only
    valid_only = bool(valid_only)
    if algorithm == "random":
        return RandomSearch(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "rea":
        return REA(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "area":
        return AREA(scores=scores, seed=seed, valid_only=valid_only, **opts)
    if algorithm == "proxy-rea":
        return ProxyREA(scores=scores, n_steps=int(budget), seed=seed, valid_only=valid_only, **opts)
    if algorithm in ("tpe", "gp"):
        return OptunaSearch(sampler=algorithm, seed=seed, valid_only=valid_only, **opts)
    if algorithm == "reinforce":
        return REINFORCE(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "tenas":  # no queries: the budget is not used
        return TENAS(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "naswot":
        return NASWOT(scores=scores, n_samples=int(budget), seed=seed, valid_only=valid_only, **opts)
    if features is None:
        raise ValueError(f"{algorithm} needs a feature table")
    if algorithm == "surrogate-bo":
        return SurrogateBO(features=features, seed=seed, valid_only=valid_only, **opts)
    return SurrogateREA(features=features, seed=seed, valid_only=valid_only, **opts)
