"""Search strategies with an optuna-like ask/tell interface and an explicit seed.

Every strategy follows one contract (tested for all of them in ``tests/test_search_contract.py``):

* keyword-only hyperparameters and ``seed`` (an int or ``np.random.Generator``); the same seed
  and the same told values give the same asks;
* ``space`` (a name or a :class:`~graf.spaces.base.Space`, default ``nb201``) is the space
  searched; ``pool`` (optional) restricts it to a list of its architectures, e.g. the nets a
  benchmark has values for; mutation then moves only between pool members (a parent with no
  neighbour in the pool is replaced by a random pool member);
* ``ask()`` returns an architecture of the space (a valid cell when ``valid_only``, a pool
  member when a pool is given); several asks may be pending at once;
* ``tell(arch, value)`` reports the target value of a pending ask; telling an architecture
  that is not pending, or a non-finite value, is a ``ValueError``;
* ``recommend()`` is the architecture the strategy would return now (best told value, or for
  query-free strategies the best by their own score), or None;
* ``uses_queries`` says whether the strategy needs the objective at all (NASWOT does not).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import deque
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from graf.spaces import InvalidParameters, get_space

__all__ = ["Strategy", "RandomSearch", "REA", "AREA", "NASWOT", "SurrogateREA", "SurrogateBO", "REINFORCE", "OptunaSearch", "ProxyREA", "TENAS"]


@lru_cache(maxsize=8)
def _space_pool(space, valid_only: bool) -> tuple:
    archs = space.valid_archs() if valid_only else space.enumerate()
    if archs is None:
        raise ValueError(f"space {space.name!r} cannot be enumerated; give the strategy a pool of architectures")
    return tuple(archs)


def _scored_nets_only(scores, valid_only: bool | None) -> bool:
    """``valid_only`` for a strategy scored by ``scores`` (default: the scores' own coverage);
    a provider that scores valid nets only cannot serve a search of every net."""
    valid_only = scores.valid_only if valid_only is None else valid_only
    if scores.valid_only and not valid_only:
        raise ValueError(f"scores from {scores.source} cover valid nets only; use valid_only=True")
    return bool(valid_only)


class Strategy:
    """Base class: bookkeeping of pending asks and told values."""

    uses_queries = True

    def __init__(self, *, seed: int | np.random.Generator, valid_only: bool = False, space="nb201",
                 pool: Sequence[object] | None = None) -> None:
        if seed is None:
            raise ValueError("a search strategy needs an explicit seed (int or numpy Generator)")
        self.seed = seed
        self.valid_only = bool(valid_only)
        self.space = get_space(space)
        self._rng = np.random.default_rng(seed)
        self._pending: dict[str, object] = {}
        self.told: list[tuple[object, float]] = []
        if pool is None:
            self._pool_set = None
        else:
            members = tuple(self.space.unique(pool, what="pool members"))
            if self.valid_only:
                members = tuple(a for a in members if self.space.is_valid(a))
            if not members:
                raise ValueError("the strategy's pool of architectures is empty")
            self._pool = members
            self._pool_set = frozenset(members)

    # -------------------------------------------------------------- helpers
    @property
    def pool(self) -> tuple:
        """The architectures the strategy draws from (the space's, or the given pool)."""
        if self._pool_set is None:
            return _space_pool(self.space, self.valid_only)
        return self._pool

    def _random_arch(self):
        pool = self.pool
        return pool[int(self._rng.integers(len(pool)))]

    def _mutate(self, arch):
        if self._pool_set is None:
            return self.space.mutate(arch, self._rng, valid_only=self.valid_only)
        options = [a for a in self.space.neighbours(arch, valid_only=self.valid_only) if a in self._pool_set]
        if not options:
            return self._random_arch()
        return options[int(self._rng.integers(len(options)))]

    def _issue(self, arch: object) -> object:
        self._pending[str(arch)] = arch
        return arch

    # -------------------------------------------------------------- contract
    def ask(self) -> object:
        arch = self._propose()
        return self._issue(arch)

    def _propose(self) -> object:  # pragma: no cover - abstract
        raise NotImplementedError

    def tell(self, arch: object, value: float) -> None:
        key = str(arch)
        if key not in self._pending:
            raise ValueError(f"tell({key!r}): this architecture was not asked (or was already told)")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"tell: value must be a number, got {value!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"tell: value must be finite, got {value!r}")
        arch = self._pending.pop(key)
        self.told.append((arch, value))
        self._observe(arch, value)

    def _observe(self, arch: object, value: float) -> None:
        """Hook for subclasses: a value has been told."""

    def discard(self, arch: object) -> None:
        """Forget a pending ask whose evaluation failed (it is not told; it may be asked again
        by strategies that re-propose, never by those that remember what they asked)."""
        key = str(arch)
        if key not in self._pending:
            raise ValueError(f"discard({key!r}): this architecture is not pending")
        del self._pending[key]

    def recommend(self) -> object | None:
        if not self.told:
            return None
        return max(self.told, key=lambda t: t[1])[0]  # first on ties

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"


class RandomSearch(Strategy):
    """Uniform random search without replacement over the space."""

    def __init__(self, *, seed, valid_only: bool = False, space="nb201", pool=None) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        self._order = self._rng.permutation(len(self.pool))
        self._next = 0

    def _propose(self) -> object:
        if self._next >= len(self._order):
            raise ValueError("random search has asked every architecture of the space")
        arch = self.pool[int(self._order[self._next])]
        self._next += 1
        return arch


class REA(Strategy):
    """Regularized evolution (Real et al. 2019): the population starts from
    ``population_size`` random nets; each step samples ``sample_size`` members, mutates the
    best one (one edge's op changed), adds the child and removes the oldest member."""

    def __init__(self, *, population_size: int = 10, sample_size: int = 3, seed, valid_only: bool = False,
                 space="nb201", pool=None) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        if population_size < 1 or sample_size < 1 or sample_size > population_size:
            raise ValueError(
                f"REA needs 1 <= sample_size <= population_size, got sample_size={sample_size}, population_size={population_size}"
            )
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.population: deque[tuple[object, float]] = deque()
        self._initial: list[object] | None = None
        self._n_initial_asked = 0

    def _initial_population(self) -> list[object]:
        return [self._random_arch() for _ in range(self.population_size)]

    def _tournament(self) -> object:
        members = list(self.population)
        idx = self._rng.choice(len(members), size=min(self.sample_size, len(members)), replace=False)
        return max((members[i] for i in sorted(idx)), key=lambda t: t[1])[0]

    def _propose(self) -> object:
        if self._initial is None:
            self._initial = self._initial_population()
        if self._n_initial_asked < len(self._initial):
            self._n_initial_asked += 1
            return self._initial[self._n_initial_asked - 1]
        if not self.population:
            raise ValueError("REA: tell the initial population's values before asking for children")
        return self._child()

    def _child(self) -> object:
        return self._mutate(self._tournament())

    def _observe(self, arch: object, value: float) -> None:
        self.population.append((arch, value))
        while len(self.population) > self.population_size:
            self.population.popleft()


class AREA(REA):
    """Assisted REA (NASWOT paper): score ``n_init_samples`` random nets with a training-free
    proxy and keep the best ``population_size`` as REA's initial population (still queried)."""

    def __init__(self, *, scores, population_size: int = 10, sample_size: int = 3, n_init_samples: int = 20,
                 seed, valid_only: bool | None = None, space="nb201", pool=None) -> None:
        valid_only = _scored_nets_only(scores, valid_only)
        super().__init__(population_size=population_size, sample_size=sample_size, seed=seed, valid_only=valid_only,
                         space=space, pool=pool)
        if n_init_samples < population_size:
            raise ValueError(f"AREA needs n_init_samples >= population_size, got {n_init_samples} < {population_size}")
        self.scores = scores
        self.n_init_samples = int(n_init_samples)

    def _initial_population(self) -> list[object]:
        cands = [self._random_arch() for _ in range(self.n_init_samples)]
        s = self.scores.scores(cands)
        order = np.argsort(-s, kind="stable")[: self.population_size]
        return [cands[i] for i in order]


class NASWOT(Strategy):
    """NASWOT search (Mellor et al. 2021): score ``n_samples`` random nets, return the best
    score. It queries nothing (``uses_queries`` is False); asking yields the sampled nets in
    descending score order, so a query budget turns it into "train the top-k by score"."""

    uses_queries = False

    def __init__(self, *, scores, n_samples: int = 100, seed, valid_only: bool | None = None, space="nb201",
                 pool=None) -> None:
        valid_only = _scored_nets_only(scores, valid_only)
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        if n_samples < 1:
            raise ValueError(f"NASWOT needs n_samples >= 1, got {n_samples}")
        self.scores = scores
        self.n_samples = int(n_samples)
        cands = [self._random_arch() for _ in range(self.n_samples)]
        s = scores.scores(cands)
        order = np.argsort(-s, kind="stable")
        ranked = list(dict.fromkeys(cands[i] for i in order))
        self.ranked = ranked
        self._next = 0

    def _propose(self) -> object:
        if self._next >= len(self.ranked):
            raise ValueError(f"NASWOT has asked all of its {len(self.ranked)} distinct sampled nets")
        self._next += 1
        return self.ranked[self._next - 1]

    def recommend(self) -> object:
        return super().recommend() if self.told else self.ranked[0]


class SurrogateREA(REA):
    """REA in which a predictor decides which child to query.

    The first ``n_init`` asks are random nets (warm start; with ``scores`` they are the top
    ``n_init`` of ``n_init_samples`` random nets by proxy score, as AREA). After that each ask
    generates ``n_candidates`` distinct, not yet queried children by tournament selection and
    mutation, predicts their target with a regressor fitted on all told values, and returns
    the best one by ``mean + kappa * sd`` (with probability ``epsilon`` a random candidate
    instead), where mean and sd are the mean and spread of the ensemble's trees' predictions
    (``kappa > 0``, an upper confidence bound, also favours candidates the trees disagree on
    and needs a regressor with ``predict_spread``, as :class:`~graf.predictor.GrafRegressor`
    has; ``kappa=0``: the plain prediction, for any regressor with ``predict``). The default
    0.5 found the best net by target more often than 0 on tuning and report seeds
    (docs/BENCHMARKS.md). The regressor is refit after every
    ``refit_every`` new values. With ``skip_isomorphs`` a
    candidate isomorphic to a queried or pending net (same ``iso_key``) is not considered.

    ``features``: a DataFrame of input features indexed by arch string, covering the space.
    ``regressor``: a factory ``seed -> estimator`` with ``fit``/``predict`` (default:
    :func:`default_regressor`, a :class:`~graf.predictor.GrafRegressor`). Feature values may be
    NaN (a proxy that failed for a net); the default regressor learns from them.
    """

    def __init__(
        self,
        *,
        features,
        regressor: Callable[[int], object] | None = None,
        population_size: int = 10,
        sample_size: int = 3,
        n_init: int = 10,
        n_candidates: int = 100,
        refit_every: int = 5,
        epsilon: float = 0.3,
        kappa: float = 0.5,
        scores=None,
        n_init_samples: int = 100,
        skip_isomorphs: bool = False,
        seed,
        valid_only: bool = False,
        space="nb201",
        pool=None,
    ) -> None:
        super().__init__(population_size=population_size, sample_size=sample_size, seed=seed, valid_only=valid_only,
                         space=space, pool=pool)
        if n_candidates < 1 or refit_every < 1 or n_init < 2:
            raise ValueError("SurrogateREA needs n_candidates >= 1, refit_every >= 1 and n_init >= 2")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {epsilon}")
        if not (math.isfinite(kappa) and kappa >= 0.0):
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa}")
        if scores is not None and scores.valid_only and not valid_only:
            raise ValueError(f"scores from {scores.source} cover valid nets only; use valid_only=True")
        self.n_init = int(n_init)
        self.n_candidates = int(n_candidates)
        self.refit_every = int(refit_every)
        self.epsilon = float(epsilon)
        self.kappa = float(kappa)
        self.scores = scores
        self.n_init_samples = int(n_init_samples)
        self.skip_isomorphs = bool(skip_isomorphs)
        if self.skip_isomorphs and self.space.iso_key(self.pool[0]) is None:
            raise ValueError(f"skip_isomorphs needs an isomorphism key, which space {self.space.name!r} does not define")
        self._row = {a: i for i, a in enumerate(features.index)}
        self._X = np.asarray(features.to_numpy(), dtype=np.float64)
        self._make_regressor = regressor or default_regressor
        self.model_ = None
        self._fitted_on = 0
        self.n_fits = 0

    def _initial_population(self) -> list[object]:
        if self.scores is None:
            return [self._random_arch() for _ in range(self.n_init)]
        cands = list(dict.fromkeys(self._random_arch() for _ in range(max(self.n_init_samples, self.n_init))))
        s = self.scores.scores(cands)
        return [cands[i] for i in np.argsort(-s, kind="stable")[: self.n_init]]

    def _rows(self, archs: Sequence[object]) -> np.ndarray:
        try:
            return self._X[[self._row[str(a)] for a in archs]]
        except KeyError as exc:
            raise ValueError(f"no features for {exc.args[0]}") from None

    def _child(self) -> object:
        if self.model_ is None or len(self.told) - self._fitted_on >= self.refit_every:
            archs = [a for a, _ in self.told]
            y = np.array([v for _, v in self.told])
            self.model_ = self._make_regressor(int(self._rng.integers(2**31 - 1)))
            if self.kappa and not callable(getattr(self.model_, "predict_spread", None)):
                raise ValueError(
                    f"kappa={self.kappa} needs a regressor with predict_spread(X) -> (mean, sd), "
                    f"which {type(self.model_).__name__} lacks; use kappa=0"
                )
            self.model_.fit(self._rows(archs), y)
            self._fitted_on = len(self.told)
            self.n_fits += 1
        key = self.space.iso_key if self.skip_isomorphs else str
        seen = {key(a) for a, _ in self.told} | {key(a) for a in self._pending.values()}
        cands: dict[str, object] = {}
        for _ in range(20 * self.n_candidates):
            child = self._mutate(self._tournament())
            if key(child) not in seen:
                cands.setdefault(key(child), child)
            if len(cands) >= self.n_candidates:
                break
        if not cands:  # the neighbourhood is exhausted: plain REA child
            return self._mutate(self._tournament())
        pool = list(cands.values())
        if self.epsilon and self._rng.random() < self.epsilon:
            return pool[int(self._rng.integers(len(pool)))]
        rows = self._rows(pool)
        if self.kappa:
            mean, sd = self.model_.predict_spread(rows)
            pred = mean + self.kappa * sd
        else:
            pred = self.model_.predict(rows)
        return pool[int(np.argmax(pred))]


def default_regressor(seed: int, n_estimators: int = 100, max_features: float = 1.0):
    """The predictor issue's regressor: :class:`graf.predictor.GrafRegressor` (a random forest
    with scikit-learn's defaults except ``n_estimators``), ``random_state=seed``, one thread."""
    from graf.predictor.estimator import GrafRegressor

    return GrafRegressor(n_estimators=n_estimators, max_features=max_features, random_state=seed, n_jobs=1)


def bo_regressor(seed: int):
    """surrogate-BO's regressor: 100 trees that each split on the best of a random third of the
    features (``max_features=0.33``): as good as all features on the tuning seeds at 20 queries
    and a third of the cost (docs/search.md)."""
    return default_regressor(seed, max_features=0.33)


class SurrogateBO(Strategy):
    """Bayesian optimisation over an enumerable pool: a forest surrogate, a zero-cost prior, UCB.

    With a ``prior`` (a score per architecture, higher is better, e.g. :func:`proxy_prior`'s
    rank average of zero-cost proxies; it costs no query), the first ``n_init`` asks are drawn
    at random (seeded) from the ``init_top`` nets with the best prior (by default the
    ``n_init`` best themselves), and every later ask is
    chosen among the ``n_candidates`` nets with the best prior. Without one, the first asks
    are random nets and the candidates are the whole pool. After the first ``n_init`` values
    the regressor is fitted on every told value (refit after each new one) and the ask is the
    not yet queried (nor pending) candidate with the best ``mean + kappa * sd`` over the
    ensemble's trees. The prior, when given, is also an input feature of the regressor.
    When every candidate has been queried, the next asks follow the prior (or are random).

    ``features``: a DataFrame of input features indexed by arch string, covering the pool;
    ``regressor``: a factory ``seed -> estimator`` with ``fit``/``predict_spread`` (default:
    :func:`bo_regressor`); ``prior``: a Series indexed by arch string covering the pool,
    or None.
    """

    def __init__(
        self,
        *,
        features,
        prior=None,
        regressor: Callable[[int], object] | None = None,
        n_init: int = 5,
        init_top: int = 5,
        n_candidates: int = 1000,
        kappa: float = 0.5,
        seed,
        valid_only: bool = False,
        space="nb201",
        pool=None,
    ) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        if n_init < 2 or n_candidates < 1:
            raise ValueError(f"SurrogateBO needs n_init >= 2 and n_candidates >= 1, got {n_init}, {n_candidates}")
        if init_top < n_init:
            raise ValueError(f"SurrogateBO needs init_top >= n_init, got init_top={init_top} < n_init={n_init}")
        if not (math.isfinite(kappa) and kappa >= 0.0):
            raise ValueError(f"kappa must be a finite number >= 0, got {kappa}")
        self.n_init, self.init_top, self.n_candidates, self.kappa = int(n_init), int(init_top), int(n_candidates), float(kappa)
        pool = self.pool
        keys = [str(a) for a in pool]
        missing = [k for k in keys if k not in features.index]
        if missing:
            raise ValueError(f"no features for {len(missing)} of {len(keys)} pool nets, e.g. {missing[0]}")
        X = np.asarray(features.loc[keys].to_numpy(), dtype=np.float64)
        if prior is None:
            self._order = self._rng.permutation(len(pool))  # the "prior" of a search without one: a random order
            self._candidates = np.arange(len(pool))
        else:
            missing = [k for k in keys if k not in prior.index]
            if missing:
                raise ValueError(f"the prior has no value for {len(missing)} of {len(keys)} pool nets, e.g. {missing[0]}")
            score = np.asarray(prior.loc[keys].to_numpy(), dtype=np.float64)
            if not np.isfinite(score).all():
                raise ValueError("the prior must be finite for every pool net")
            self._order = np.argsort(-score, kind="stable")
            self._candidates = self._order[: self.n_candidates]
            X = np.column_stack([X, score])
        self._X = X
        self._index = {k: i for i, k in enumerate(keys)}
        first = self._order[: self.init_top] if prior is not None else self._order
        self._initial = list(self._rng.choice(first, size=min(self.n_init, len(first)), replace=False))
        self._make_regressor = regressor or bo_regressor
        self.model_ = None
        self.n_fits = 0

    def _taken(self) -> set[int]:
        return {self._index[str(a)] for a, _ in self.told} | {self._index[k] for k in self._pending}

    def _propose(self) -> object:
        taken = self._taken()
        while self._initial:
            i = int(self._initial.pop(0))
            if i not in taken:
                return self.pool[i]
        if len(self.told) < 2:
            raise ValueError("SurrogateBO: tell the first asks' values before asking for more")
        cands = self._candidates[~np.isin(self._candidates, list(taken))]
        if not len(cands):  # every candidate queried: follow the prior order
            rest = [i for i in self._order if i not in taken]
            if not rest:
                raise ValueError("SurrogateBO has asked every architecture of its pool")
            return self.pool[int(rest[0])]
        rows = [self._index[str(a)] for a, _ in self.told]
        self.model_ = self._make_regressor(int(self._rng.integers(2**31 - 1)))
        self.model_.fit(self._X[rows], np.array([v for _, v in self.told]))
        self.n_fits += 1
        if self.kappa:
            if not callable(getattr(self.model_, "predict_spread", None)):
                raise ValueError(f"kappa={self.kappa} needs a regressor with predict_spread(X) -> (mean, sd), "
                                 f"which {type(self.model_).__name__} lacks; use kappa=0")
            mean, sd = self.model_.predict_spread(self._X[cands])
            score = mean + self.kappa * sd
        else:
            score = self.model_.predict(self._X[cands])
        return self.pool[int(cands[int(np.argmax(score))])]


class REINFORCE(Strategy):
    """Policy-gradient search (Williams 1992) as NAS-Bench-201's REINFORCE baseline: one softmax
    policy per categorical parameter of the space (:meth:`~graf.spaces.base.Space.parameters`,
    for cells one per edge over its ops), logits starting at 0, trained with Adam
    (``learning_rate``) on ``-log p(arch) * (value - baseline)``, where the baseline is a
    bias-corrected exponential moving average of the values (``momentum``), updated with each
    value before its advantage is taken.

    Each ask samples the policy; a sample that is no architecture (an NB101 choice of edges
    that is not a cell: :class:`~graf.spaces.base.InvalidParameters`), was already queried or
    is pending (or, with a pool or ``valid_only``, outside it) is redrawn, never charged, up to
    ``max_redraws`` times, then replaced by a random pool member not yet asked: the objective
    charges a net once, so asking it again would spend nothing and learn nothing. (NB-201
    charges every sample, repeats included.) The gradient step uses the sampled assignment
    (for a replacement: :meth:`~graf.spaces.base.Space.to_parameters`). ``n_draws``,
    ``n_invalid`` and ``n_fallbacks`` count the policy's samples, those that were no
    architecture, and the asks answered by a replacement.
    """

    def __init__(self, *, learning_rate: float = 0.01, momentum: float = 0.9, max_redraws: int = 100, seed,
                 valid_only: bool = False, space="nb201", pool=None) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        if not (learning_rate > 0 and math.isfinite(learning_rate)):
            raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        self.learning_rate, self.momentum, self.max_redraws = float(learning_rate), float(momentum), int(max_redraws)
        self._params = self.space.parameters()
        self._names = list(self._params)
        self._choice_index = [{c: i for i, c in enumerate(self._params[n])} for n in self._names]
        self.logits = [np.zeros(len(self._params[n])) for n in self._names]
        self._m = [np.zeros_like(z) for z in self.logits]
        self._v = [np.zeros_like(z) for z in self.logits]
        self._steps = 0
        self._ema = self._ema_weight = 0.0
        self._asked: set[str] = set()
        self._sampled: dict[str, dict[str, str]] = {}
        self.n_draws = self.n_invalid = self.n_fallbacks = 0

    def probabilities(self) -> list[np.ndarray]:
        """The policy: one probability vector per parameter, in :meth:`Space.parameters` order."""
        out = []
        for z in self.logits:
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def _allowed(self, arch) -> bool:
        if str(arch) in self._asked:
            return False
        if self._pool_set is not None:
            return arch in self._pool_set
        return not self.valid_only or self.space.is_valid(arch)

    def _propose(self) -> object:
        probs = self.probabilities()
        for _ in range(self.max_redraws + 1):
            values = {n: self._params[n][int(self._rng.choice(len(p), p=p))] for n, p in zip(self._names, probs)}
            self.n_draws += 1
            try:
                arch = self.space.from_parameters(values)
            except InvalidParameters:
                self.n_invalid += 1
                continue
            if self._allowed(arch):
                self._sampled[str(arch)] = values
                break
        else:
            rest = [a for a in self.pool if str(a) not in self._asked]
            if not rest:
                raise ValueError("REINFORCE has asked every architecture of its pool")
            arch = rest[int(self._rng.integers(len(rest)))]
            self.n_fallbacks += 1
        self._asked.add(str(arch))
        return arch

    def _observe(self, arch: object, value: float) -> None:
        self._ema = self.momentum * self._ema + (1 - self.momentum) * value
        self._ema_weight = self.momentum * self._ema_weight + (1 - self.momentum)
        advantage = value - self._ema / self._ema_weight
        chosen = self._sampled.pop(str(arch), None) or self.space.to_parameters(arch)
        self._steps += 1
        b1, b2, eps = 0.9, 0.999, 1e-8  # Adam's defaults
        for k, (name, probs) in enumerate(zip(self._names, self.probabilities())):
            onehot = np.zeros_like(probs)
            onehot[self._choice_index[k][chosen[name]]] = 1.0
            grad = -(onehot - probs) * advantage  # d/dlogits of -log p(choice) * advantage
            self._m[k] = b1 * self._m[k] + (1 - b1) * grad
            self._v[k] = b2 * self._v[k] + (1 - b2) * grad**2
            m_hat = self._m[k] / (1 - b1**self._steps)
            v_hat = self._v[k] / (1 - b2**self._steps)
            self.logits[k] = self.logits[k] - self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)


@contextlib.contextmanager
def _optuna_quiet():
    """optuna's logger at WARNING inside the block (its per-trial INFO lines silenced), restored after."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class OptunaSearch(Strategy):
    """An optuna sampler (default TPE, as the BO baselines of NAS-Bench-201) on the space's
    categorical parameters (:meth:`~graf.spaces.base.Space.parameters`), through optuna's
    ask/tell interface on an in-memory study.

    A suggestion that was already queried is told its known value at once and the sampler asked
    again; one that is no architecture (an NB101 choice of edges that is not a cell:
    :class:`~graf.spaces.base.InvalidParameters`), pending, outside the pool or invalid (with
    ``valid_only``) is told as a failed trial (optuna's samplers then ignore it; no query is
    charged) and asked again. After ``max_redraws`` such suggestions a random pool member not
    yet asked is enqueued instead. ``n_draws``, ``n_invalid`` and ``n_fallbacks`` count the
    sampler's suggestions, those that were no architecture, and the enqueued pool members.
    ``sampler``: ``"tpe"`` (``optuna.samplers.TPESampler``), ``"gp"``
    (``optuna.samplers.GPSampler``: Gaussian-process BO; it needs torch), ``"random"``, or a
    factory ``seed -> BaseSampler``.
    Optuna's per-trial log lines are silenced while the strategy talks to its study.
    """

    SAMPLERS = ("tpe", "gp", "random")

    def __init__(self, *, sampler="tpe", max_redraws: int = 100, seed, valid_only: bool = False, space="nb201",
                 pool=None) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        from graf.optional import require

        self._optuna = optuna = require("optuna", needed_for="the optuna search strategies",
                                        install="pip install 'graf-nas[search]'")
        sampler_seed = int(self._rng.integers(2**31 - 1))
        if callable(sampler):
            made = sampler(sampler_seed)
        elif sampler == "tpe":
            made = optuna.samplers.TPESampler(seed=sampler_seed)
        elif sampler == "gp":
            require("torch", needed_for="optuna's GPSampler", install="pip install torch")
            made = optuna.samplers.GPSampler(seed=sampler_seed)
        elif sampler == "random":
            made = optuna.samplers.RandomSampler(seed=sampler_seed)
        else:
            raise ValueError(f"unknown optuna sampler {sampler!r}; available: {', '.join(self.SAMPLERS)}, or a factory")
        self.max_redraws = int(max_redraws)
        self._params = self.space.parameters()
        with _optuna_quiet():
            self.study = optuna.create_study(direction="maximize", sampler=made)
        self._trials: dict[str, object] = {}
        self._values: dict[str, float] = {}
        self.n_draws = self.n_invalid = self.n_fallbacks = 0

    def _suggest(self, trial):
        values = {name: trial.suggest_categorical(name, list(choices)) for name, choices in self._params.items()}
        return self.space.from_parameters(values)

    def _propose(self) -> object:
        with _optuna_quiet():
            fail = self._optuna.trial.TrialState.FAIL
            for _ in range(self.max_redraws):
                trial = self.study.ask()
                self.n_draws += 1
                try:
                    arch = self._suggest(trial)
                except InvalidParameters:
                    self.n_invalid += 1
                    self.study.tell(trial, state=fail)
                    continue
                key = str(arch)
                if key in self._values:
                    self.study.tell(trial, self._values[key])
                elif key in self._trials or (self._pool_set is not None and arch not in self._pool_set) or (
                        self._pool_set is None and self.valid_only and not self.space.is_valid(arch)):
                    self.study.tell(trial, state=fail)
                else:
                    self._trials[key] = trial
                    return arch
            rest = [a for a in self.pool if str(a) not in self._values and str(a) not in self._trials]
            if not rest:
                raise ValueError("the optuna search has asked every architecture of its pool")
            arch = rest[int(self._rng.integers(len(rest)))]
            self.n_fallbacks += 1
            self.study.enqueue_trial(self.space.to_parameters(arch))
            trial = self.study.ask()
            self._suggest(trial)
            self._trials[str(arch)] = trial
            return arch

    def _observe(self, arch: object, value: float) -> None:
        key = str(arch)
        self._values[key] = value
        with _optuna_quiet():
            self.study.tell(self._trials.pop(key), value)


class ProxyREA(REA):
    """Regularized evolution whose fitness is a zero-cost proxy ("training-free" REA, as in
    Mellor et al.'s NASWOT paper and Abdelfattah et al.'s zero-cost proxies paper): it never
    queries the objective (``uses_queries`` is False). It runs ``n_steps`` proxy evaluations
    (``population_size`` random nets, then children by tournament and mutation, oldest
    removed) and its asks yield the evaluated nets by descending proxy score, so a query budget
    turns it into "train the top-k by proxy"; ``recommend()`` without queries is the best by proxy.
    """

    uses_queries = False

    def __init__(self, *, scores, n_steps: int = 1000, population_size: int = 10, sample_size: int = 3, seed,
                 valid_only: bool | None = None, space="nb201", pool=None) -> None:
        valid_only = _scored_nets_only(scores, valid_only)
        super().__init__(population_size=population_size, sample_size=sample_size, seed=seed, valid_only=valid_only,
                         space=space, pool=pool)
        if n_steps < population_size:
            raise ValueError(f"ProxyREA needs n_steps >= population_size, got {n_steps} < {population_size}")
        self.scores = scores
        self.n_steps = int(n_steps)
        evaluated: dict[object, float] = {}
        for arch in self._initial_population():
            evaluated[arch] = float(self.scores.scores([arch])[0])
            self.population.append((arch, evaluated[arch]))
        for _ in range(self.n_steps - self.population_size):
            child = self._mutate(self._tournament())
            value = evaluated.setdefault(child, float(self.scores.scores([child])[0]))
            self.population.append((child, value))
            self.population.popleft()
        self.ranked = sorted(evaluated, key=lambda a: -evaluated[a])  # stable: first evaluated on ties
        self._next = 0

    def _propose(self) -> object:
        if self._next >= len(self.ranked):
            raise ValueError(f"ProxyREA has asked all of its {len(self.ranked)} distinct evaluated nets")
        self._next += 1
        return self.ranked[self._next - 1]

    def _observe(self, arch: object, value: float) -> None:
        pass  # the evolution ran on the proxy; told values only choose among its top nets

    def recommend(self) -> object:
        return Strategy.recommend(self) if self.told else self.ranked[0]


class TENAS(Strategy):
    """TE-NAS (Chen, Gong, Wang, ICLR 2021): a training-free pruning search on NB201 that never
    queries the objective (``uses_queries`` is False).

    A supernet with every operation but ``none`` on every edge is pruned, one operation per
    edge per round, by the rank sum of two changes when an operation is removed: of the NTK
    condition number κ and of the number of linear regions R (:func:`proxies.tenas.tenas_prune`,
    which needs torch), until one operation is left on each edge; ``recommend()`` is that cell.
    Asks yield it first, then the other nets by how long their operations survived the pruning
    (the sum over edges of the round in which the edge's operation was pruned; ``none`` 0), ties
    in a seeded random order, so a query budget turns it into "train the top-k by TE-NAS".

    ``dataset`` sets the supernet's classes (``cifar10``: 10, ``cifar100``: 100, ``imagenet16``:
    120); the images are the CIFAR-10 training images of the data folder (``data_dir``), or with
    ``synthetic`` a seeded standard-normal set of ``image_size`` pixels (for tests). The other
    keywords are :class:`proxies.tenas.TenasConfig`'s (TE-NAS's NB201 settings by default, except
    ``ntk_method``: ``sample`` (each sample its own BatchNorm batch, about 25 times faster) or
    ``batch`` (TE-NAS's); see docs/search.md). ``pruning`` holds the
    :class:`proxies.tenas.TenasResult` (every candidate's changes and ranks; shared by the
    strategies of the same seed and settings, whose pruning is computed once per process).
    """

    uses_queries = False

    def __init__(self, *, dataset: str = "cifar10", data_dir=None, synthetic: bool = False, image_size: int = 32,
                 ntk_method: str = "sample", init: str = "default", channels: int = 3, cells: int = 1,
                 depth: int | None = None, ntk_batch: int = 72, repeats: int = 3, lr_batches: int = 3, lr_batch_size: int = 1000,
                 precision: int = 3, seed, valid_only: bool = False, space="nb201", pool=None) -> None:
        super().__init__(seed=seed, valid_only=valid_only, space=space, pool=pool)
        if self.space.name != "nb201":
            raise ValueError(f"TE-NAS prunes the NB201 supernet; space {self.space.name!r} has none")
        from graf.optional import require

        require("torch", needed_for="TE-NAS's pruning search", install="pip install 'graf-nas[proxies]'")
        from proxies.tenas import DATASET_CLASSES, TenasConfig

        if dataset not in DATASET_CLASSES:
            raise ValueError(f"TE-NAS: unknown dataset {dataset!r}; available: {', '.join(DATASET_CLASSES)}")
        self.config = TenasConfig(channels=channels, cells=cells, depth=depth, ntk_batch=ntk_batch, repeats=repeats,
                                  lr_batches=lr_batches, lr_batch_size=lr_batch_size, precision=precision,
                                  ntk_method=ntk_method, init=init)
        self.dataset = dataset
        images = ("synthetic", int(image_size)) if synthetic else ("cifar10", None if data_dir is None else str(data_dir))
        self.pruning = _tenas_pruning(int(self._rng.integers(2**62)), DATASET_CLASSES[dataset], images, self.config)
        survival = self.pruning.survival()
        pool = self.pool
        score = np.array([sum(survival[(e, op)] for e, op in enumerate(a.ops)) for a in pool], dtype=np.int64)
        tiebreak = self._rng.permutation(len(pool))
        order = np.lexsort((tiebreak, -score))  # the pruned cell alone has the top score (every edge's survivor)
        self.ranked = [pool[i] for i in order]
        self._next = 0

    def _propose(self) -> object:
        if self._next >= len(self.ranked):
            raise ValueError(f"TE-NAS has asked all of its {len(self.ranked)} nets")
        self._next += 1
        return self.ranked[self._next - 1]

    def recommend(self) -> object:
        return super().recommend() if self.told else self.ranked[0]


@lru_cache(maxsize=32)
def _tenas_pruning(seed: int, classes: int, images: tuple, config):
    """TE-NAS's pruning for one seed (deterministic, so computed once per process and settings).

    ``images``: ``("cifar10", data_dir)`` (the data folder's 932 CIFAR-10 training images) or
    ``("synthetic", size)`` (64 seeded standard-normal images of size x size, at least ntk_batch)."""
    from proxies.batch import NUM_IMAGES, cifar10_batch, synthetic_batch
    from proxies.tenas import tenas_prune

    kind, arg = images
    if kind == "synthetic":
        x = synthetic_batch(max(config.ntk_batch, 64), seed % (2**31), size=arg)
    else:
        x = cifar10_batch(NUM_IMAGES, 0, arg)
    return tenas_prune(x, seed=seed, num_classes=classes, config=config)
