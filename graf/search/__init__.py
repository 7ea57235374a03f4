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
    score_provider,
)
from graf.search.strategies import AREA, NASWOT, REA, RandomSearch, Strategy, SurrogateREA

__all__ = [
    "ALGORITHMS",
    "AREA",
    "BUDGET_UNITS",
    "BenchmarkObjective",
    "ComputedScores",
    "NASWOT",
    "PublishedScores",
    "REA",
    "RandomSearch",
    "ScoreProvider",
    "SearchResult",
    "Strategy",
    "SurrogateREA",
    "TableScores",
    "make_strategy",
    "run_search",
    "score_provider",
    "surrogate_features",
]
