"""Architecture search on benchmark tables: objective, ask/tell strategies, search loop.

Light to import: scikit-learn is imported only when a surrogate is fitted, torch only when
NASWOT scores are computed on demand.
"""

from graf.search.objective import BenchmarkObjective
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
    "ComputedScores",
    "NASWOT",
    "OptunaSearch",
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
    "make_strategy",
    "run_search",
    "score_provider",
    "surrogate_features",
]
