"""NASLib / NAS-Bench-Suite-Zero ``zc_*.json`` files, read into a table and written back.

A file nests dictionaries down to one record per architecture::

    {"cifar10": {"(0, 2, 3, 2, 3, 1)": {"idx": "534", "val_accuracy": 86.06,
                                       "synflow": {"score": 41.9, "time": 0.47}, ...}}}

(``zc_nasbench101.json`` has one more level and plain floats instead of score/time).
:func:`read_naslib_zc` flattens this to a DataFrame indexed by (``dataset``, ``key``), where
``dataset`` is the path of outer keys joined with ``/``. A score/time proxy ``p`` becomes the
columns ``p`` and ``p.time``; a plain value stays one column. :func:`write_naslib_zc` is the
exact inverse, and :func:`naslib_frame` turns one of this project's tables (index ``arch``)
into that shape so NASLib users can load it.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from graf.data.benchmarks import Benchmark
from graf.spaces.nb201 import NB201Arch

__all__ = ["read_naslib_zc", "write_naslib_zc", "naslib_frame", "TIME_SUFFIX", "NaslibValBenchmark", "score_columns", "canonical_keys"]

TIME_SUFFIX = ".time"
_RECORD_MARKER = "val_accuracy"


def _open(path: Path, mode: str):
    return gzip.open(path, mode + "t", encoding="utf-8") if path.suffix == ".gz" else open(path, mode, encoding="utf-8")


def _records(node: Mapping[str, Any], prefix: tuple[str, ...], path: Path) -> Iterator[tuple[tuple[str, ...], str, dict]]:
    for key, value in node.items():
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: expected nested objects down to architecture records, found {key!r}: {value!r}")
        if _RECORD_MARKER in value:
            if not prefix:
                raise ValueError(f"{path}: architecture record {key!r} is not inside a dataset object")
            yield prefix, key, dict(value)
        else:
            yield from _records(value, prefix + (key,), path)


def read_naslib_zc(path: str | os.PathLike) -> pd.DataFrame:
    """A NASLib ``zc_*.json[.gz]`` file as a DataFrame indexed by (``dataset``, ``key``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NASLib zero-cost file {path} not found")
    try:
        with _open(path, "r") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{path} is not a NASLib zero-cost JSON file: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    rows, index = [], []
    for prefix, key, record in _records(data, (), path):
        row: dict[str, Any] = {}
        for name, value in record.items():
            if isinstance(value, Mapping):
                if set(value) != {"score", "time"}:
                    raise ValueError(f"{path}: {key!r}/{name!r} must be a number or {{'score', 'time'}}, got {value!r}")
                row[name] = value["score"]
                row[name + TIME_SUFFIX] = value["time"]
            else:
                row[name] = value
        rows.append(row)
        index.append(("/".join(prefix), key))
    if not rows:
        raise ValueError(f"{path}: no architecture records (objects with {_RECORD_MARKER!r}) found")
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["dataset", "key"]))


def score_columns(table: pd.DataFrame) -> list[str]:
    """The value columns of a :func:`read_naslib_zc` table: ``val_accuracy`` and the proxies' scores
    (no ``.time`` columns, no ``idx`` / ``arch`` bookkeeping)."""
    return [c for c in table.columns if not str(c).endswith(TIME_SUFFIX) and c not in ("idx", "arch")]


def canonical_keys(table: pd.DataFrame, parse: Callable[[Any], Any], path) -> list[str]:
    """The canonical string of every ``key`` of a :func:`read_naslib_zc` table, in file order,
    parsed by ``parse`` (a space's ``Arch.parse``); a bad key is a ValueError naming the file."""
    archs = []
    for key in table.index.get_level_values("key"):
        try:
            archs.append(str(parse(key)))
        except ValueError as exc:
            raise ValueError(f"{path}: bad architecture key {key!r}: {exc}") from None
    return archs


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def write_naslib_zc(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table shaped like :func:`read_naslib_zc`'s result as a NASLib ``zc_*.json[.gz]`` file.

    Missing (NaN) cells are left out of their record.
    """
    if list(table.index.names) != ["dataset", "key"]:
        raise ValueError("write_naslib_zc needs a table indexed by ('dataset', 'key'); see naslib_frame()")
    if _RECORD_MARKER not in table.columns:
        raise ValueError(f"write_naslib_zc needs a {_RECORD_MARKER!r} column (NASLib marks records by it)")
    columns = [c for c in table.columns if not str(c).endswith(TIME_SUFFIX)]
    timed = {c for c in columns if c + TIME_SUFFIX in table.columns}
    out: dict[str, Any] = {}
    for (dataset, key), row in zip(table.index, table.to_dict("records")):
        node = out
        for part in str(dataset).split("/"):
            node = node.setdefault(part, {})
        record: dict[str, Any] = {}
        for c in columns:
            value = _plain(row[c])
            if _is_missing(value):
                continue
            record[c] = {"score": value, "time": _plain(row[c + TIME_SUFFIX])} if c in timed else value
        node[str(key)] = record
    path = Path(path)
    with _open(path, "w") as fh:
        json.dump(out, fh)


def naslib_frame(
    table: pd.DataFrame,
    dataset: str,
    *,
    val_accuracy: pd.Series | None = None,
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """This project's table (index ``arch``, NB201 strings) in the shape :func:`write_naslib_zc` writes.

    Keys become NASLib op-index tuples; each column becomes a proxy (``<col>.time`` columns
    are carried along as its time). ``val_accuracy`` (aligned on ``arch``) is required by
    NASLib's format; without it the records get ``NaN`` accuracies, which are left out.
    """
    cols = list(columns) if columns is not None else [c for c in table.columns if c != "error"]
    out = table[cols].copy()
    keys = [NB201Arch.parse(a).to_naslib_str() for a in table.index]
    acc = val_accuracy.reindex(table.index) if val_accuracy is not None else pd.Series(np.nan, index=table.index)
    out.insert(0, _RECORD_MARKER, acc.to_numpy())
    out.index = pd.MultiIndex.from_arrays([[dataset] * len(keys), keys], names=["dataset", "key"])
    return out


class NaslibValBenchmark(Benchmark):
    """A space whose data is one NASLib zero-cost file with one target, ``val_accuracy``.

    Subclasses set ``space`` and ``file`` (relative to the data directory) and implement
    :meth:`frame`: the file as a table indexed by canonical ``arch`` with ``val_accuracy`` and
    the published proxies' scores. The protocol uses every net of the file, in file order.
    """

    default_target = _RECORD_MARKER
    file: str

    def frame(self, data_dir=None) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def targets(self, data_dir=None) -> list[str]:
        return [self.default_target]

    def _check(self, name: str | None) -> None:
        if name not in (None, self.default_target):
            raise ValueError(f"unknown target {name!r} for space {self.space}; available: {self.default_target}")

    def target(self, name: str, data_dir=None, *, hw_dataset: str = "cifar10") -> tuple[pd.Series, str]:
        self._check(name)
        values = self.frame(data_dir)[self.default_target]
        return self._float_series(values, self.default_target, self.file), self.file

    def default_nets(self, target: str, data_dir=None) -> list[str]:
        return list(self.target(target, data_dir)[0].index)

    def published_proxies(self, target: str | None, data_dir=None) -> tuple[pd.DataFrame, str]:
        self._check(target)
        table = self.frame(data_dir)
        return table.drop(columns=[self.default_target]).astype(float), self.file

    def table(self, data_dir=None) -> pd.DataFrame:
        return self.target(self.default_target, data_dir)[0].to_frame()
