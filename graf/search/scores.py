"""Where NASWOT (and other proxy) scores come from: a small provider abstraction.

A provider maps architectures to one float score (higher is better for ``naswot``) and says
which architectures it can score (``valid_only``) and where its numbers come from
(``source``, reported in every search result). :func:`score_provider` picks one:

1. ``table``: the project's own proxy table (``--proxies-file``, default for NB201 the
   table shipped with the package), column ``naswot``; a net whose score failed (NaN in the
   table) scores ``-inf`` and so ranks last;
2. ``compute``: computed on demand with :func:`proxies.runner.run_proxies` (needs the
   ``proxies`` package, i.e. torch, and a network for the space) and cached in a parquet file
   under the user cache directory (:func:`graf.cache.user_cache_dir`), so each net is scored once;
3. ``published``: NAS-Bench-Suite-Zero's published ``nwot`` values, which exist only for the
   valid nets (NB201: 9445); searches using it are restricted to the valid nets and say so.

``auto`` tries 1, then 2, and otherwise fails with an error naming the alternatives.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from graf.cache import user_cache_dir
from graf.data.paths import SHIPPED_PROXY_TABLES, default_proxies_file
from graf.optional import module_available
from graf.tables import read_table, write_table

__all__ = [
    "ScoreProvider",
    "TableScores",
    "PublishedScores",
    "ComputedScores",
    "score_provider",
    "SCORE_SOURCES",
    "rank_prior",
    "proxy_prior",
]

SCORE_SOURCES = ("auto", "table", "compute", "published")


class ScoreProvider:
    """Base class: ``scores(archs) -> float array``; ``valid_only``; ``source`` text."""

    source: str = ""
    valid_only: bool = False

    def scores(self, archs: Sequence[object]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class _SeriesScores(ScoreProvider):
    def __init__(self, series: pd.Series, source: str, valid_only: bool) -> None:
        self._values = series.astype(float).to_dict()
        self.source = source
        self.valid_only = valid_only

    def scores(self, archs: Sequence[object]) -> np.ndarray:
        out = np.empty(len(archs))
        for i, a in enumerate(archs):
            key = str(a)
            try:
                out[i] = self._values[key]
            except KeyError:
                raise ValueError(f"no {self.source} score for {key}") from None
        return out


class TableScores(_SeriesScores):
    """Scores from a proxies table (index ``arch``) such as ``graf proxies`` writes."""

    def __init__(self, path: str | os.PathLike, column: str = "naswot", *, space="nb201") -> None:
        from graf.data.proxytable import load_proxy_table

        table, _ = load_proxy_table(path, space)
        if column not in table.columns:
            raise ValueError(f"proxies table {path} has no column {column!r}; columns: {', '.join(map(str, table.columns))}")
        from graf.data.proxytable import LOWER_IS_BETTER

        series = table[column].astype(float)
        failed = int(series.isna().sum())
        source = f"proxies table {path} ({column})"
        if column in LOWER_IS_BETTER:
            series = -series
            source = f"proxies table {path} (-{column}: lower is better)"
        if failed:
            # a failed score is NaN in the table (with the reason in its error column); for
            # ranking it is the worst possible score: NASWOT fails when two images share a
            # ReLU code, i.e. K is singular and log|det K| is -inf, or when the input never
            # reaches the output
            series = series.fillna(-np.inf)
            source += f"; {failed} nets without a score rank last"
        super().__init__(series, source, valid_only=False)


class PublishedScores(_SeriesScores):
    """NB-Suite-Zero's published ``nwot`` of the space's benchmark (NB201: CIFAR-10), valid nets only."""

    def __init__(self, data_dir: str | os.PathLike | None = None, column: str = "nwot", *, space="nb201",
                 dataset: str | None = None) -> None:
        from graf.data.benchmarks import get_benchmark

        table, source = get_benchmark(space).published_proxies(dataset, data_dir)
        if column not in table.columns:
            raise ValueError(f"unknown published proxy {column!r}; available: {', '.join(table.columns)}")
        super().__init__(table[column], f"published {column} of {source} (valid nets only)", valid_only=True)


def proxies_available() -> bool:
    """True when the ``proxies`` package (and so torch) can be imported."""
    return module_available("proxies.registry") and module_available("torch")


def default_scores_cache(space: str = "nb201", column: str = "naswot") -> Path:
    """The cache file of computed scores under :func:`graf.cache.user_cache_dir`."""
    return user_cache_dir() / f"{space}_{column}_scores.parquet"


class ComputedScores(ScoreProvider):
    """NASWOT computed on demand with :func:`proxies.runner.run_proxies` and cached in parquet.

    Only architectures missing from the cache are computed; the cache grows across runs.
    Settings are those of ``graf proxies`` (seed 0, CIFAR-10 batch of ``batch_size``).
    """

    valid_only = False

    def __init__(self, cache_file: str | os.PathLike | None = None, *, data_dir=None, column: str = "naswot",
                 batch_size: int = 64, space="nb201") -> None:
        if not proxies_available():
            raise ValueError("computing NASWOT needs the 'proxies' package and PyTorch (pip install 'graf-nas[proxies]')")
        from proxies.network import network_builder

        self.space = getattr(space, "name", space)
        network_builder(self.space)  # a space without a network: a clear error now, not mid-search
        self.cache_file = Path(cache_file) if cache_file is not None else default_scores_cache(self.space, column)
        self.data_dir = data_dir
        self.column = column
        self.batch_size = batch_size
        self.source = f"computed {column} (cache {self.cache_file})"
        self._cache = read_table(self.cache_file)[column].to_dict() if self.cache_file.is_file() else {}

    def scores(self, archs: Sequence[object]) -> np.ndarray:
        missing = sorted({str(a) for a in archs} - set(self._cache))
        if missing:
            self._compute(missing)
        return np.array([self._cache[str(a)] for a in archs], dtype=float)

    def _compute(self, archs: list[str]) -> None:
        from proxies.runner import RunConfig, run_proxies

        config = RunConfig(proxies=(self.column,), batch_size=self.batch_size, space=self.space,
                           data_dir=None if self.data_dir is None else str(self.data_dir))
        with tempfile.TemporaryDirectory() as tmp:
            new = run_proxies(archs, config, Path(tmp) / "scores.parquet", progress=False).table[self.column]
        if new.isna().any():
            raise ValueError(f"NASWOT failed for {int(new.isna().sum())} nets, e.g. {new[new.isna()].index[0]}")
        self._cache.update(new.astype(float).to_dict())
        frame = pd.DataFrame({self.column: pd.Series(self._cache)}).rename_axis("arch")
        write_table(frame, self.cache_file)
        print(f"graf search: computed {len(new)} {self.column} scores, cache {self.cache_file}", file=sys.stderr)


def score_provider(
    source: str = "auto",
    *,
    proxies_file: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_file: str | os.PathLike | None = None,
    space="nb201",
    dataset: str | None = None,
    proxy: str = "naswot",
) -> ScoreProvider:
    """The score provider for ``source`` (one of :data:`SCORE_SOURCES`) on ``space``, scoring
    with ``proxy`` (a column of the proxies table; published: NB-Suite-Zero's name, ``nwot``
    for naswot). A lower-is-better proxy (``ntk``) is negated, so higher is always better."""
    if source not in SCORE_SOURCES:
        raise ValueError(f"unknown score source {source!r}; available: {', '.join(SCORE_SOURCES)}")
    space = getattr(space, "name", space)
    if source == "table":
        return TableScores(default_proxies_file(proxies_file, space), proxy, space=space)
    path = Path(proxies_file) if proxies_file is not None else SHIPPED_PROXY_TABLES.get(space)
    if source == "auto" and path is not None and path.is_file():
        return TableScores(path, proxy, space=space)
    if source == "published":
        return PublishedScores(data_dir, "nwot" if proxy == "naswot" else proxy, space=space, dataset=dataset)
    if source == "compute" or proxies_available():
        return ComputedScores(cache_file, data_dir=data_dir, space=space, column=proxy)
    raise ValueError(
        f"no NASWOT scores: proxies table {path} not found and the 'proxies' package is not available; "
        "pass --proxies-file, install the proxies extra, or use --score-source published "
        "(NB-Suite-Zero's nwot, valid nets only)"
    )


def rank_prior(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.Series:
    """A zero-cost prior: the mean over proxy ``columns`` of each net's percentile rank (0..1, higher is better).

    Each proxy is oriented by its metadata (:data:`graf.data.proxytable.LOWER_IS_BETTER`
    are negated first); a net whose proxy failed (NaN) gets rank 0 for that proxy, the worst,
    as a failed proxy marks a degenerate net (e.g. its input never reaches its output). Ties
    share their mean rank. ``columns`` default to every proxy column of ``table``.
    """
    from graf.data.proxytable import LOWER_IS_BETTER, PROXY_NAMES

    columns = list(columns) if columns is not None else [c for c in table.columns if c in PROXY_NAMES]
    if not columns:
        raise ValueError("a rank prior needs at least one proxy column")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the proxies table has no column {missing[0]!r}; columns: {', '.join(map(str, table.columns))}")
    ranks = [(-table[c] if c in LOWER_IS_BETTER else table[c]).astype(float).rank(pct=True).fillna(0.0) for c in columns]
    return pd.concat(ranks, axis=1).mean(axis=1).rename("prior")


def proxy_prior(proxies_file: str | os.PathLike | None = None, *, space="nb201",
                columns: Sequence[str] | None = None) -> tuple[pd.Series, str]:
    """``(prior, source)``: :func:`rank_prior` of the project's proxy table (``proxies_file``,
    default the table shipped for ``space``), indexed by arch string."""
    from graf.data.proxytable import load_proxy_table

    path = default_proxies_file(proxies_file, getattr(space, "name", space))
    table, names = load_proxy_table(path, space)
    prior = rank_prior(table, columns if columns is not None else names)
    used = list(columns) if columns is not None else names
    return prior, f"rank average of {', '.join(used)} in {path}"
