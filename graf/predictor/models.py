"""Named predictor recipes for the evaluation protocol: ``name -> factory(seed, n_jobs)``.

Every factory returns an unfitted scikit-learn estimator seeded with the run's seed.
Hyperparameter searches (``*-cv``) cross-validate on the training set they are fitted on
only, so nothing from the protocol's test set reaches training.
"""

from __future__ import annotations

from typing import Callable

from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import VotingRegressor
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from graf.optional import require
from graf.predictor.blend import SizeScaledBlend, SizeSwitch, without_cell_columns
from graf.predictor.cellgnn import CellGNNRegressor
from graf.predictor.equivalent import EquivalentNetsMean
from graf.predictor.estimator import GrafRegressor, kendall_tau_score
from graf.predictor.impute import WorstValueImputer
from graf.predictor.latency import LookupTableLatency
from graf.predictor.targets import LogErrorTransformer

__all__ = [
    "PREDICTORS",
    "DETERMINISTIC",
    "HANDLES_MISSING",
    "make_predictor",
    "tuned_regressor",
    "DEFAULT_GRID",
    "catboost_logerr",
    "cell_gnn_logerr",
    "forests_and_catboost",
    "forests_catboost_and_gnn",
    "forests_catboost_and_pruned_gnn",
    "size_switched_catboost",
    "with_isomorphic_means",
    "proxy_gnn_logerr",
    "with_proxy_gnn",
]

#: the grid searched by the ``*-cv`` recipes (chosen by Kendall tau in k-fold CV on the train set).
DEFAULT_GRID = {"max_features": [1.0, 0.33, 0.1]}


def lightgbm_regressor(seed: int, n_jobs: int | None = 1):
    """LightGBM gradient boosting (optional extra ``boost``): 500 trees, learning rate 0.05,
    row subsampling 0.8, column subsampling 0.5, at least 5 nets per leaf."""
    LGBMRegressor = require("lightgbm", needed_for="model 'lightgbm'", install="pip install 'graf-nas[boost]'").LGBMRegressor
    return LGBMRegressor(
        n_estimators=500,
        learning_rate=0.05,
        min_child_samples=5,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.5,
        random_state=seed,
        n_jobs=n_jobs or 1,
        verbose=-1,
    )


def catboost_logerr(seed: int, n_jobs: int | None = 1, *, iterations: int = 2000, rsm: float = 0.33, depth: int = 6):
    """CatBoost (optional extra ``boost``) fitted on ``log(100.5 - accuracy)``; for accuracies in percent.

    2000 symmetric trees of depth 6 (CatBoost's default depth and automatic learning rate), a
    third of the features per split (``rsm``). The log-error target is
    :class:`graf.predictor.targets.LogErrorTransformer`; targets of 100.5 or more are rejected.
    """
    CatBoostRegressor = require(
        "catboost", needed_for="model 'catboost-logerr'", install="pip install 'graf-nas[boost]'"
    ).CatBoostRegressor
    booster = CatBoostRegressor(
        iterations=iterations,
        rsm=rsm,
        depth=depth,
        random_seed=seed,
        thread_count=n_jobs or 1,
        verbose=0,
        allow_writing_files=False,
    )
    return TransformedTargetRegressor(regressor=booster, transformer=LogErrorTransformer())


def forests_and_catboost(seed: int, n_jobs: int | None = 1) -> VotingRegressor:
    """Weighted mean of ``rf+et-mf0.33`` (weight 1) and ``catboost-logerr`` (weight 2)."""
    return VotingRegressor(
        [("forests", PREDICTORS["rf+et-mf0.33"](seed, n_jobs)), ("catboost", catboost_logerr(seed, n_jobs))],
        weights=[1, 2],
    )


def cell_gnn_logerr(seed: int, n_jobs: int | None = 1, *, prune: bool = False) -> TransformedTargetRegressor:
    """:class:`graf.predictor.cellgnn.CellGNNRegressor` (5 networks) fitted on ``log(100.5 - accuracy)``.

    Reads only the ``onehot`` feature group (needs it in the inputs) and needs PyTorch.
    ``n_jobs`` is not used: torch's own thread setting applies. ``prune``: the GNN reads each
    cell with its dead edges set to ``none``.
    """
    return TransformedTargetRegressor(
        regressor=CellGNNRegressor(random_state=seed, prune=prune), transformer=LogErrorTransformer()
    )


def forests_catboost_and_gnn(seed: int, n_jobs: int | None = 1) -> SizeScaledBlend:
    """Weighted mean of ``rf+et-mf0.33`` (weight 1), ``catboost-logerr`` (2) and ``cellgnn-logerr``.

    The GNN reads the cell from the ``onehot`` group, which the two tree members do not see.
    Its weight is ``0.5 * sqrt(min(n, 1024) / 1024)`` for ``n`` training nets (0.09 at 32,
    0.18 at 128, 0.5 from 1024 on): it needs data the trees do not (docs/BENCHMARKS.md).
    """
    return SizeScaledBlend(
        [
            ("forests", without_cell_columns(PREDICTORS["rf+et-mf0.33"](seed, n_jobs))),
            ("catboost", without_cell_columns(catboost_logerr(seed, n_jobs))),
            ("gnn", cell_gnn_logerr(seed, n_jobs)),
        ],
        weights=[1, 2, 0.5],
        grow={"gnn": 1024},
    )


def size_switched_catboost(seed: int, n_jobs: int | None = 1) -> SizeSwitch:
    """``catboost-logerr`` of depth 4 below 512 training nets, of depth 6 (the default) from 512 on.

    On the tuning seeds (10–14; FLAN's and GRAF's protocols, docs/BENCHMARKS.md) depth 4 ranked
    better on 32–256 nets and equal or slightly worse on 512–1024.
    """
    return SizeSwitch(catboost_logerr(seed, n_jobs, depth=4), catboost_logerr(seed, n_jobs), threshold=512)


def forests_catboost_and_pruned_gnn(seed: int, n_jobs: int | None = 1) -> SizeScaledBlend:
    """``rf+et+catboost+gnn`` for nets with dead branches and proxies that could not be computed.

    The same three members, but the two tree members first fill NaN feature values with the
    worst training value of their column (:class:`graf.predictor.impute.WorstValueImputer`;
    NB201: the cells whose input never reaches the output), the GNN reads the pruned cell (dead
    edges set to ``none``), the forests' weight grows as ``sqrt(min(n, 512) / 512)`` (0.25
    at 32, 1 from 512 on): on 32 nets CatBoost alone ranks better than with the forests, and
    CatBoost has depth 4 below 512 training nets (:func:`size_switched_catboost`). On NB201's
    valid nets with complete proxies, from 512 training nets on, each member predicts exactly as
    in ``rf+et+catboost+gnn``. Meant for feature tables of pruned equivalents
    (``build_dataset(pruned=True, keep_missing_proxies=True)``; FLAN's protocol, docs/BENCHMARKS.md).
    """
    return SizeScaledBlend(
        [
            ("forests", make_pipeline(WorstValueImputer(), without_cell_columns(PREDICTORS["rf+et-mf0.33"](seed, n_jobs)))),
            ("catboost", make_pipeline(WorstValueImputer(), without_cell_columns(size_switched_catboost(seed, n_jobs)))),
            ("gnn", cell_gnn_logerr(seed, n_jobs, prune=True)),
        ],
        weights=[1, 2, 0.5],
        grow={"forests": 512, "gnn": 1024},
    )


def proxy_gnn_logerr(seed: int, n_jobs: int | None = 1) -> TransformedTargetRegressor:
    """The cell GNN that also reads the ``proxies`` group (``extra_prefix="proxies."``), on the
    pruned cell, NaN proxies filled with the worst training value, fitted on the log error."""
    gnn = CellGNNRegressor(random_state=seed, prune=True, extra_prefix="proxies.")
    return TransformedTargetRegressor(regressor=make_pipeline(WorstValueImputer(), gnn), transformer=LogErrorTransformer())


#: the weight of :func:`proxy_gnn_logerr` in ``rf+et+catboost+gnn+pgnn-iso`` (tuning seeds 100-109, 100-104 at 1024 nets; docs/BENCHMARKS.md)
PROXY_GNN_WEIGHT = 0.5


def with_proxy_gnn(seed: int, n_jobs: int | None = 1) -> EquivalentNetsMean:
    """``rf+et+catboost+gnn-iso`` with a fourth member, :func:`proxy_gnn_logerr` (weight 0.5 at
    every size, against the trees' 2.25 at 32 nets): on 32 training nets it adds what neither the
    trees nor the cell-only GNN give (docs/BENCHMARKS.md). Needs the ``proxies`` and ``onehot`` groups."""
    blend = forests_catboost_and_pruned_gnn(seed, n_jobs)
    blend.set_params(
        estimators=[*blend.estimators, ("proxy_gnn", proxy_gnn_logerr(seed, n_jobs))],
        weights=[*blend.weights, PROXY_GNN_WEIGHT],
    )
    return EquivalentNetsMean(blend, weight=1.0)


def with_isomorphic_means(seed: int, n_jobs: int | None = 1) -> EquivalentNetsMean:
    """``rf+et+catboost+gnn-pruned``, but a net isomorphic to training nets gets their mean target.

    :class:`graf.predictor.equivalent.EquivalentNetsMean` with weight 1 over NB201's ``iso_key``
    (the cell read from the ``onehot`` group): isomorphic cells compute the same function, and
    their measured accuracies agree better with each other than the blend's predictions do.
    """
    return EquivalentNetsMean(forests_catboost_and_pruned_gnn(seed, n_jobs), weight=1.0)


def tuned_regressor(
    *,
    base: GrafRegressor | None = None,
    param_grid: dict | None = None,
    cv: int = 5,
    random_state: int | None = None,
    n_jobs: int | None = None,
) -> GridSearchCV:
    """Grid search over ``base`` (default :class:`GrafRegressor`) by Kendall tau in shuffled k-fold CV.

    The folds are drawn from the data passed to ``fit`` only; the best setting is refitted on
    all of it.
    """
    base = base if base is not None else GrafRegressor(random_state=random_state, n_jobs=n_jobs)
    return GridSearchCV(
        base,
        param_grid if param_grid is not None else DEFAULT_GRID,
        scoring=kendall_tau_score,
        cv=KFold(n_splits=cv, shuffle=True, random_state=random_state),
        refit=True,
        n_jobs=1,
    )


PREDICTORS: dict[str, Callable[[int, int | None], object]] = {
    # the paper's predictor: RandomForestRegressor(random_state=seed), sklearn defaults
    "rf": lambda seed, n_jobs: GrafRegressor(random_state=seed, n_jobs=n_jobs),
    "rf-rank": lambda seed, n_jobs: GrafRegressor(target_transform="rank", random_state=seed, n_jobs=n_jobs),
    "rf-500": lambda seed, n_jobs: GrafRegressor(n_estimators=500, random_state=seed, n_jobs=n_jobs),
    "rf-mf0.33": lambda seed, n_jobs: GrafRegressor(max_features=0.33, random_state=seed, n_jobs=n_jobs),
    "extra_trees": lambda seed, n_jobs: GrafRegressor(model="extra_trees", random_state=seed, n_jobs=n_jobs),
    # a random forest and extremely randomised trees, 300 trees each, a third of the features
    # per split, predictions averaged: the best forest recipe measured (docs/BENCHMARKS.md)
    "rf+et-mf0.33": lambda seed, n_jobs: GrafRegressor(
        model="rf+extra_trees", n_estimators=300, max_features=0.33, random_state=seed, n_jobs=n_jobs
    ),
    "rf-cv": lambda seed, n_jobs: tuned_regressor(random_state=seed, n_jobs=n_jobs),
    "extra_trees-cv": lambda seed, n_jobs: tuned_regressor(
        base=GrafRegressor(model="extra_trees", random_state=seed, n_jobs=n_jobs), random_state=seed
    ),
    "lightgbm": lightgbm_regressor,
    # CatBoost on the log error rate, alone and averaged with rf+et-mf0.33: the best measured
    # (docs/BENCHMARKS.md); both need the optional extra "boost" and accuracy targets in percent
    "catboost-logerr": catboost_logerr,
    "rf+et+catboost-logerr": forests_and_catboost,
    # a graph neural network on the cell (onehot group, PyTorch), alone and as a third member
    # of the blend above, where it adds what the features miss (docs/BENCHMARKS.md)
    "cellgnn-logerr": cell_gnn_logerr,
    "rf+et+catboost+gnn": forests_catboost_and_gnn,
    # the same for nets with dead branches (the GNN reads the pruned cell) and NaN proxies
    # (filled with the worst training value): FLAN's protocol on all NB201 nets (docs/BENCHMARKS.md)
    "rf+et+catboost+gnn-pruned": forests_catboost_and_pruned_gnn,
    # the same, a net isomorphic to training nets predicted as their mean (docs/BENCHMARKS.md)
    "rf+et+catboost+gnn-iso": with_isomorphic_means,
    # the same with a GNN that reads the proxies beside the cell, FLAN-style (docs/BENCHMARKS.md)
    "proxy-gnn-logerr": proxy_gnn_logerr,
    "rf+et+catboost+gnn+pgnn-iso": with_proxy_gnn,
    # latency/energy targets: bias + a least-squares cost per (edge, op), ProxylessNAS-style
    # (graf.predictor.latency; reads the onehot group)
    "lut": lambda seed, n_jobs: LookupTableLatency(),
}
#: recipes without randomness: they take the run's seed but do not use it
DETERMINISTIC = frozenset({"lut"})
#: recipes that accept NaN feature values (they fill them); the protocol rejects NaN for the others
HANDLES_MISSING = frozenset(
    {"rf+et+catboost+gnn-pruned", "rf+et+catboost+gnn-iso", "proxy-gnn-logerr", "rf+et+catboost+gnn+pgnn-iso"}
)


def make_predictor(name: str, seed: int, n_jobs: int | None = 1):
    """An unfitted estimator of recipe ``name`` seeded with ``seed``."""
    try:
        factory = PREDICTORS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(PREDICTORS)}") from None
    return factory(seed, n_jobs)
