"""graf: predict neural-network accuracy without training.

Architectures (:mod:`graf.spaces`) become graphs and feature tables (:mod:`graf.features`),
benchmark data comes from :mod:`graf.data`. This package never imports torch; the
zero-cost proxies live in the separate ``proxies`` package.
"""

from graf.features import feature_table, graph_features
from graf.spaces import SPACES, get_space
from graf.spaces.nb201 import NB201Arch

__version__ = "0.1.0"

__all__ = ["NB201Arch", "SPACES", "feature_table", "get_space", "graph_features", "__version__"]
