"""Pareto fronts, hypervolume and IGD for multi-objective search (numpy and scipy only).

Every function takes an ``(n, m)`` array of objective values and ``senses``, one ``"max"`` or
``"min"`` per column (e.g. ``("max", "min")`` for test accuracy against latency), so the search
layer can call them on any objectives.

Normalised space
    :class:`ObjectiveScale` maps objectives to ``[0, 1]`` to be *minimised*, by the ``lower`` /
    ``upper`` bounds of each column (for NB201: the minimum and maximum over all 15625 nets):
    ``z = (x - lower) / (upper - lower)`` for a minimised column and ``(upper - x) / (upper -
    lower)`` for a maximised one, so 0 is the space's best value and 1 its worst. Hypervolume
    and IGD are computed there, which makes them comparable across metrics and units.

Reference point
    ``1 + margin`` in every normalised coordinate, :data:`REFERENCE_MARGIN` = 0.01: the worst
    value of each objective over the space (lowest accuracy, highest latency), extended by 1 %
    of the space's range, so every point of the exact front, the extreme ones included, adds
    volume. The normalised hypervolume of a set therefore lies in ``[0, 1.01 ** m]``.

IGD
    Mean, over the points of the exact front, of the Euclidean distance (normalised space) to
    the nearest point of the *non-dominated part* of the found set; 0 when the found set
    contains the exact front.

:func:`nb201_front` builds the exact front of all 15625 NB201 nets for a search dataset's
reported test accuracy (``cifar10_test``, ``cifar100_test``, ``imagenet16_test``: the ``test``
column of :class:`graf.search.objective.BenchmarkObjective`) against an HW-NAS-Bench metric.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "SENSES",
    "REFERENCE_MARGIN",
    "HW_SENSES",
    "ObjectiveScale",
    "ParetoFront",
    "check_points",
    "to_minimisation",
    "non_dominated",
    "pareto_indices",
    "hypervolume",
    "normalised_hypervolume",
    "hypervolume_ratio",
    "igd",
    "hw_sense",
    "nb201_objectives",
    "nb201_front",
]

SENSES = ("max", "min")
#: extension of the reference point beyond the worst value, in units of the space's range
REFERENCE_MARGIN = 0.01
#: HW-NAS-Bench metrics that are not costs to minimise: arithmetic intensity (operations per
#: byte moved) is higher for a better use of the accelerator. Every other metric (latency,
#: energy) is minimised.
HW_SENSES = {"eyeriss_arithmetic_intensity": "max"}


# ---------------------------------------------------------------------------- checks
def check_points(points, senses: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``points`` as a finite float ``(n, m)`` array and ``senses`` as a tuple of ``m`` senses."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, len(senses))
    if arr.ndim != 2:
        raise ValueError(f"objective values must be a 2-D (points, objectives) array, got shape {arr.shape}")
    senses = tuple(senses)
    bad = [s for s in senses if s not in SENSES]
    if bad:
        raise ValueError(f"unknown objective sense {bad[0]!r}; use 'max' or 'min' per objective")
    if len(senses) != arr.shape[1]:
        raise ValueError(f"got {len(senses)} senses for {arr.shape[1]} objectives")
    if not np.isfinite(arr).all():
        raise ValueError(f"objective values hold {int((~np.isfinite(arr)).sum())} NaN/inf value(s)")
    return arr, senses


def to_minimisation(points, senses: Sequence[str]) -> np.ndarray:
    """The points with every maximised column negated, so smaller is better everywhere."""
    arr, senses = check_points(points, senses)
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    return arr * sign


# ---------------------------------------------------------------------------- dominance
def _non_dominated_min(z: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``z`` (minimised) that no other row dominates (ties are all kept)."""
    n, m = z.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if m == 1:
        return z[:, 0] == z[:, 0].min()
    if m == 2:
        return _non_dominated_2d(z[:, 0], z[:, 1])
    keep = np.ones(n, dtype=bool)
    for start in range(0, n, 256):  # blocks keep the (block, n, m) comparison small
        block = z[start : start + 256]
        weakly = (z[None, :, :] <= block[:, None, :]).all(axis=2)
        strictly = (z[None, :, :] < block[:, None, :]).any(axis=2)
        keep[start : start + len(block)] = ~(weakly & strictly).any(axis=1)
    return keep


def _non_dominated_2d(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sort-based 2-D filter: a point survives iff it has the least ``y`` among its equal ``x``
    and a ``y`` strictly below every point of smaller ``x``."""
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    new_group = np.r_[True, xs[1:] != xs[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(xs)), 0))
    running_min = np.minimum.accumulate(ys)
    before = np.where(group_start > 0, running_min[np.maximum(group_start - 1, 0)], np.inf)
    keep_sorted = (ys == ys[group_start]) & (ys < before)
    keep = np.empty(len(x), dtype=bool)
    keep[order] = keep_sorted
    return keep


def non_dominated(points, senses: Sequence[str]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (better or equal in every objective,
    strictly better in one). Points with identical values are all kept."""
    return _non_dominated_min(to_minimisation(points, senses))


def pareto_indices(points, senses: Sequence[str]) -> np.ndarray:
    """Row positions of the non-dominated points, ordered by the first objective (best first)."""
    z = to_minimisation(points, senses)
    idx = np.flatnonzero(_non_dominated_min(z))
    return idx[np.lexsort(z[idx].T[::-1])]


# ---------------------------------------------------------------------------- hypervolume
def hypervolume(points, reference) -> float:
    """Exact hypervolume of minimised ``points`` w.r.t. ``reference``: the volume of the union
    of the boxes ``[p, reference]``. Points not strictly better than the reference in every
    objective add nothing. Exact for any number of objectives (sort-based sweep in 2-D,
    slicing along the last objective above)."""
    z = np.asarray(points, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if z.ndim != 2 or ref.shape != (z.shape[1],):
        raise ValueError(f"hypervolume needs (n, m) points and an (m,) reference, got {z.shape} and {ref.shape}")
    if not (np.isfinite(z).all() and np.isfinite(ref).all()):
        raise ValueError("hypervolume: points and reference must be finite")
    z = z[(z < ref).all(axis=1)]
    if len(z) == 0:
        return 0.0
    z = np.unique(z[_non_dominated_min(z)], axis=0)
    return _hv(z, ref)


def _hv(z: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of mutually non-dominated points, all strictly inside the reference box."""
    m = z.shape[1]
    if m == 1:
        return float(ref[0] - z[:, 0].min())
    if m == 2:
        z = z[np.argsort(z[:, 0])]  # non-dominated: x ascending means y descending
        widths = np.diff(np.r_[z[:, 0], ref[0]])
        return float(np.sum(widths * (ref[1] - z[:, 1])))
    z = z[np.argsort(z[:, -1])]
    depths = np.diff(np.r_[z[:, -1], ref[-1]])
    total = 0.0
    for i in range(len(z)):
        if depths[i] > 0:
            head = z[: i + 1, :-1]
            total += depths[i] * _hv(head[_non_dominated_min(head)], ref[:-1])
    return float(total)


@dataclass(frozen=True)
class ObjectiveScale:
    """Bounds and senses that map objectives to ``[0, 1]``, minimised (module docstring)."""

    senses: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        check_points(np.zeros((0, len(self.senses))), self.senses)
        lo, hi = np.asarray(self.lower, dtype=np.float64), np.asarray(self.upper, dtype=np.float64)
        if lo.shape != (len(self.senses),) or hi.shape != lo.shape:
            raise ValueError(f"ObjectiveScale needs one lower and one upper bound per objective ({len(self.senses)})")
        if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi > lo).all()):
            raise ValueError(f"ObjectiveScale bounds must be finite with upper > lower, got {self.lower} and {self.upper}")

    @classmethod
    def from_points(cls, points, senses: Sequence[str]) -> "ObjectiveScale":
        """Bounds = the columns' minimum and maximum over ``points`` (e.g. the whole space)."""
        arr, senses = check_points(points, senses)
        if len(arr) == 0:
            raise ValueError("ObjectiveScale.from_points needs at least one point")
        return cls(senses, tuple(arr.min(axis=0).tolist()), tuple(arr.max(axis=0).tolist()))

    def normalise(self, points) -> np.ndarray:
        """Points in the normalised, minimised space: 0 = best bound, 1 = worst bound."""
        arr, _ = check_points(points, self.senses)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        z = (arr - lo) / (hi - lo)
        flip = np.array([s == "max" for s in self.senses])
        z[:, flip] = 1.0 - z[:, flip]
        return z

    def reference(self, margin: float = REFERENCE_MARGIN) -> np.ndarray:
        """The reference point in the normalised space: ``1 + margin`` per objective."""
        if not margin >= 0:
            raise ValueError(f"the reference margin must be >= 0, got {margin!r}")
        return np.full(len(self.senses), 1.0 + float(margin))


def normalised_hypervolume(points, scale: ObjectiveScale, *, margin: float = REFERENCE_MARGIN) -> float:
    """Hypervolume of ``points`` (raw units) in ``scale``'s normalised space, reference ``1 + margin``."""
    return hypervolume(scale.normalise(points), scale.reference(margin))


def hypervolume_ratio(found, exact, scale: ObjectiveScale, *, margin: float = REFERENCE_MARGIN) -> float:
    """Normalised hypervolume of ``found`` over that of ``exact`` (1 when found covers the exact front)."""
    best = normalised_hypervolume(exact, scale, margin=margin)
    if best <= 0:
        raise ValueError("the exact front has zero hypervolume: no point is better than the reference point")
    return normalised_hypervolume(found, scale, margin=margin) / best


def igd(found, exact, scale: ObjectiveScale) -> float:
    """Inverted generational distance: mean over the ``exact`` front's points of the Euclidean
    distance, in ``scale``'s normalised space, to the nearest non-dominated point of ``found``."""
    from scipy.spatial import cKDTree

    target = scale.normalise(exact)
    if len(target) == 0:
        raise ValueError("igd: the exact front is empty")
    approx = scale.normalise(found)
    if len(approx) == 0:
        raise ValueError("igd: the found set is empty")
    approx = approx[_non_dominated_min(approx)]
    distances, _ = cKDTree(approx).query(target)
    return float(np.mean(distances))


# ---------------------------------------------------------------------------- NB201
def hw_sense(metric: str) -> str:
    """``"min"`` for an HW-NAS-Bench latency or energy, ``"max"`` for those in :data:`HW_SENSES`."""
    return HW_SENSES.get(metric, "min")


def nb201_objectives(dataset: str, metric: str, *, hw_dataset: str | None = None,
                     data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Index ``arch``; columns: the search dataset's reported test accuracy and
    ``hw:<hw_dataset>:<metric>`` (``hw_dataset`` defaults to ``dataset``). All 15625 nets, but
    for ``edgetpu_latency`` only the 10926 HW-NAS-Bench measured (the benchmark's HW target)."""
    from graf.data.benchmarks import get_benchmark
    from graf.spaces import get_space

    test = get_space("nb201").dataset(dataset).test
    bench = get_benchmark("nb201")
    hw, _ = bench.target(f"hw:{hw_dataset or dataset}:{metric}", data_dir)
    acc = bench.table(data_dir)[test].astype(np.float64)
    acc = acc[acc.notna() & acc.index.isin(hw.index)]
    if len(acc) == 0:
        raise ValueError(f"no net has both {test} and {hw.name}")
    return pd.concat([acc, hw.loc[acc.index]], axis=1)


@dataclass(frozen=True)
class ParetoFront:
    """The exact front of a table of objectives, with the scale and reference it is measured in.

    ``table``: every point (index ``arch``), one column per objective; ``front``: its
    non-dominated rows ordered by the first objective (best first); ``scale``: the table's
    min/max bounds; ``hypervolume``: the front's normalised hypervolume (reference ``1 +
    margin``).
    """

    table: pd.DataFrame = field(repr=False)
    front: pd.DataFrame
    scale: ObjectiveScale
    margin: float
    hypervolume: float

    @classmethod
    def of(cls, table: pd.DataFrame, senses: Sequence[str], *, margin: float = REFERENCE_MARGIN) -> "ParetoFront":
        values, senses = check_points(table.to_numpy(dtype=np.float64), senses)
        scale = ObjectiveScale.from_points(values, senses)
        front = table.iloc[pareto_indices(values, senses)]
        volume = normalised_hypervolume(front.to_numpy(), scale, margin=margin)
        if volume <= 0:
            raise ValueError("the exact front has zero hypervolume: no point is better than the reference point")
        return cls(table, front, scale, margin, volume)

    def _points(self, archs: Sequence[object]) -> np.ndarray:
        keys = [str(a) for a in archs]
        missing = [k for k in keys if k not in self.table.index]
        if missing:
            raise ValueError(f"{len(missing)} architecture(s) are not in the objective table, e.g. {missing[0]!r}")
        return self.table.loc[keys].to_numpy(dtype=np.float64)

    def hypervolume_ratio(self, archs: Sequence[object]) -> float:
        """Hypervolume of the nets ``archs`` (e.g. those a search queried) over the exact front's."""
        return normalised_hypervolume(self._points(archs), self.scale, margin=self.margin) / self.hypervolume

    def igd(self, archs: Sequence[object]) -> float:
        """IGD of the non-dominated nets among ``archs`` to the exact front (normalised space)."""
        return igd(self._points(archs), self.front.to_numpy(), self.scale)


def nb201_front(dataset: str, metric: str, *, hw_dataset: str | None = None, margin: float = REFERENCE_MARGIN,
                data_dir: str | os.PathLike | None = None) -> ParetoFront:
    """Exact front of all 15625 NB201 nets: ``dataset``'s reported test accuracy (maximised)
    against the HW-NAS-Bench ``metric`` (:func:`hw_sense`), measured on ``hw_dataset``
    (default: the same dataset)."""
    table = nb201_objectives(dataset, metric, hw_dataset=hw_dataset, data_dir=data_dir)
    return ParetoFront.of(table, ("max", hw_sense(metric)), margin=margin)
