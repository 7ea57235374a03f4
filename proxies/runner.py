"""The table-building engine: proxies of many networks, in processes or on Dask, resumable.

Each network's row depends only on (seed, architecture) and the run's settings: its weights
are drawn from a generator seeded by (seed, architecture) and the input batch from the seed
alone, and every computation gives the same bits for any number of threads. So rows can be
computed in any order, in any process, on any Dask worker, and a resumed run ends with
exactly the table of an uninterrupted one.

Checkpoint: while a run goes on, every finished row is appended (and flushed to disk) to
the sidecar file ``<out>.partial.jsonl``: a header line describing the run, then one JSON
object per network. ``resume=True`` reads it back, checks that it belongs to the same run,
drops a last line cut short by a crash, and computes only the missing networks. When every
row is there the table is written (atomically) and the sidecar removed.

Failures: a proxy that has no finite value for a network (or raises) gives NaN in its column
and a message in the ``error`` column (``""`` when every proxy succeeded).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from graf import interrupt

__all__ = [
    "RunConfig",
    "RunResult",
    "compute_row",
    "run_proxies",
    "checkpoint_path",
    "CheckpointError",
]

CHECKPOINT_VERSION = 1
ERROR_COLUMN = "error"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a network's row depends on, besides its architecture."""

    proxies: tuple[str, ...]
    seed: int = 0
    batch_size: int = 64
    num_classes: int = 10
    C: int | None = None  # None: the space's network default (proxies.network.NETWORK_DEFAULTS; nb201 16, nb301 32)
    N: int | None = None  # None: likewise (nb201 5 cells per stage, nb301 2)
    synthetic: bool = False
    space: str = "nb201"
    data_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        from proxies.registry import available

        if not self.proxies:
            raise ValueError("no proxy requested")
        from graf.spaces import get_space
        from proxies.network import network_builder

        network_builder(get_space(self.space).name)  # unknown space, or one without a network: a clear error
        from proxies.network import network_defaults

        for name, value in network_defaults(get_space(self.space).name).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        names = available()
        unknown = [p for p in self.proxies if p not in names]
        if unknown:
            raise ValueError(f"unknown proxy {unknown[0]!r}; available: {', '.join(names)}")
        if len(set(self.proxies)) != len(self.proxies):
            raise ValueError(f"proxy names repeat: {', '.join(self.proxies)}")
        for name in ("seed", "batch_size", "num_classes", "C", "N"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an int, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        for name in ("batch_size", "num_classes", "C", "N"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def identity(self) -> dict[str, Any]:
        """The settings that determine the numbers (not where the data lives)."""
        out = asdict(self)
        out.pop("data_dir")
        if self.space == "nb201":  # NB201 checkpoints from before spaces were named stay valid
            out.pop("space")
        out["proxies"] = list(self.proxies)
        return out


@lru_cache(maxsize=4)
def _batch(batch_size: int, seed: int, data_dir: str | None, synthetic: bool):
    from proxies.batch import input_batch

    return input_batch(batch_size, seed, data_dir=data_dir, synthetic=synthetic)


def _needs_batch(config: RunConfig) -> bool:
    from proxies.registry import get_proxy

    return any(get_proxy(p).uses_batch for p in config.proxies)


def load_batch(config: RunConfig):
    """The run's input batch (cached per process); ``None`` when no requested proxy uses data."""
    if not _needs_batch(config):
        return None
    return _batch(config.batch_size, config.seed, config.data_dir, config.synthetic)


def compute_row(arch: str, config: RunConfig) -> dict[str, Any]:
    """One network's row: ``{"arch": str, proxy: float (NaN on failure)..., "error": str}``.

    Errors of individual proxies are recorded, never raised; an architecture that cannot be
    parsed raises ValueError (the caller validates architectures up front).
    """
    from graf.spaces import get_space
    from proxies.network import network_builder
    from proxies.registry import compute_proxies

    arch_obj = get_space(config.space).parse(arch)
    row: dict[str, Any] = {"arch": str(arch_obj)}
    batch = load_batch(config)
    try:
        net = network_builder(config.space)(arch_obj, seed=config.seed, C=config.C, N=config.N, num_classes=config.num_classes)
        results = compute_proxies(net, batch, config.proxies, seed=config.seed)
    except (ValueError, RuntimeError) as exc:  # the network itself could not be built or run
        results = {p: exc for p in config.proxies}
    errors = []
    for name in config.proxies:
        value = results[name]
        if isinstance(value, BaseException):
            row[name] = math.nan
            message = str(value) or type(value).__name__
            errors.append(message if message.startswith(f"{name}:") else f"{name}: {message}")
        else:
            row[name] = float(value)
    row[ERROR_COLUMN] = "; ".join(errors)
    return row


# --------------------------------------------------------------------------- checkpoint
def checkpoint_path(out: str | os.PathLike) -> Path:
    """The sidecar checkpoint file of the table ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".partial.jsonl")


def _archs_digest(archs: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(archs).encode()).hexdigest()


def _header(config: RunConfig, archs: Sequence[str]) -> dict[str, Any]:
    return {
        "graf_proxies_checkpoint": CHECKPOINT_VERSION,
        "config": config.identity(),
        "archs": len(archs),
        "archs_sha256": _archs_digest(archs),
    }


def _encode_row(row: dict[str, Any]) -> str:
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
    return json.dumps(clean, allow_nan=False, separators=(",", ":"))


def _decode_row(line: str, config: RunConfig) -> dict[str, Any]:
    row = json.loads(line)
    if not isinstance(row, dict) or "arch" not in row or ERROR_COLUMN not in row:
        raise ValueError("not a row")
    for name in config.proxies:
        value = row.get(name)
        row[name] = math.nan if value is None else float(value)
    return row


def read_checkpoint(path: Path, config: RunConfig, archs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows already computed, by arch. A last line cut short by a crash is removed from the file."""
    with open(path, "rb") as fh:
        data = fh.read()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # ``tail`` is b"" when the file ends with a newline
    if not complete:
        raise CheckpointError(f"checkpoint {path} has no complete header line; delete it to start over")
    try:
        header = json.loads(complete[0])
    except json.JSONDecodeError:
        raise CheckpointError(f"checkpoint {path} does not start with a header line; delete it to start over") from None
    expected = _header(config, archs)
    if header != expected:
        diff = [k for k in expected if header.get(k) != expected[k]] if isinstance(header, dict) else ["header"]
        if "config" in diff and isinstance(header, dict) and isinstance(header.get("config"), dict):
            diff = [f"config.{k}" for k in expected["config"] if header["config"].get(k) != expected["config"][k]]
        raise CheckpointError(
            f"checkpoint {path} belongs to a different run (differs in {', '.join(diff)}); rerun with the same "
            "architectures and settings, or delete it to start over"
        )
    wanted = set(archs)
    rows: dict[str, dict[str, Any]] = {}
    good_bytes = len(complete[0]) + 1
    for i, raw in enumerate(complete[1:], start=2):
        try:
            row = _decode_row(raw.decode(), config)
        except (ValueError, UnicodeDecodeError):
            raise CheckpointError(f"checkpoint {path} line {i} is corrupt; delete the file to start over") from None
        if row["arch"] not in wanted:
            raise CheckpointError(f"checkpoint {path} line {i} holds {row['arch']}, which is not in this run")
        rows[row["arch"]] = row
        good_bytes += len(raw) + 1
    if tail:  # a row cut short while being written: drop it, it will be recomputed
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
    return rows


class _CheckpointWriter:
    def __init__(self, path: Path, header: dict[str, Any] | None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a" if header is None else "w", encoding="utf-8")
        if header is not None:
            self._write(json.dumps(header, separators=(",", ":")))

    def _write(self, line: str) -> None:
        self.fh.write(line + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, row: dict[str, Any]) -> None:
        self._write(_encode_row(row))

    def close(self) -> None:
        self.fh.close()


# --------------------------------------------------------------------------- execution
def _worker_init(threads: int) -> None:
    """Initializer of the worker processes this module starts (and only of those).

    Each of ``jobs`` workers gets ``cpu_count // jobs`` intra-op threads (at least 1) so the
    workers do not oversubscribe the cores; the numbers do not depend on it (see module doc).
    """
    import torch

    torch.set_num_threads(threads)


def _iter_local(archs: Sequence[str], config: RunConfig, jobs: int) -> Iterator[dict[str, Any]]:
    if jobs == 1:
        for arch in archs:
            yield compute_row(arch, config)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # ≈ 0.12 s to import: only here

    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(threads,)) as pool:
        pending: set = set()
        it = iter(archs)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * jobs:
                    try:
                        pending.add(pool.submit(compute_row, next(it), config))
                    except StopIteration:
                        exhausted = True
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _iter_dask(archs: Sequence[str], config: RunConfig, scheduler: str, timeout: float) -> Iterator[dict[str, Any]]:
    from graf.optional import require

    distributed = require("distributed", needed_for="--scheduler", install="pip install 'graf-nas[proxies]'")
    Client, as_completed = distributed.Client, distributed.as_completed
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    try:
        token = hashlib.sha256(json.dumps(config.identity(), sort_keys=True).encode()).hexdigest()[:16]
        futures = [
            client.submit(compute_row, arch, config, key=f"graf-proxies-{token}-{hashlib.sha1(arch.encode()).hexdigest()}")
            for arch in archs
        ]
        try:
            for future in as_completed(futures, loop=client.loop):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
    finally:
        client.close()


@dataclass
class RunResult:
    table: Any  # pandas.DataFrame
    computed: int  # rows computed in this call
    resumed: int  # rows read from the checkpoint
    seconds: float


def _table(archs: Sequence[str], rows: dict[str, dict[str, Any]], config: RunConfig):
    import pandas as pd

    data = {name: [rows[a][name] for a in archs] for name in config.proxies}
    data[ERROR_COLUMN] = [rows[a][ERROR_COLUMN] for a in archs]
    table = pd.DataFrame(data, index=pd.Index(list(archs), name="arch"))
    for name in config.proxies:
        table[name] = table[name].astype("float64")
    table[ERROR_COLUMN] = table[ERROR_COLUMN].astype(object)
    return table


def run_proxies(
    archs: Iterable[Any],
    config: RunConfig,
    out: str | os.PathLike,
    *,
    jobs: int = 1,
    resume: bool = False,
    scheduler: str | None = None,
    progress: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    scheduler_timeout: float = 30.0,
    finish: Callable[[Any], Any] | None = None,
) -> RunResult:
    """Compute ``config.proxies`` of every architecture and write the table to ``out``.

    ``archs``: architectures of ``config.space`` (anything its ``parse`` accepts); duplicates are
    kept once and reported (``Space.unique``). ``jobs``: worker processes (1: in this
    process). ``scheduler``: a Dask scheduler address; the rows are then computed on that
    cluster (connecting waits at most ``scheduler_timeout`` seconds). ``resume``: continue from
    ``<out>.partial.jsonl``. Without ``resume`` an existing checkpoint is an error (so that an
    interrupted run is never discarded by accident). ``finish``: applied to the complete table
    before it is written; the result holds the written table.
    """
    from graf.spaces import get_space
    from graf.tables import check_table_path, write_table

    start = time.perf_counter()
    out = check_table_path(out)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}")
    space = get_space(config.space)
    names = [str(a) for a in space.unique(archs)]
    if not names:
        raise ValueError("no architectures to compute")
    if not config.synthetic and _needs_batch(config):
        from proxies.batch import cifar10_indices

        cifar10_indices(config.batch_size, config.seed, config.data_dir)  # fail early: missing data, batch too big
    ckpt = checkpoint_path(out)
    rows: dict[str, dict[str, Any]] = {}
    if ckpt.exists():
        if not resume:
            raise CheckpointError(
                f"found the checkpoint {ckpt} of an interrupted run: pass --resume to continue it, or delete it to "
                "start over"
            )
        rows = read_checkpoint(ckpt, config, names)
    resumed = len(rows)
    todo = [a for a in names if a not in rows]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(names), initial=resumed, unit="net", desc="proxies", dynamic_ncols=True)
    fresh = not rows
    writer = _CheckpointWriter(ckpt, _header(config, names) if fresh else None)
    appended = 0
    try:
        source = _iter_dask(todo, config, scheduler, scheduler_timeout) if scheduler else _iter_local(todo, config, jobs)
        for row in source:
            interrupt.check()  # a stop a library swallowed while this net ran: the net is not kept
            rows[row["arch"]] = row
            writer.append(row)
            appended += 1
            if bar is not None:
                bar.update(1)
            if on_row is not None:
                on_row(row)
    except BaseException:
        if fresh and appended == 0:  # nothing computed (e.g. no scheduler): leave no checkpoint behind
            writer.close()
            ckpt.unlink(missing_ok=True)
        raise
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    table = _table(names, rows, config)
    if finish is not None:
        table = finish(table)
    write_table(table, out)
    ckpt.unlink()
    return RunResult(table=table, computed=len(todo), resumed=resumed, seconds=time.perf_counter() - start)
