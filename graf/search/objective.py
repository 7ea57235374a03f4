"""The search objectives: reading a net's accuracy from the space's benchmark table, or training it.

:class:`BenchmarkObjective` answers a query with the *target* column (the search signal,
e.g. a validation accuracy), charges its cost once per distinct architecture (a repeated
query is answered from the cache and costs nothing: the net has already been trained), and
records the history. The *test* column is never shown to the strategy; it is read only to
report the returned architecture, as in DESIGN §6. The columns come from the space's search
dataset (:attr:`graf.spaces.base.Space.datasets`); only nets with a value in them can be
queried (:attr:`BenchmarkObjective.archs`).

:class:`TrainObjective` answers a query by training the net (:mod:`proxies.train`, imported
only when a net is trained, so ``graf`` still imports without torch): the target is the
validation accuracy, the reported test accuracy that of a held-out test split, the cost the
wall seconds of the training. A training that fails (a NaN loss, out of memory, a crashed
worker) is a recorded query with a NaN target and its ``error``; the search loop tells the
strategy the worst value seen so far instead (:func:`graf.search.runner.run_search`).

Both objectives share one protocol, which :func:`graf.search.runner.run_search` drives:
``lookup(key)`` answers at once when it can (the table; an earlier training in this run),
``task`` is the picklable ``(function, argument)`` a worker calls as ``function(key,
argument)`` otherwise, and ``record(key, outcome)`` charges the query. An outcome is a dict
``{"target", "test", "seconds", "error"}``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BenchmarkObjective", "TrainObjective", "Query", "failed_outcome"]


@dataclass(frozen=True)
class Query:
    order: int
    arch: str
    target: float
    test: float
    seconds: float
    error: str = ""


def failed_outcome(error: str, seconds: float = 0.0) -> dict:
    """The outcome of a query whose evaluation failed: NaN values and the reason."""
    return {"target": math.nan, "test": math.nan, "seconds": float(seconds), "error": error or "failed"}


class _QueryLog:
    """Bookkeeping shared by the objectives: charged queries, their seconds, the history."""

    #: whether the history has an ``error`` column (objectives whose queries can fail)
    records_errors = False

    def reset(self) -> None:
        """Forget all queries (a fresh run)."""
        self.queries = 0
        self.seconds = 0.0
        self.history: list[Query] = []
        self._seen: dict[str, float] = {}

    def known(self, key: str) -> bool:
        """Whether ``key`` was already charged in this run (its value is :meth:`cached`)."""
        return key in self._seen

    def cached(self, key: str) -> float:
        """The value of an already charged query (NaN when it failed)."""
        return self._seen[key]

    def record(self, key: str, outcome: dict) -> float:
        """Charge one query of ``key`` with ``outcome``; its target (NaN when it failed)."""
        value = float(outcome["target"])
        self.queries += 1
        self.seconds += float(outcome["seconds"])
        self._seen[key] = value
        self.history.append(Query(self.queries, key, value, float(outcome["test"]), self.seconds,
                                  str(outcome.get("error") or "")))
        return value

    def best(self) -> str | None:
        """The queried architecture with the best target (first one on ties; failed queries
        never), or None."""
        values = np.array([q.target for q in self.history], dtype=float)
        if not np.isfinite(values).any():
            return None
        return self.history[int(np.nanargmax(np.where(np.isfinite(values), values, np.nan)))].arch

    def history_frame(self) -> pd.DataFrame:
        """Queries in order: ``order``, ``arch``, ``target``, ``test``, ``seconds`` (cumulative),
        ``best_target`` and ``best_test`` (test accuracy of the best-target net so far; NaN
        before the first successful query), and ``error`` for objectives whose queries can fail."""
        columns = ["order", "arch", "target", "test", "seconds"] + (["error"] if self.records_errors else [])
        df = pd.DataFrame([{k: getattr(q, k) for k in columns} for q in self.history], columns=columns)
        if len(df):
            target = df["target"].astype(float)
            best_idx = target.notna() & target.cummax().eq(target) & target.ne(target.shift().cummax())
            # position of the running argmax (first occurrence on ties)
            pos = pd.Series(np.where(best_idx, np.arange(len(df)), np.nan)).ffill()
            valid = pos.notna().to_numpy()
            pos = pos.fillna(0).astype(int).to_numpy()
            df["best_target"] = np.where(valid, target.to_numpy()[pos], np.nan)
            df["best_test"] = np.where(valid, df["test"].to_numpy(dtype=float)[pos], np.nan)
        else:
            df["best_target"] = pd.Series(dtype=float)
            df["best_test"] = pd.Series(dtype=float)
        return df


class BenchmarkObjective(_QueryLog):
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

    def _key(self, arch: object) -> str:
        key = str(arch)
        if key not in self._target:
            raise ValueError(f"{key!r} is not an architecture of the benchmark table")
        return key

    def __call__(self, arch: object) -> float:
        """The target value of ``arch``; charged (one query + its seconds) only the first time."""
        key = self._key(arch)
        if self.known(key):
            return self.cached(key)
        return self.record(key, self.lookup(key))

    def lookup(self, key: str) -> dict:
        """The outcome of querying ``key``: its table values (never None: the table answers at once)."""
        key = self._key(key)
        return {"target": float(self._target[key]), "test": float(self._test[key]),
                "seconds": float(self._cost[key]), "error": ""}

    #: a table needs no worker
    task = None

    def peek_target(self, arch: object) -> float:
        """The target value without charging a query (reporting only, never for search)."""
        return float(self._target[self._key(arch)])

    def test_accuracy(self, arch: object) -> float:
        """The reported test accuracy of ``arch`` (reporting only, never for search)."""
        return float(self._test[self._key(arch)])



def train_task(key: str, config: dict) -> dict:
    """Train ``key`` with the :class:`proxies.train.TrainConfig` fields ``config``; its outcome
    (what a worker runs: a module-level function, picklable by reference)."""
    from proxies.train import train_outcome

    out = train_outcome(key, config)
    return {"target": out["val_acc"], "test": out["test_acc"], "seconds": out["seconds"], "error": out["error"],
            "train_loss": out["train_loss"]}


class TrainObjective(_QueryLog):
    """Query a net by training it on an image dataset (:mod:`proxies.train`; needs torch).

    Parameters
    ----------
    data: ``"digits"`` (scikit-learn's, the default), an ``.npz`` file or a folder of class
        subfolders of images (:func:`proxies.train.load_images`).
    epochs, C, N, seed: the training's epochs, the network's width and cells per stage, the
        seed of weights and minibatch order; ``options``: further
        :class:`proxies.train.TrainConfig` fields (``batch_size``, ``lr``, ``image_size``, ...).
    reuse: a net trained earlier by this objective (e.g. in an earlier seed of a search) is
        not trained again; its recorded outcome is charged again (training is deterministic
        for the seed on CPU). :attr:`trainings` counts the nets actually trained.

    The target is the validation accuracy (%), the reported test accuracy the test split's,
    the cost the wall seconds of training. The dataset is read once here, so that bad data is
    one error before any work.
    """

    records_errors = True
    target = "val_acc"
    test = "test_acc"
    cost = "seconds"

    def __init__(self, data: str = "digits", *, epochs: int = 1, C: int = 8, N: int = 1, seed: int = 0,
                 space="nb201", reuse: bool = True, **options) -> None:
        from graf.spaces import get_space

        self.space = get_space(space)
        from proxies.train import TrainConfig, load_images

        data = str(data) if str(data) == "digits" else str(Path(data).resolve())  # workers may run elsewhere
        config = TrainConfig(data=data, epochs=epochs, C=C, N=N, seed=seed, space=self.space.name, **options)
        self.images = load_images(config)
        self.config = config.identity() | {"device": config.device}
        self.dataset = "digits" if config.data == "digits" else f"train:{config.data}"
        self.reuse = bool(reuse)
        self.task = (train_task, self.config)
        self._memo: dict[str, dict] = {}
        self.trainings = 0
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.outcomes: dict[str, dict] = {}  # this run's outcomes by arch, failures included

    @property
    def archs(self) -> list[str]:
        """Every net of the space (each can be trained)."""
        everything = self.space.enumerate()
        if everything is None:
            raise ValueError(f"space {self.space.name!r} cannot be enumerated")
        return [str(a) for a in everything]

    def lookup(self, key: str) -> dict | None:
        """The outcome of an earlier training of ``key`` (with ``reuse``), else None: train it."""
        if not self.reuse or key not in self._memo:
            return None
        return self._memo[key] | {"reused": True}

    def record(self, key: str, outcome: dict) -> float:
        if not outcome.get("reused"):
            self.trainings += 1
            if math.isfinite(float(outcome["target"])):  # a failure is retried when asked in a later seed
                self._memo[key] = {k: v for k, v in outcome.items() if k != "reused"}
        self.outcomes[key] = outcome
        return super().record(key, outcome)

    def peek_target(self, arch: object) -> float:
        """The validation accuracy of a trained net (NaN if unknown or failed)."""
        return float(self._memo.get(str(arch), {}).get("target", math.nan))

    def test_accuracy(self, arch: object) -> float:
        """The test-split accuracy of a trained net (NaN if unknown or failed); reporting only."""
        return float(self._memo.get(str(arch), {}).get("test", math.nan))
