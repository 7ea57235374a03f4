"""graf: predict neural-network accuracy without training.

Architectures (:mod:`graf.spaces`) become graphs and feature tables (:mod:`graf.features`),
benchmark data comes from :mod:`graf.data`. This package never imports torch; the
zero-cost proxies live in the separate ``proxies`` package.

The feature functions are imported on first use (``graf.feature_table``), so that
``import graf.spaces`` or a ``graf proxies`` run does not pay for pandas and networkx.
"""

from importlib.metadata import PackageNotFoundError, version

from graf.spaces import SPACES, Space, get_space
from graf.spaces.nb201 import NB201Arch
from graf.spaces.tnb101_micro import TNB101MicroArch

try:
    __version__ = version("graf-nas")  # one source: pyproject.toml
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["NB201Arch", "SPACES", "Space", "TNB101MicroArch", "feature_table", "get_space", "graph_features",
           "__version__"]

_LAZY = {"feature_table": "graf.features", "graph_features": "graf.features"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
