"""NAS-Bench-101 benchmark file: NASLib's ``zc_nasbench101.json`` (NAS-Bench-Suite-Zero).

500 keys on CIFAR-10, each with ``val_accuracy`` and 11 zero-cost proxies (``epe_nas``,
``fisher``, ``flops``, ``grad_norm``, ``grasp``, ``jacov``, ``l2_norm``, ``params``, ``plain``,
``snip``, ``synflow``; no ``nwot``, no ``zen``), read with
:func:`graf.data.naslib.read_naslib_zc`. Keys are NASLib's 56-tuples of *unpruned* 7-node
specs; pruned and canonicalised (:class:`graf.spaces.nb101.NB101Arch`) they are **292 distinct
cells**: 208 keys repeat a cell already listed (isomorphic or differing only in dead nodes),
with a different training seed's ``val_accuracy`` and proxies of a differently ordered or
initialised network. The table keeps one row per cell, in the order of first appearance,
with every column averaged over the cell's keys; :func:`load_nb101_keys` gives the keys
one by one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.benchmarks import register_benchmark
from graf.data.naslib import NaslibValBenchmark, canonical_keys, read_naslib_zc, score_columns
from graf.data.paths import data_file
from graf.spaces.nb101 import NB101Arch

__all__ = ["NASLIB_FILE", "TARGET", "load_nb101", "load_nb101_keys", "NB101Benchmark"]

NASLIB_FILE = "NASLib/zc_nasbench101.json"
TARGET = "val_accuracy"


def load_nb101_keys(data_dir: "str | os.PathLike | None" = None) -> pd.DataFrame:
    """Every key of the file: index ``key`` (the 56-tuple as written), column ``arch`` (canonical), values."""
    return _keys(data_file(NASLIB_FILE, data_dir)).copy()


def load_nb101(data_dir: "str | os.PathLike | None" = None) -> pd.DataFrame:
    """One row per distinct cell (index ``arch``, first-appearance order), values averaged over its keys."""
    return _table(data_file(NASLIB_FILE, data_dir)).copy()


@lru_cache(maxsize=4)
def _keys(path: Path) -> pd.DataFrame:
    raw = read_naslib_zc(path)
    archs = canonical_keys(raw, NB101Arch.parse, path)
    out = raw[score_columns(raw)].astype(float)
    out.index = pd.Index(raw.index.get_level_values("key"), name="key")
    out.insert(0, "arch", archs)
    return out


@lru_cache(maxsize=4)
def _table(path: Path) -> pd.DataFrame:
    keys = _keys(path)
    return keys.groupby("arch", sort=False).mean()


class NB101Benchmark(NaslibValBenchmark):
    """NASLib's NB101 zero-cost file: one target, ``val_accuracy`` (292 cells)."""

    space = "nb101"
    file = NASLIB_FILE

    def frame(self, data_dir=None) -> pd.DataFrame:
        return _table(data_file(NASLIB_FILE, data_dir))


register_benchmark(NB101Benchmark())
