"""NB201 benchmark tables: accuracies (any column a target) and the NB201 index order."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.paths import data_file, read_table, resolve_data_dir
from graf.spaces.nb201 import NUM_ARCHS, NB201Arch

__all__ = ["ACCURACY_FILE", "ACCURACY_COLUMNS", "load_nb201_accuracy", "nb201_target", "nb201_index_table", "NB201Index"]

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
    return _load_accuracy(resolve_data_dir(data_dir)).copy()


@lru_cache(maxsize=4)
def _load_accuracy(root: Path) -> pd.DataFrame:
    path = data_file(ACCURACY_FILE, root)
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
    df = _load_accuracy(resolve_data_dir(data_dir))
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
    return _index_table(resolve_data_dir(data_dir))


@lru_cache(maxsize=4)
def _index_table(root: Path) -> NB201Index:
    df = _load_accuracy(root)
    order = df["nb201_index"].sort_values()
    if list(order) != list(range(NUM_ARCHS)):
        raise ValueError(f"{ACCURACY_FILE}: nb201_index must be a permutation of 0..{NUM_ARCHS - 1}")
    return NB201Index(list(order.index))
