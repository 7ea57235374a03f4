"""The search objective: "training" a net = reading its accuracy from the space's benchmark table.

:class:`BenchmarkObjective` answers a query with the *target* column (the search signal,
e.g. a validation accuracy), charges its cost once per distinct architecture (a repeated
query is answered from the cache and costs nothing: the net has already been trained), and
records the history. The *test* column is never shown to the strategy; it is read only to
report the returned architecture, as in DESIGN §6. The columns come from the space's search
dataset (:attr:`graf.spaces.base.Space.datasets`); only nets with a value in them can be
queried (:attr:`BenchmarkObjective.archs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BenchmarkObjective", "Query"]


@dataclass(frozen=True)
class Query:
    order: int
    arch: str
    target: float
    test: float
    seconds: float


class BenchmarkObjective:
    """Query a space's benchmark values by architecture; counts queries and simulated seconds.

    Parameters
    ----------
    dataset: a search dataset of the space (NB201: ``cifar10``, ``cifar100``, ``imagenet16``;
        TNB101 micro: a task); default the space's ``default_dataset``.
    space: the search space (name or Space), default ``nb201``.
    target, test, cost: table columns for the search signal, the reported accuracy and the
        simulated training seconds of one query (defaults: the dataset's; a dataset without a
        cost column charges 0 seconds).
    table: the benchmark table (index ``arch``); read from ``data_dir`` when omitted.
    """

    def __init__(
        self,
        dataset: str | None = None,
        *,
        space="nb201",
        target: str | None = None,
        test: str | None = None,
        cost: str | None = None,
        data_dir: str | os.PathLike | None = None,
        table: pd.DataFrame | None = None,
    ) -> None:
        from graf.spaces import get_space

        self.space = get_space(space)
        ds = self.space.dataset(dataset)
        self.dataset = ds.name
        self.target, self.test, self.cost = target or ds.target, test or ds.test, cost or ds.cost
        if table is None:
            from graf.data.benchmarks import get_benchmark

            table = get_benchmark(self.space).table(data_dir)
        roles = [("target", self.target), ("test", self.test)] + ([("cost", self.cost)] if self.cost else [])
        for role, col in roles:
            if col not in table.columns or col == "nb201_index":
                choices = ", ".join(c for c in table.columns if c != "nb201_index")
                raise ValueError(f"unknown {role} column {col!r}; available: {choices}")
        columns = list(dict.fromkeys(col for _, col in roles))
        known = table[columns].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)
        if not known.any():
            raise ValueError(f"no architecture has values in all of {', '.join(columns)}")
        table = table.loc[known]
        self._target = table[self.target].astype(float).to_dict()
        self._test = table[self.test].astype(float).to_dict()
        self._cost = table[self.cost].astype(float).to_dict() if self.cost else dict.fromkeys(self._target, 0.0)
        self.reset()

    @property
    def archs(self) -> list[str]:
        """Canonical strings of the nets that can be queried (those with values), in table order."""
        return list(self._target)

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
