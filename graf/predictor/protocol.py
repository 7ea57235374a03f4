"""The GRAF paper's evaluation protocol (DESIGN §5).

For each train size ``n`` and seed ``s``: ``n`` nets are drawn as the training set, all the
others are the test set; a fresh predictor seeded with ``s`` is fitted on the training set
only and scored on the test set by Kendall tau and Spearman rho (``scipy.stats``); the
summary is mean and standard deviation over seeds.

The split (:func:`protocol_split`) is ``numpy.random.RandomState(s).permutation(N)[:n]``
over row positions of the nets in the order given, kept in table order. With the default
nets (the GRAF authors' file order) this reproduces the published anchors (docs/predictor.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from graf import interrupt

__all__ = ["protocol_split", "rank_metrics", "evaluate_predictor", "EvaluationResult", "parse_seeds"]


def protocol_split(n_nets: int, train_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row positions ``(train, test)``: ``train_size`` drawn by seed ``seed``, the rest test."""
    if isinstance(train_size, bool) or int(train_size) != train_size or train_size < 1:
        raise ValueError(f"train size must be a positive integer, got {train_size!r}")
    if train_size < 2:
        raise ValueError(f"train size must be at least 2 (a predictor fitted on one net ranks nothing), got {train_size}")
    if n_nets - train_size < 2:
        raise ValueError(
            f"train size {train_size} leaves {n_nets - train_size} of the {n_nets} nets to test on; "
            "a rank correlation needs at least 2"
        )
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    perm = np.random.RandomState(int(seed)).permutation(n_nets)
    return np.sort(perm[: int(train_size)]), np.sort(perm[int(train_size) :])


def rank_metrics(y_true, y_pred) -> tuple[float, float]:
    """Kendall tau (tau-b) and Spearman rho of predictions against truth."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}")
    return float(kendalltau(y_pred, y_true).statistic), float(spearmanr(y_pred, y_true).statistic)


def parse_seeds(seeds: int | Iterable[int]) -> list[int]:
    """An int ``k`` means seeds ``0..k-1``; an iterable is taken as the seeds themselves."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"need at least one seed, got {seeds}")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("need at least one seed")
    return out


@dataclass
class EvaluationResult:
    """Per-run rows (train_size, seed, tau, rho, n_test) and the per-size summary."""

    runs: pd.DataFrame

    def summary(self) -> list[dict]:
        out = []
        for n, g in self.runs.groupby("train_size", sort=False):
            out.append(
                {
                    "train_size": int(n),
                    "seeds": int(len(g)),
                    "n_test": int(g["n_test"].iloc[0]),
                    "tau_mean": float(g["tau"].mean()),
                    "tau_std": float(g["tau"].std(ddof=0)),
                    "rho_mean": float(g["rho"].mean()),
                    "rho_std": float(g["rho"].std(ddof=0)),
                }
            )
        return out


def evaluate_predictor(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    train_sizes: Sequence[int],
    seeds: int | Iterable[int],
    model: str = "rf",
    n_jobs: int | None = 1,
    progress: bool = False,
    on_run: "Callable[[dict], None] | None" = None,
) -> EvaluationResult:
    """Run the protocol on ``X`` (rows = nets) and ``y`` for every train size and seed.

    ``on_run`` is called with each finished run's row (``train_size``, ``seed``, ``tau``,
    ``rho``, ``n_test``), e.g. to keep what finished when a long evaluation is interrupted.

    ``model`` names a recipe in :data:`graf.predictor.models.PREDICTORS`; each run gets a
    fresh estimator seeded with the run's seed. NaN features are an error unless the recipe
    fills them (:data:`graf.predictor.models.HANDLES_MISSING`); infinite values always are.
    ``progress`` shows a tqdm bar on stderr.
    """
    from graf.predictor.models import make_predictor

    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if isinstance(y, pd.Series) and isinstance(X, pd.DataFrame) and not X.index.equals(y.index):
        raise ValueError("X and y must share the same index (same nets in the same order)")
    from graf.predictor.models import HANDLES_MISSING

    values = X.to_numpy(dtype=np.float64) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=np.float64)
    allowed = np.isnan(values) if model in HANDLES_MISSING else np.zeros(values.shape, dtype=bool)
    if not (np.isfinite(values) | allowed).all():
        bad = ~(np.isfinite(values) | allowed).all(axis=0)
        names = list(X.columns[bad]) if isinstance(X, pd.DataFrame) else list(np.flatnonzero(bad))
        hint = f" (NaN is accepted by the recipes {', '.join(sorted(HANDLES_MISSING))})" if HANDLES_MISSING else ""
        raise ValueError(f"features contain NaN/inf in {int(bad.sum())} column(s): {names[:5]}{hint}")
    target = np.asarray(y, dtype=np.float64)
    if not np.isfinite(target).all():
        raise ValueError(f"target has {int((~np.isfinite(target)).sum())} NaN/inf values")
    sizes = [int(n) for n in train_sizes]
    if not sizes:
        raise ValueError("need at least one train size")
    for n in sizes:
        protocol_split(len(target), n, 0)  # validates the size before any fitting
    seed_list = parse_seeds(seeds)
    make_predictor(model, 0)  # validates the model name

    runs = []
    total = len(sizes) * len(seed_list)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=f"evaluate {model}", unit="run")
    try:
        for n in sizes:
            for s in seed_list:
                train, test = protocol_split(len(target), n, s)
                est = make_predictor(model, s, n_jobs)
                X_train = X.iloc[train] if isinstance(X, pd.DataFrame) else values[train]
                X_test = X.iloc[test] if isinstance(X, pd.DataFrame) else values[test]
                est.fit(X_train, target[train])
                tau, rho = rank_metrics(target[test], est.predict(X_test))
                interrupt.check()  # a stop a library swallowed during this run: the run is not kept
                runs.append({"train_size": n, "seed": s, "tau": tau, "rho": rho, "n_test": len(test)})
                if on_run is not None:
                    on_run(runs[-1])
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(n=n, tau=f"{tau:.3f}")
    finally:
        if bar is not None:
            bar.close()
    return EvaluationResult(pd.DataFrame(runs))
