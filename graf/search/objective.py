"""The search objective: "training" a net = reading its accuracy from the NB201 table.

:class:`BenchmarkObjective` answers a query with the *target* column (the search signal,
e.g. a validation accuracy), charges its cost once per distinct architecture (a repeated
query is answered from the cache and costs nothing: the net has already been trained), and
records the history. The *test* column is never shown to the strategy; it is read only to
report the returned architecture, as in DESIGN §6.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graf.data.nb201 import load_nb201_accuracy

__all__ = ["DATASETS", "BenchmarkObjective", "dataset_columns"]

#: dataset -> (default target column, test column). CIFAR-10 follows the NASWOT paper's REA
#: (NB201's 12-epoch validation accuracy); there is no 12-epoch column for CIFAR-100 and
#: ImageNet16-120 in the table, so they use NASLib's single-seed validation accuracy.
DATASETS: dict[str, tuple[str, str]] = {
    "cifar10": ("cifar10_valid_12ep", "cifar10_test"),
    "cifar100": ("cifar100_val_naslib", "cifar100_test"),
    "imagenet16": ("imagenet16_val_naslib", "imagenet16_test"),
}
COST_COLUMN = "cifar10_train_seconds_12ep"


def dataset_columns(dataset: str, target: str | None = None, test: str | None = None) -> tuple[str, str]:
    """The (target, test) columns for ``dataset``; explicit columns override the defaults."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; available: {', '.join(DATASETS)}")
    default_target, default_test = DATASETS[dataset]
    return target or default_target, test or default_test


@dataclass(frozen=True)
class Query:
    order: int
    arch: str
    target: float
    test: float
    seconds: float


class BenchmarkObjective:
    """Query NB201 accuracies by architecture; counts queries and simulated seconds.

    Parameters
    ----------
    dataset: ``cifar10``, ``cifar100`` or ``imagenet16``.
    target, test: table columns for the search signal and the reported accuracy
        (defaults in :data:`DATASETS`).
    cost: column with the simulated training cost of one query, in seconds.
    table: the accuracy table (index ``arch``); read from ``data_dir`` when omitted.
    """

    def __init__(
        self,
        dataset: str = "cifar10",
        *,
        target: str | None = None,
        test: str | None = None,
        cost: str = COST_COLUMN,
        data_dir: str | os.PathLike | None = None,
        table: pd.DataFrame | None = None,
    ) -> None:
        self.dataset = dataset
        self.target, self.test = dataset_columns(dataset, target, test)
        self.cost = cost
        table = load_nb201_accuracy(data_dir) if table is None else table
        for role, col in (("target", self.target), ("test", self.test), ("cost", self.cost)):
            if col not in table.columns or col == "nb201_index":
                choices = ", ".join(c for c in table.columns if c != "nb201_index")
                raise ValueError(f"unknown {role} column {col!r}; available: {choices}")
        self._target = table[self.target].to_dict()
        self._test = table[self.test].to_dict()
        self._cost = table[self.cost].to_dict()
        self.reset()

    def reset(self) -> None:
        """Forget all queries (a fresh run)."""
        self.queries = 0
        self.seconds = 0.0
        self.history: list[Query] = []
        self._seen: dict[str, float] = {}

    def _key(self, arch: object) -> str:
        key = str(arch)
        if key not in self._target:
            raise ValueError(f"{key!r} is not an architecture of the benchmark table")
        return key

    def __call__(self, arch: object) -> float:
        """The target value of ``arch``; charged (one query + its seconds) only the first time."""
        key = self._key(arch)
        if key in self._seen:
            return self._seen[key]
        value = float(self._target[key])
        self.queries += 1
        self.seconds += float(self._cost[key])
        self._seen[key] = value
        self.history.append(Query(self.queries, key, value, float(self._test[key]), self.seconds))
        return value

    def cost_of(self, arch: object) -> float:
        """Seconds a first query of ``arch`` would cost (0 if already queried)."""
        key = self._key(arch)
        return 0.0 if key in self._seen else float(self._cost[key])

    def peek_target(self, arch: object) -> float:
        """The target value without charging a query (reporting only, never for search)."""
        return float(self._target[self._key(arch)])

    def test_accuracy(self, arch: object) -> float:
        """The reported test accuracy of ``arch`` (reporting only, never for search)."""
        return float(self._test[self._key(arch)])

    def best(self) -> str | None:
        """The queried architecture with the best target (first one on ties), or None."""
        if not self.history:
            return None
        values = np.array([q.target for q in self.history])
        return self.history[int(np.argmax(values))].arch

    def history_frame(self) -> pd.DataFrame:
        """Queries in order: ``order``, ``arch``, ``target``, ``test``, ``seconds`` (cumulative),
        ``best_target`` and ``best_test`` (test accuracy of the best-target net so far)."""
        df = pd.DataFrame([q.__dict__ for q in self.history], columns=["order", "arch", "target", "test", "seconds"])
        if len(df):
            best_idx = df["target"].cummax().eq(df["target"]) & df["target"].ne(df["target"].shift().cummax())
            # position of the running argmax (first occurrence on ties)
            pos = pd.Series(np.where(best_idx, np.arange(len(df)), np.nan)).ffill().astype(int).to_numpy()
            df["best_target"] = df["target"].to_numpy()[pos]
            df["best_test"] = df["test"].to_numpy()[pos]
        else:
            df["best_target"] = pd.Series(dtype=float)
            df["best_test"] = pd.Series(dtype=float)
        return df
