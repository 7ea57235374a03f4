"""The search loop and the algorithm registry used by ``graf search`` and the benchmarks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from graf.search.objective import BenchmarkObjective
from graf.search.strategies import AREA, NASWOT, REA, REINFORCE, OptunaSearch, ProxyREA, RandomSearch, Strategy, SurrogateBO, SurrogateREA

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "BUDGET_UNITS", "SearchResult", "run_search", "make_strategy", "surrogate_features",
           "SURROGATE_INPUTS"]

#: the default of ``graf search``
DEFAULT_ALGORITHM = "surrogate-bo"
ALGORITHMS = ("surrogate-bo", "random", "naswot", "rea", "area", "surrogate-rea", "reinforce", "tpe", "proxy-rea")
BUDGET_UNITS = ("queries", "seconds")


@dataclass
class SearchResult:
    arch: str
    target: float
    test: float
    queries: int
    seconds: float
    history: pd.DataFrame = field(repr=False)


def run_search(strategy: Strategy, objective: BenchmarkObjective, budget: float, *, unit: str = "queries",
               max_asks: int | None = None) -> SearchResult:
    """Ask, query, tell until the budget is spent; return the best-target queried net.

    ``unit="queries"``: exactly ``budget`` distinct nets are queried (a repeated ask is
    answered from the objective's cache and is free). ``unit="seconds"``: nets are queried
    while the simulated training time spent is below ``budget`` (the last one may overshoot,
    as in NB201's REA). A query-free strategy (NASWOT) is not run against the objective; its
    recommendation is reported with ``queries == 0``. ``max_asks`` (default ``100 * budget``
    queries, or 100 000) stops a strategy that keeps re-asking queried nets.
    """
    if unit not in BUDGET_UNITS:
        raise ValueError(f"unknown budget unit {unit!r}; available: {', '.join(BUDGET_UNITS)}")
    if not budget > 0:
        raise ValueError(f"budget must be > 0, got {budget}")
    if unit == "queries" and int(budget) != budget:
        raise ValueError(f"a query budget must be a whole number, got {budget}")
    objective.reset()
    if not strategy.uses_queries:
        arch = str(strategy.recommend())
    else:
        limit = max_asks or (100 * int(budget) if unit == "queries" else 100_000)
        spent = (lambda: objective.queries) if unit == "queries" else (lambda: objective.seconds)
        asks = 0
        while spent() < budget and asks < limit:
            arch_obj = strategy.ask()
            strategy.tell(arch_obj, objective(arch_obj))
            asks += 1
        arch = objective.best()
    return SearchResult(arch, objective.peek_target(arch), objective.test_accuracy(arch), objective.queries,
                        objective.seconds, objective.history_frame())


SURROGATE_INPUTS = ("graf", "proxies", "zcp")


def surrogate_features(inputs: tuple[str, ...] = ("graf",), data_dir: str | os.PathLike | None = None,
                       proxies_file: str | os.PathLike | None = None, *, space="nb201", archs=None,
                       dataset: str | None = None) -> pd.DataFrame:
    """Predictor inputs, one row per net (index: arch string), built by :func:`graf.features.feature_table`.

    ``archs``: the nets to cover (default: every net of the space, or its valid nets with
    ``zcp``). ``graf``: the space's GRAF features. ``proxies``: the project's own proxy table
    (``proxies_file``, default for nb201 the shipped table of all 15625 nets), NaN where a proxy
    failed (e.g. for a net whose input never reaches its output). ``zcp``: the published
    NB-Suite-Zero proxies (for ``dataset``'s task where the benchmark has several), which
    restricts the table to the nets that have them (NB201: the 9445 valid nets). Columns are in
    the order graf, proxies, zcp whatever the order of ``inputs``.
    """
    from graf.spaces import get_space

    space = get_space(space)
    unknown = set(inputs) - set(SURROGATE_INPUTS)
    if unknown or not inputs:
        raise ValueError(f"unknown surrogate inputs {sorted(unknown) or inputs}; available: {', '.join(SURROGATE_INPUTS)}")
    groups = [g for g in SURROGATE_INPUTS if g in inputs]
    if archs is None:
        archs = space.valid_archs() if "zcp" in groups else space.enumerate()
    archs = [space.parse(a) for a in archs]
    if "zcp" in groups:
        from graf.data.benchmarks import get_benchmark

        covered = set(get_benchmark(space).published_proxies(dataset, data_dir)[0].index)
        archs = [a for a in archs if str(a) in covered]
    if "proxies" in groups:
        from graf.data.paths import default_proxies_file

        try:
            proxies_file = default_proxies_file(proxies_file, space)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"surrogate input 'proxies': {exc}; or use --surrogate-inputs graf") from None
    return _features(space, tuple(archs), tuple(groups), data_dir, proxies_file, dataset).copy()


@lru_cache(maxsize=4)
def _features(space, archs: tuple, groups: tuple, data_dir, proxies_file, dataset) -> pd.DataFrame:
    from graf.features import feature_table

    return feature_table(list(archs), groups, space=space, data_dir=data_dir,
                         options={"proxies_file": proxies_file, "proxies_nan": True, "task": dataset})


def make_strategy(algorithm: str, *, seed: int, budget: float = 100, scores=None, features=None,
                  valid_only: bool | None = None, options: dict[str, Any] | None = None, space="nb201",
                  pool=None) -> Strategy:
    """A fresh strategy for ``algorithm`` on ``space`` (optionally restricted to ``pool``).
    For ``naswot`` and ``proxy-rea`` the budget is the number of nets scored by the proxy (no queries)."""
    opts = dict(options or {})
    opts.update(space=space, pool=pool)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; available: {', '.join(ALGORITHMS)}")
    if algorithm in ("naswot", "area", "proxy-rea") and scores is None:
        raise ValueError(f"{algorithm} needs proxy scores (a score provider)")
    if algorithm in ("naswot", "area", "proxy-rea") and valid_only is None:
        valid_only = scores.valid_only
    if algorithm == "surrogate-rea" and opts.get("scores") is not None and valid_only is None:
        valid_only = opts["scores"].valid_only
    valid_only = bool(valid_only)
    if algorithm == "random":
        return RandomSearch(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "rea":
        return REA(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "area":
        return AREA(scores=scores, seed=seed, valid_only=valid_only, **opts)
    if algorithm == "proxy-rea":
        return ProxyREA(scores=scores, n_steps=int(budget), seed=seed, valid_only=valid_only, **opts)
    if algorithm == "tpe":
        return OptunaSearch(sampler="tpe", seed=seed, valid_only=valid_only, **opts)
    if algorithm == "reinforce":
        return REINFORCE(seed=seed, valid_only=valid_only, **opts)
    if algorithm == "naswot":
        return NASWOT(scores=scores, n_samples=int(budget), seed=seed, valid_only=valid_only, **opts)
    if features is None:
        raise ValueError(f"{algorithm} needs a feature table")
    if algorithm == "surrogate-bo":
        return SurrogateBO(features=features, seed=seed, valid_only=valid_only, **opts)
    return SurrogateREA(features=features, seed=seed, valid_only=valid_only, **opts)
