"""Benchmark data per search space: one :class:`Benchmark` each, registered by space name.

A space (:mod:`graf.spaces`) names its search datasets' columns; its benchmark here reads the
files behind them. Everything is indexed by the space's canonical architecture string.

* :meth:`Benchmark.targets` -- every prediction target;
* :meth:`Benchmark.target` -- one target as a Series over the nets that have it, and its file;
* :meth:`Benchmark.default_nets` -- the nets the evaluation protocol uses for a target, in
  the row order of their file (the protocol's split permutes row positions);
* :meth:`Benchmark.published_proxies` -- NAS-Bench-Suite-Zero's proxies for those nets;
* :meth:`Benchmark.table` -- every column a search objective may read (targets, test
  accuracies, costs), NaN where a net lacks a value.
"""

from __future__ import annotations

import abc
import os

import numpy as np
import pandas as pd

__all__ = ["Benchmark", "BENCHMARKS", "register_benchmark", "get_benchmark"]

DataDir = "str | os.PathLike | None"


class Benchmark(abc.ABC):
    """The benchmark files of one space (set ``space`` to the space's registry name)."""

    space: str
    #: the target a command uses when none is named
    default_target: str

    @abc.abstractmethod
    def targets(self, data_dir: DataDir = None) -> list[str]:
        """Every target name :meth:`target` accepts."""

    @abc.abstractmethod
    def target(self, name: str, data_dir: DataDir = None, *, hw_dataset: str = "cifar10") -> tuple[pd.Series, str]:
        """The target (float, index ``arch``, nets with a value) and its file relative to the data dir."""

    @abc.abstractmethod
    def default_nets(self, target: str, data_dir: DataDir = None) -> list[str]:
        """Canonical strings of the nets the protocol uses for ``target``, in file order."""

    @abc.abstractmethod
    def published_proxies(self, target: str | None, data_dir: DataDir = None) -> tuple[pd.DataFrame, str]:
        """Published zero-cost proxies (index ``arch``, one column each) for ``target``'s data, and the file."""

    @abc.abstractmethod
    def table(self, data_dir: DataDir = None) -> pd.DataFrame:
        """Index ``arch``; every column the space's search datasets may name, NaN where a net has no value."""

    @staticmethod
    def _float_series(series: pd.Series, name: str, source: str = "") -> pd.Series:
        """``series`` as float64 named ``name``; a non-numeric value is an error naming the file and column."""
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if bad.any():
            raise ValueError(
                f"{source or 'benchmark table'}: column {series.name!r} holds non-numeric values "
                f"(e.g. {series[bad].iloc[0]!r} for {series.index[bad][0]})"
            )
        return values.astype(np.float64).rename(name)


#: space name -> its benchmark data.
BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    if benchmark.space in BENCHMARKS:
        raise ValueError(f"benchmark data for space {benchmark.space!r} is already registered")
    BENCHMARKS[benchmark.space] = benchmark
    return benchmark


def get_benchmark(space) -> Benchmark:
    """The benchmark data of ``space`` (a name or a Space)."""
    name = getattr(space, "name", space)
    try:
        return BENCHMARKS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"no benchmark data for space {name!r}; spaces with data: {', '.join(sorted(BENCHMARKS))}"
        ) from None
