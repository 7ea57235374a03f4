"""Feature configuration: which family is applied to which op subsets, and column names.

Op subsets are expanded from sizes by :func:`op_subsets`, never written out by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover
    from graf.spaces.base import GrafConfig

__all__ = ["FeatureSpec", "op_subsets", "column_name", "specs_from_config"]

Family = Callable[[nx.DiGraph], Mapping[str, float]]


def op_subsets(ops: Sequence[str], sizes: Iterable[int]) -> tuple[tuple[str, ...], ...]:
    """All subsets of ``ops`` with the given sizes, by size, each in ``ops`` order."""
    return tuple(c for k in sizes for c in itertools.combinations(ops, k))


def column_name(family: str, stat: str, subset: Sequence[str]) -> str:
    """``family.subset`` for a one-value family (stat ``"value"``), else ``family.stat.subset``.

    ``subset`` is the *allowed* op set, joined with ``+``.
    """
    ops = "+".join(subset)
    return f"{family}.{ops}" if stat == "value" else f"{family}.{stat}.{ops}"


@dataclass(frozen=True)
class FeatureSpec:
    """Apply ``fn`` to the graph restricted to each allowed op set in ``subsets``."""

    family: str
    fn: Family
    subsets: tuple[tuple[str, ...], ...]

    def columns(self, stats: Iterable[str]) -> list[str]:
        stats = list(stats)
        return [column_name(self.family, stat, subset) for subset in self.subsets for stat in stats]


@lru_cache(maxsize=None)
def specs_from_config(config: "GrafConfig") -> tuple[FeatureSpec, ...]:
    """The feature specs a space's :class:`~graf.spaces.base.GrafConfig` describes.

    Each family's function is looked up by name in :mod:`graf.features.families` and bound
    to its parameters; its op subsets are all subsets of the space's ops of the given sizes.
    """
    from graf.features import families

    specs = []
    for fam in config.families:
        fn = getattr(families, fam.function, None)
        if fn is None or fam.function not in families.__all__:
            raise ValueError(f"unknown feature family function {fam.function!r}; available: {', '.join(families.__all__)}")
        bound = partial(fn, **dict(fam.params)) if fam.params else fn
        specs.append(FeatureSpec(fam.family, bound, op_subsets(config.ops, fam.sizes)))
    return tuple(specs)
