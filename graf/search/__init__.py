"""Architecture search on benchmark tables: objective, ask/tell strategies, search loop.

Light to import: scikit-learn is imported only when a surrogate is fitted, torch only when
NASWOT scores are computed on demand.
"""

from graf.search.multi import (
    MO_ALGORITHMS,
    MOREA,
    NSGAII,
    MORandomSearch,
    MOSurrogateBO,
    MultiObjective,
    make_mo_strategy,
    parse_objectives,
    run_mo_search,
)
from graf.search.objective import BenchmarkObjective
from graf.search.pareto import (
    ObjectiveScale,
    ParetoFront,
    hypervolume,
    hypervolume_ratio,
    igd,
    nb201_front,
    non_dominated,
    normalised_hypervolume,
)
from graf.search.runner import ALGORITHMS, BUDGET_UNITS, SearchResult, make_strategy, run_search, surrogate_features
from graf.search.scores import (
    ComputedScores,
    PublishedScores,
    ScoreProvider,
    TableScores,
    proxy_prior,
    rank_prior,
    score_provider,
)
from graf.search.strategies import AREA, NASWOT, REA, REINFORCE, OptunaSearch, ProxyREA, RandomSearch, Strategy, SurrogateBO, SurrogateREA

__all__ = [
    "ALGORITHMS",
    "AREA",
    "BUDGET_UNITS",
    "BenchmarkObjective",
    "MO_ALGORITHMS",
    "MOREA",
    "MORandomSearch",
    "MOSurrogateBO",
    "MultiObjective",
    "NSGAII",
    "make_mo_strategy",
    "parse_objectives",
    "run_mo_search",
    "ComputedScores",
    "NASWOT",
    "ObjectiveScale",
    "OptunaSearch",
    "ParetoFront",
    "ProxyREA",
    "PublishedScores",
    "REA",
    "REINFORCE",
    "RandomSearch",
    "ScoreProvider",
    "SurrogateBO",
    "proxy_prior",
    "rank_prior",
    "SearchResult",
    "Strategy",
    "SurrogateREA",
    "TableScores",
    "hypervolume",
    "hypervolume_ratio",
    "igd",
    "make_strategy",
    "nb201_front",
    "non_dominated",
    "normalised_hypervolume",
    "run_search",
    "score_provider",
    "surrogate_features",
]
