"""NAS-Bench-301 (DARTS) benchmark file: NASLib's ``zc_nasbench301.json`` (NAS-Bench-Suite-Zero).

725 genotypes on CIFAR-10, each with ``val_accuracy`` (NB301's surrogate prediction) and 12
zero-cost proxies (``flops``, ``params``, ``synflow``, ``grasp``, ``fisher``, ``grad_norm``,
``l2_norm``, ``plain``, ``nwot``, ``epe_nas``, ``jacov``, ``snip``; no ``zen``), read with
:func:`graf.data.naslib.read_naslib_zc`. Keys are NASLib's compact genotypes; the table's
index is their canonical string (:class:`graf.spaces.nb301.NB301Arch`, each node's two
pairs sorted by input), and the 725 keys are 725 distinct genotypes. The protocol uses all
of them, in file order. The published ``nwot`` and ``jacov`` were computed on batches of 32
images (``jacov`` is about ``-32``, one term per sample): compare own proxies at
``--batch-size 32``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.benchmarks import register_benchmark
from graf.data.naslib import NaslibValBenchmark, canonical_keys, read_naslib_zc, score_columns
from graf.data.paths import data_file
from graf.spaces.nb301 import NB301Arch

__all__ = ["NASLIB_FILE", "TARGET", "NB301Benchmark", "load_nb301"]

NASLIB_FILE = "NASLib/zc_nasbench301.json"
TARGET = "val_accuracy"


def load_nb301(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The file as one table: index ``arch`` (canonical), ``val_accuracy`` and the proxies' scores."""
    return _table(data_file(NASLIB_FILE, data_dir)).copy()


@lru_cache(maxsize=4)
def _table(path: Path) -> pd.DataFrame:
    """:func:`load_nb301`, read and parsed once per file (callers must not modify it)."""
    raw = read_naslib_zc(path)
    archs = canonical_keys(raw, NB301Arch.parse, path)
    out = raw[score_columns(raw)].copy()
    out.index = pd.Index(archs, name="arch")
    if out.index.has_duplicates:
        raise ValueError(f"{path}: architecture {out.index[out.index.duplicated()][0]} appears twice")
    return out


class NB301Benchmark(NaslibValBenchmark):
    """NASLib's NB301 zero-cost file: one target, ``val_accuracy`` (725 genotypes)."""

    space = "nb301"
    file = NASLIB_FILE

    def frame(self, data_dir=None) -> pd.DataFrame:
        return _table(data_file(NASLIB_FILE, data_dir))


register_benchmark(NB301Benchmark())
