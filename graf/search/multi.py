"""Multi-objective search: accuracy (a query) against free HW-NAS-Bench costs, and robustness.

Objectives (:func:`parse_objectives`, ``graf search --objectives``):

* a **search dataset** of the space (NB201: ``cifar10``, ``cifar100``, ``imagenet16``): its
  accuracy, maximised. Reading it is a query (the simulated training of the net), charged as
  in :class:`~graf.search.objective.BenchmarkObjective`: the search signal is the dataset's
  target column, the reported value its test column. Exactly one per search.
* ``hw:<dataset>:<metric>``: an HW-NAS-Bench metric (latency, energy: minimised;
  ``eyeriss_arithmetic_intensity``: maximised), known for every net as a device's lookup table
  would be: it costs nothing and strategies may read it before querying (``known``).
* ``robust:<column>``: a CIFAR-10 adversarial accuracy (%), maximised. It needs the trained net,
  so it is revealed by the same query as the accuracy (one query = one trained net, then
  attacked); it is never known in advance.

A query returns the signal values of every objective. The search returns the **Pareto set of
the queried nets by their signal values**; it is measured by its reported values (test
accuracy, the metric, the adversarial accuracy) against the exact front of all nets
(:class:`~graf.search.pareto.ParetoFront`): hypervolume ratio and IGD.

Strategies follow :mod:`graf.search.strategies`' contract (keyword-only, explicit ``seed``,
``space``/``pool``, ``ask``/``tell``/``discard``) with a vector value: ``tell(arch, values)``
takes one finite value per objective, in the order of ``senses``; ``recommend()`` is the Pareto
set of the told nets (a list, best first objective first). Registry: :data:`MO_ALGORITHMS`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from graf import interrupt
from graf.search.objective import BenchmarkObjective
from graf.search.pareto import ObjectiveScale, ParetoFront, check_points, hw_sense, non_dominated, pareto_indices
from graf.search.strategies import REA, OptunaSearch, RandomSearch, Strategy, _optuna_quiet, bo_regressor

__all__ = [
    "ObjectiveSpec",
    "parse_objectives",
    "MultiObjective",
    "MOStrategy",
    "MORandomSearch",
    "MOREA",
    "NSGAII",
    "MOSurrogateBO",
    "MO_ALGORITHMS",
    "DEFAULT_MO_ALGORITHM",
    "make_mo_strategy",
    "MOSearchResult",
    "run_mo_search",
    "hvi_2d",
    "pareto_layers",
]

ROBUST = "robust:"
HW = "hw:"


# ---------------------------------------------------------------------------- objectives
@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: its name as written, sense, kind and the columns behind it.

    ``kind``: ``"accuracy"`` (a query), ``"hw"`` (free, known for every net) or ``"robust"``
    (revealed by the accuracy's query). ``signal``: what the search sees; ``report``: what the
    returned set is measured by (the test column for accuracy; the same column otherwise).
    """

    name: str
    sense: str
    kind: str
    signal: str
    report: str

    @property
    def free(self) -> bool:
        """Known for every net without a query."""
        return self.kind == "hw"


def parse_objectives(text: str | Sequence[str], *, space="nb201", target: str | None = None,
                     test: str | None = None) -> tuple[ObjectiveSpec, ...]:
    """The objectives of a comma-separated list (module docstring). ``target`` / ``test``
    override the accuracy objective's signal / reported column."""
    from graf.spaces import get_space

    space = get_space(space)
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s).strip() for s in text]
    names = [n for n in names if n]
    if len(names) < 2:
        raise ValueError(f"--objectives needs at least two objectives (an accuracy and a cost), got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"--objectives lists an objective twice: {names}")
    specs = []
    for name in names:
        if name.startswith(HW):
            parts = name.split(":")
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"an HW objective is written hw:<dataset>:<metric>, got {name!r}")
            specs.append(ObjectiveSpec(name, hw_sense(parts[2]), "hw", name, name))
        elif name.startswith(ROBUST):
            if not name[len(ROBUST):]:
                raise ValueError(f"a robustness objective is written robust:<attack column>, got {name!r}")
            specs.append(ObjectiveSpec(name, "max", "robust", name, name))
        elif name in space.datasets:
            ds = space.dataset(name)
            specs.append(ObjectiveSpec(name, "max", "accuracy", target or ds.target, test or ds.test))
        else:
            raise ValueError(f"unknown objective {name!r}; use a search dataset of {space.name} "
                             f"({', '.join(space.datasets)}), hw:<dataset>:<metric> or robust:<attack column>")
    accuracy = [s for s in specs if s.kind == "accuracy"]
    if len(accuracy) != 1:
        raise ValueError(f"--objectives needs exactly one accuracy objective (a dataset: {', '.join(space.datasets)}), "
                         f"got {len(accuracy)}")
    return tuple(specs)


class MultiObjective:
    """The objectives of a multi-objective search on a space's benchmark tables.

    ``objective(arch)`` queries the accuracy (charged once per distinct net, as
    :class:`BenchmarkObjective`, whose history it keeps) and returns the signal value of every
    objective, in order. ``values`` / ``reported``: every net's signal / reported values (index
    ``arch``, one column per objective name), for the nets that have all of them (``archs``);
    ``known()`` the free objectives' columns a strategy may read; ``front`` the exact front of
    the reported values.
    """

    def __init__(self, objectives, *, space="nb201", target: str | None = None, test: str | None = None,
                 data_dir: str | os.PathLike | None = None) -> None:
        from graf.data.benchmarks import get_benchmark
        from graf.spaces import get_space

        self.space = get_space(space)
        self.specs = objectives if isinstance(objectives, tuple) and all(
            isinstance(s, ObjectiveSpec) for s in objectives) else parse_objectives(
            objectives, space=self.space, target=target, test=test)
        self.senses = tuple(s.sense for s in self.specs)
        self.names = tuple(s.name for s in self.specs)
        acc_spec = next(s for s in self.specs if s.kind == "accuracy")
        self.accuracy_index = self.names.index(acc_spec.name)
        bench = get_benchmark(self.space)
        self.accuracy = BenchmarkObjective(acc_spec.name, space=self.space, target=acc_spec.signal,
                                           test=acc_spec.report, data_dir=data_dir)
        table = bench.table(data_dir)
        signal, report = {}, {}
        for s in self.specs:
            if s.kind == "accuracy":
                signal[s.name] = table[s.signal].astype(np.float64)
                report[s.name] = table[s.report].astype(np.float64)
            else:
                series, _ = bench.target(s.signal, data_dir)
                signal[s.name] = report[s.name] = series.astype(np.float64)
        values, reported = pd.DataFrame(signal), pd.DataFrame(report)
        keep = values.notna().all(axis=1) & reported.notna().all(axis=1)
        keep &= values.index.isin(self.accuracy.archs)
        if not keep.any():
            raise ValueError(f"no net has values for all of {', '.join(self.names)}")
        self.values, self.reported = values.loc[keep], reported.loc[keep]
        self.values.index.name = self.reported.index.name = "arch"
        self._rows = {a: tuple(map(float, r)) for a, r in zip(self.values.index, self.values.to_numpy())}

    @property
    def archs(self) -> list[str]:
        """The nets that have every objective's values (the search's pool)."""
        return list(self.values.index)

    @property
    def free(self) -> tuple[int, ...]:
        """Positions of the objectives known without a query."""
        return tuple(i for i, s in enumerate(self.specs) if s.free)

    def known(self) -> pd.DataFrame | None:
        """The free objectives' signal values for every net, columns = their positions, or None."""
        if not self.free:
            return None
        return self.values.iloc[:, list(self.free)].set_axis(list(self.free), axis=1)

    @cached_property
    def front(self) -> ParetoFront:
        """The exact front of all nets' reported values (reference point: pareto's, 1.01)."""
        return ParetoFront.of(self.reported, self.senses)

    def reset(self) -> None:
        self.accuracy.reset()

    @property
    def queries(self) -> int:
        return self.accuracy.queries

    @property
    def seconds(self) -> float:
        return self.accuracy.seconds

    def __call__(self, arch) -> tuple[float, ...]:
        key = str(arch)
        if key not in self._rows:
            raise ValueError(f"{key!r} lacks a value for one of the objectives {', '.join(self.names)}")
        self.accuracy(arch)
        return self._rows[key]

    def pareto_set(self, archs: Sequence[str]) -> list[str]:
        """The nets of ``archs`` that no other dominates by signal values, best accuracy first."""
        archs = list(dict.fromkeys(str(a) for a in archs))
        if not archs:
            return []
        pts = self.values.loc[archs].to_numpy()
        return [archs[i] for i in pareto_indices(pts, self.senses)]

    def history_frame(self) -> pd.DataFrame:
        """The accuracy's history (order, arch, target, test, seconds, best_*), every other
        objective's value (a column each, named as the objective), ``hypervolume_ratio`` and
        ``igd`` of the Pareto set returned after each query, and ``pareto``: whether the net is
        in the final returned set."""
        df = self.accuracy.history_frame()
        for i, name in enumerate(self.names):
            if i != self.accuracy_index:
                df[name] = self.values.loc[df["arch"], name].to_numpy() if len(df) else pd.Series(dtype=float)
        ratios, igds = [], []
        for n in range(1, len(df) + 1):
            chosen = self.pareto_set(df["arch"].iloc[:n])
            ratios.append(self.front.hypervolume_ratio(chosen))
            igds.append(self.front.igd(chosen))
        df["hypervolume_ratio"] = pd.Series(ratios, dtype=float)
        df["igd"] = pd.Series(igds, dtype=float)
        df["pareto"] = df["arch"].isin(self.pareto_set(df["arch"])) if len(df) else pd.Series(dtype=bool)
        return df


# ---------------------------------------------------------------------------- strategies
class MOStrategy:
    """Mixin that turns a :class:`~graf.search.strategies.Strategy` multi-objective: vector
    tells and a Pareto-set recommendation. Put it first among the bases and call
    :meth:`_objectives` in ``__init__``."""

    def _objectives(self, senses: Sequence[str]) -> None:
        _, senses = check_points(np.zeros((0, len(tuple(senses)))), senses)
        if len(senses) < 2:
            raise ValueError(f"a multi-objective strategy needs at least two senses, got {senses}")
        self.senses = senses

    def tell(self, arch, values) -> None:
        key = str(arch)
        if key not in self._pending:
            raise ValueError(f"tell({key!r}): this architecture was not asked (or was already told)")
        try:
            vec = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            raise ValueError(f"tell: values must be a sequence of {len(self.senses)} numbers, got {values!r}") from None
        if len(vec) != len(self.senses):
            raise ValueError(f"tell: got {len(vec)} value(s) for {len(self.senses)} objectives")
        if not all(math.isfinite(v) for v in vec):
            raise ValueError(f"tell: values must be finite, got {vec}")
        arch = self._pending.pop(key)
        self.told.append((arch, vec))
        self._observe(arch, list(vec))

    def _told_points(self) -> np.ndarray:
        return np.array([v for _, v in self.told], dtype=np.float64).reshape(len(self.told), len(self.senses))

    def recommend(self) -> list:
        """The Pareto set of the told nets by their told values, best first objective first."""
        if not self.told:
            return []
        return [self.told[i][0] for i in pareto_indices(self._told_points(), self.senses)]


class MORandomSearch(MOStrategy, RandomSearch):
    """Uniform random search without replacement (the values only form the returned set)."""

    def __init__(self, *, senses, seed, valid_only: bool = False, space="nb201", pool=None) -> None:
        RandomSearch.__init__(self, seed=seed, valid_only=valid_only, space=space, pool=pool)
        self._objectives(senses)


def pareto_ranks(points, senses) -> np.ndarray:
    """Non-dominated sorting: 0 for the Pareto set, 1 for the set of the rest, and so on."""
    pts, senses = check_points(points, senses)
    ranks = np.full(len(pts), -1)
    left = np.arange(len(pts))
    rank = 0
    while len(left):
        front = non_dominated(pts[left], senses)
        ranks[left[front]] = rank
        left = left[~front]
        rank += 1
    return ranks


def pareto_layers(points, senses, size: int) -> np.ndarray:
    """Row positions of the first non-dominated layers of ``points`` holding at least ``size``
    rows (all rows when there are fewer), layer by layer."""
    pts, senses = check_points(points, senses)
    left, taken = np.arange(len(pts)), []
    while len(left) and sum(map(len, taken)) < size:
        front = non_dominated(pts[left], senses)
        taken.append(left[front])
        left = left[~front]
    return np.concatenate(taken) if taken else np.zeros(0, dtype=int)


class MOREA(MOStrategy, REA):
    """Multi-objective regularized evolution: REA (``population_size`` random nets, then a
    tournament of ``sample_size`` members, the winner mutated, the oldest member removed)
    whose tournament is won by the member of lowest non-dominated rank within the current
    population (0 = its Pareto set), ties broken at random. The defaults (20, 5) did better than
    REA's (10, 3) on the tuning seeds (benchmarks/results/search_mo/tuning)."""

    def __init__(self, *, senses, population_size: int = 20, sample_size: int = 5, seed, valid_only: bool = False,
                 space="nb201", pool=None) -> None:
        REA.__init__(self, population_size=population_size, sample_size=sample_size, seed=seed,
                     valid_only=valid_only, space=space, pool=pool)
        self._objectives(senses)

    def _tournament(self) -> object:
        members = list(self.population)
        ranks = pareto_ranks(np.array([v for _, v in members]), self.senses)
        idx = np.sort(self._rng.choice(len(members), size=min(self.sample_size, len(members)), replace=False))
        best = idx[ranks[idx] == ranks[idx].min()]
        return members[int(best[int(self._rng.integers(len(best)))])][0]


class NSGAII(MOStrategy, OptunaSearch):
    """Optuna's ``NSGAIISampler`` (Deb et al. 2002: non-dominated sorting, crowding distance,
    uniform crossover and mutation of the categorical parameters) on a multi-objective study,
    one direction per sense, through optuna's ask/tell (the ``search`` extra). Suggestions that
    were queried before are told their known values and the sampler asked again, as in
    :class:`~graf.search.strategies.OptunaSearch`. ``population_size`` is the generation size
    (optuna's default 50 would spend a 50-query budget on its random first generation; 20 did
    better than 10 on the tuning seeds, benchmarks/results/search_mo/tuning)."""

    def __init__(self, *, senses, population_size: int = 20, mutation_prob: float | None = None,
                 crossover_prob: float = 0.9, max_redraws: int = 100, seed, valid_only: bool = False,
                 space="nb201", pool=None) -> None:
        if population_size < 2:
            raise ValueError(f"NSGA-II needs population_size >= 2, got {population_size}")
        self.population_size = int(population_size)

        def sampler(s):
            import optuna

            return optuna.samplers.NSGAIISampler(population_size=self.population_size, mutation_prob=mutation_prob,
                                                 crossover_prob=crossover_prob, seed=s)

        OptunaSearch.__init__(self, sampler=sampler, max_redraws=max_redraws, seed=seed, valid_only=valid_only,
                              space=space, pool=pool)
        self._objectives(senses)
        with _optuna_quiet():
            self.study = self._optuna.create_study(
                directions=["maximize" if s == "max" else "minimize" for s in self.senses], sampler=self.study.sampler)


def hvi_2d(front: np.ndarray, x: np.ndarray, y: np.ndarray, reference) -> np.ndarray:
    """Hypervolume improvement of each point ``(x[..], y[..])`` (minimised, any broadcastable
    shapes) over the mutually non-dominated minimised ``front`` (k, 2), w.r.t. ``reference``.

    With the front sorted by x (so y descending), the region a new point adds is
    ``∫ from x to E of (H(s) - y) ds``, where H is the front's staircase (the reference's y
    left of its first point) and E the x of the first front point with y <= the new y (the
    reference's x if none). The integral of H is piecewise linear, so each improvement is one
    ``np.interp``: exact and vectorised over many points (e.g. every tree's prediction)."""
    rx, ry = map(float, reference)
    f = np.asarray(front, dtype=np.float64).reshape(-1, 2)
    f = f[(f[:, 0] < rx) & (f[:, 1] < ry)]
    if len(f):
        f = np.unique(f[non_dominated(f, ("min", "min"))], axis=0)
        f = f[np.argsort(f[:, 0])]
    fx, fy = f[:, 0], f[:, 1]
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    left = min(float(np.min(x, initial=0.0)), float(fx.min(initial=0.0)), 0.0) - 1.0
    knots = np.r_[left, fx, rx]
    heights = np.r_[ry, fy]  # H on [knots[i], knots[i+1])
    tail = np.r_[np.cumsum((heights * np.diff(knots))[::-1])[::-1], 0.0]  # ∫ from knots[i] to rx of H
    n_above = len(fy) - np.searchsorted(fy[::-1], y, side="right")  # front points with y_i > y
    end = np.r_[fx, rx][n_above]
    gain = np.interp(x, knots, tail) - np.interp(end, knots, tail) - y * (end - x)
    return np.where((x < end) & (y < ry), np.maximum(gain, 0.0), 0.0)


class MOSurrogateBO(MOStrategy, Strategy):
    """Surrogate-assisted multi-objective Bayesian optimisation over an enumerable pool.

    The free objectives (``known``, a DataFrame indexed by arch with one column per free
    objective, labelled by its position in ``senses``) are read, never modelled; every other
    objective (the accuracy, a robustness) is modelled by its own forest (``regressor``, default
    :func:`~graf.search.strategies.bo_regressor`) on ``features`` (and the ``prior`` as one more
    input), refit on every told value.

    * **First asks**: ``n_init`` nets spread evenly along the non-dominated set of (prior, free
      objectives), i.e. the nets the zero-cost prior rates best at each cost; without a prior,
      random nets.
    * **Candidates**: the ``n_candidates`` nets of the first non-dominated layers of (prior,
      free objectives) (None, or without a prior: every pool net), not yet queried nor pending.
    * **Acquisition** ``"ehvi"`` (two objectives, one modelled): the expected hypervolume
      improvement over the current Pareto set of the told values, the expectation taken over
      the forest's trees (each tree's prediction is a sample), computed exactly per tree
      (:func:`hvi_2d`). ``"parego"`` (any number of objectives): each ask draws Dirichlet
      weights and takes the candidate with the least augmented Chebyshev scalarisation of its
      normalised values, the modelled ones at their optimistic bound mean ± ``kappa`` · sd.
      ``"auto"``: ehvi where it applies, else parego. When no candidate improves the hypervolume
      in any tree, the ask falls back to parego.
    * ``exploit_first`` (default 15): the first k asks after the first ones take the candidate
      with the best optimistic value of the first queried objective alone (as ``exploit_every``),
      so that the model learns the accurate end of the front before the hypervolume drives it.
    * ``exploit_every`` (default None): every k-th ask after the first ones instead takes the
      candidate with the best optimistic value (mean ± ``kappa`` · sd) of the first queried
      objective alone, as single-objective surrogate-BO would.

    Normalisation inside the acquisition: free objectives by their min/max over the pool,
    modelled ones by the min/max of the told values and the predictions; reference 1.01.
    """

    ACQUISITIONS = ("auto", "ehvi", "parego")

    def __init__(self, *, senses, features, known=None, prior=None, regressor: Callable[[int], object] | None = None,
                 n_init: int = 5, n_candidates: int | None = 2000, acquisition: str = "auto", kappa: float = 0.5,
                 exploit_every: int | None = None, exploit_first: int = 15, seed, valid_only: bool = False,
                 space="nb201", pool=None) -> None:
        Strategy.__init__(self, seed=seed, valid_only=valid_only, space=space, pool=pool)
        self._objectives(senses)
        if n_init < 2:
            raise ValueError(f"the multi-objective surrogate needs n_init >= 2, got {n_init}")
        if n_candidates is not None and n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1 or None (every net), got {n_candidates}")
        if acquisition not in self.ACQUISITIONS:
            raise ValueError(f"unknown acquisition {acquisition!r}; available: {', '.join(self.ACQUISITIONS)}")
        if not (math.isfinite(kappa) and kappa >= 0):
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa}")
        m = len(self.senses)
        free = [] if known is None else [int(c) for c in known.columns]
        if any(not 0 <= c < m for c in free) or len(set(free)) != len(free):
            raise ValueError(f"known's columns must be distinct objective positions in 0..{m - 1}, got {free}")
        self.free = tuple(free)
        self.modelled = tuple(i for i in range(m) if i not in self.free)
        if not self.modelled:
            raise ValueError("every objective is known: nothing to search (give at least one queried objective)")
        if acquisition == "ehvi" and not (m == 2 and len(self.modelled) == 1):
            raise ValueError("acquisition 'ehvi' needs two objectives of which one is queried; use 'parego'")
        self.acquisition = ("ehvi" if m == 2 and len(self.modelled) == 1 else "parego") if acquisition == "auto" \
            else acquisition
        if exploit_every is not None and exploit_every < 1:
            raise ValueError(f"exploit_every must be >= 1 or None, got {exploit_every}")
        if exploit_first < 0:
            raise ValueError(f"exploit_first must be >= 0, got {exploit_first}")
        self.exploit_first = int(exploit_first)
        self.n_init, self.kappa, self.exploit_every = int(n_init), float(kappa), exploit_every
        pool = self.pool
        keys = [str(a) for a in pool]
        self._index = {k: i for i, k in enumerate(keys)}
        X = _rows_of(features, keys, "features")
        K = _rows_of(known, keys, "known objective values") if free else np.zeros((len(keys), 0))
        if not np.isfinite(K).all():
            raise ValueError("known objective values must be finite for every pool net")
        self._known = K
        free_senses = tuple(self.senses[i] for i in self.free)
        if prior is not None:
            score = _rows_of(prior.to_frame(), keys, "the prior")[:, 0]
            if not np.isfinite(score).all():
                raise ValueError("the prior must be finite for every pool net")
            X = np.column_stack([X, score])
            screen = np.column_stack([score, K])
            screen_senses = ("max",) + free_senses
            along = pareto_indices(screen, screen_senses)  # best prior first
            picks = np.unique(np.round(np.linspace(0, len(along) - 1, min(self.n_init, len(along)))).astype(int))
            self._initial = [int(along[i]) for i in picks]
            self._candidates = np.arange(len(keys)) if n_candidates is None else \
                pareto_layers(screen, screen_senses, n_candidates)
        else:
            self._initial = list(self._rng.choice(len(keys), size=min(self.n_init, len(keys)), replace=False))
            self._candidates = np.arange(len(keys))  # layers of the costs alone would be the cheapest nets
        self._X = X
        self._known_z = ObjectiveScale.from_points(K, free_senses).normalise(K) if free else K
        self._make_regressor = regressor or bo_regressor
        self.n_fits = 0

    def _propose(self) -> object:
        taken = np.array([self._index[str(a)] for a, _ in self.told] + [self._index[k] for k in self._pending], dtype=int)
        self._initial = [i for i in self._initial if i not in taken]
        if self._initial:
            return self.pool[int(self._initial.pop(0))]
        if len(self.told) < 2:
            raise ValueError("the multi-objective surrogate: tell the first asks' values before asking for more")
        cands = self._candidates[~np.isin(self._candidates, taken)]  # all taken: then any net not yet asked
        cands = cands if len(cands) else np.setdiff1d(np.arange(len(self.pool)), taken)
        if not len(cands):
            raise ValueError("the multi-objective surrogate has asked every architecture of its pool")
        rows = np.array([self._index[str(a)] for a, _ in self.told])
        told = self._told_points()
        per_tree = []  # per modelled objective: (trees, candidates)
        for j in self.modelled:
            model = self._make_regressor(int(self._rng.integers(2**31 - 1)))
            model.fit(self._X[rows], told[:, j])
            per_tree.append(_tree_predictions(model, self._X[cands]))
        self.n_fits += 1
        # normalised, minimised coordinates: told points and candidates' per-tree predictions
        z_told = np.zeros_like(told)
        z_pred = []
        for k, j in enumerate(self.modelled):
            lo = min(told[:, j].min(), per_tree[k].min())
            hi = max(told[:, j].max(), per_tree[k].max())
            hi = hi if hi > lo else lo + 1.0
            scale = ObjectiveScale((self.senses[j],), (lo,), (hi,))
            z_told[:, j] = scale.normalise(told[:, [j]])[:, 0]
            z_pred.append(scale.normalise(per_tree[k].reshape(-1, 1)).reshape(per_tree[k].shape))
        for k, j in enumerate(self.free):
            z_told[:, j] = self._known_z[rows, k]
        pick = None
        if len(self.told) < self.n_init + self.exploit_first or (
                self.exploit_every and (len(self.told) - self.n_init) % self.exploit_every == self.exploit_every - 1):
            pick = int(np.argmin(z_pred[0].mean(axis=0) - self.kappa * z_pred[0].std(axis=0)))
        elif self.acquisition == "ehvi":
            (j,), (f,) = self.modelled, self.free
            ref = np.full(2, 1.01)
            front = z_told[non_dominated(z_told, ("min", "min"))][:, [j, f]]
            gain = hvi_2d(front, z_pred[0], self._known_z[cands, 0][None, :], ref).mean(axis=0)
            if gain.max() > 0:
                pick = int(np.argmax(gain))
        if pick is None:
            pick = self._parego(cands, z_pred)
        return self.pool[int(cands[pick])]

    def _parego(self, cands: np.ndarray, z_pred: list[np.ndarray]) -> int:
        """Position in ``cands`` of the least augmented Chebyshev scalarisation, random weights."""
        m = len(self.senses)
        z = np.zeros((len(cands), m))
        for k, j in enumerate(self.modelled):
            z[:, j] = z_pred[k].mean(axis=0) - self.kappa * z_pred[k].std(axis=0)  # optimistic (minimised)
        for k, j in enumerate(self.free):
            z[:, j] = self._known_z[cands, k]
        w = self._rng.dirichlet(np.ones(m))
        s = (w * z).max(axis=1) + 0.05 * (w * z).sum(axis=1)
        return int(np.argmin(s))


def _rows_of(frame, keys: list[str], what: str) -> np.ndarray:
    missing = [k for k in keys if k not in frame.index]
    if missing:
        raise ValueError(f"{what}: no value for {len(missing)} of {len(keys)} pool nets, e.g. {missing[0]}")
    return np.asarray(frame.loc[keys].to_numpy(), dtype=np.float64)


def _tree_predictions(model, X) -> np.ndarray:
    """(trees, rows) predictions of a tree ensemble; a model without trees gives its one prediction."""
    forests = model._forests() if callable(getattr(model, "_forests", None)) else \
        [getattr(model, "estimator_", model)]
    trees = [t for f in forests for t in getattr(f, "estimators_", [])]
    if not trees:
        return np.asarray(model.predict(X), dtype=np.float64)[None, :]
    return np.stack([t.predict(X) for t in trees])


# ---------------------------------------------------------------------------- registry and loop
#: the default of ``graf search --objectives``
DEFAULT_MO_ALGORITHM = "surrogate-bo"
MO_ALGORITHMS = ("surrogate-bo", "random", "nsga2", "mo-rea")


def make_mo_strategy(algorithm: str, *, seed, senses, features=None, known=None, prior=None, options=None,
                     space="nb201", pool=None, valid_only: bool = False) -> Strategy:
    """A fresh multi-objective strategy (:data:`MO_ALGORITHMS`). ``surrogate-bo`` needs
    ``features`` (and uses ``known`` and ``prior`` when given)."""
    opts = dict(options or {})
    common = dict(senses=senses, seed=seed, space=space, pool=pool, valid_only=valid_only)
    if algorithm == "random":
        return MORandomSearch(**common)
    if algorithm == "mo-rea":
        return MOREA(**opts, **common)
    if algorithm == "nsga2":
        return NSGAII(**opts, **common)
    if algorithm == "surrogate-bo":
        if features is None:
            raise ValueError("the multi-objective surrogate-bo needs a feature table")
        return MOSurrogateBO(features=features, known=known, prior=prior, **opts, **common)
    raise ValueError(f"unknown multi-objective algorithm {algorithm!r}; available: {', '.join(MO_ALGORITHMS)}")


@dataclass
class MOSearchResult:
    """``pareto``: the returned set (Pareto set of the queried nets by signal values);
    ``hypervolume_ratio`` / ``igd``: of that set's reported values against the exact front;
    ``queried_hypervolume_ratio``: of every queried net's reported values (an oracle's pick)."""

    pareto: list[str]
    hypervolume_ratio: float
    igd: float
    queried_hypervolume_ratio: float
    queries: int
    seconds: float
    history: pd.DataFrame = field(repr=False)


def run_mo_search(strategy: Strategy, objective: MultiObjective, budget: float, *, unit: str = "queries",
                  max_asks: int | None = None, journal=None, replay: Sequence[dict] = ()) -> MOSearchResult:
    """Ask, query (every objective's value), tell until the budget is spent, as
    :func:`~graf.search.runner.run_search`; return the Pareto set of the queried nets.

    ``journal`` / ``replay``: as in :func:`~graf.search.runner.run_search`, one dict per charged
    query (``outcome``: every objective's value by name). Replayed queries must be the ones
    this run asks at the same points (else a ValueError: the records belong to another run);
    their recorded values are told.
    """
    from graf.search.runner import BUDGET_UNITS

    if unit not in BUDGET_UNITS:
        raise ValueError(f"unknown budget unit {unit!r}; available: {', '.join(BUDGET_UNITS)}")
    if not budget > 0 or (unit == "queries" and int(budget) != budget):
        raise ValueError(f"budget must be > 0 (a whole number of queries), got {budget}")
    objective.reset()
    limit = max_asks or (100 * int(budget) if unit == "queries" else 100_000)
    spent = (lambda: objective.queries) if unit == "queries" else (lambda: objective.seconds)
    replay = list(replay)
    asks = 0
    while spent() < budget and asks < limit:
        arch = strategy.ask()
        asks += 1
        charged = objective.queries
        values = objective(arch)
        interrupt.check()  # a stop a library swallowed during this query: the query is not kept
        if objective.queries > charged:  # a new net, charged now
            if replay:
                rec = replay.pop(0)
                if rec["arch"] != str(arch) or rec["asks"] != asks:
                    raise ValueError(f"the checkpoint's query {objective.queries} ({rec['arch']}) is not what this "
                                     "run asks at that point: it belongs to another run; delete it to start over")
                values = tuple(float(rec["outcome"][name]) for name in objective.names)
            elif journal is not None:
                journal({"n": objective.queries, "asks": asks, "arch": str(arch),
                         "outcome": dict(zip(objective.names, map(float, values)))})
        strategy.tell(arch, values)
    if replay:
        raise ValueError(f"the checkpoint holds {len(replay)} more queries than this run asks: it belongs to another "
                         "run; delete it to start over")
    history = objective.history_frame()
    queried = list(history["arch"])
    pareto = objective.pareto_set(queried)
    return MOSearchResult(pareto, objective.front.hypervolume_ratio(pareto), objective.front.igd(pareto),
                          objective.front.hypervolume_ratio(queried), objective.queries, objective.seconds, history)
