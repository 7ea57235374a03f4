"""Feature groups: named blocks of columns, one registry (:data:`FEATURE_GROUPS`).

A group maps a list of architectures to a float matrix with named columns. Groups that
need benchmark files receive the data directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["FeatureGroup", "FEATURE_GROUPS", "register_group", "get_group"]

Compute = Callable[[Sequence[object], "str | None"], "tuple[list[str], np.ndarray]"]


@dataclass(frozen=True)
class FeatureGroup:
    """A named block of feature columns.

    ``compute(archs, data_dir)`` returns column names and an ``(len(archs), n)`` matrix;
    ``version`` changes whenever the computation does (it keys the on-disk cache);
    ``needs_data`` says whether the group reads benchmark files.
    """

    name: str
    compute: Compute
    version: str
    description: str
    needs_data: bool = False


FEATURE_GROUPS: dict[str, FeatureGroup] = {}


def register_group(name: str, *, version: str, description: str, needs_data: bool = False):
    """Decorator registering ``compute`` as the feature group ``name``."""

    def wrap(compute: Compute) -> Compute:
        if name in FEATURE_GROUPS:
            raise ValueError(f"feature group {name!r} is already registered")
        FEATURE_GROUPS[name] = FeatureGroup(name, compute, version, description, needs_data)
        return compute

    return wrap


def get_group(name: str) -> FeatureGroup:
    try:
        return FEATURE_GROUPS[name]
    except KeyError:
        raise ValueError(f"unknown feature group {name!r}; available: {', '.join(sorted(FEATURE_GROUPS))}") from None


def _nb201_only(archs: Sequence[object], group: str):
    from graf.spaces.nb201 import NB201Arch

    bad = next((a for a in archs if not isinstance(a, NB201Arch)), None)
    if bad is not None:
        raise ValueError(f"feature group {group!r} is implemented for NB201 architectures only, got {bad!r}")
    return archs


@register_group("graf", version="1", description="191 GRAF graph features (DESIGN §4)")
def _graf(archs, data_dir=None):
    from graf.features.nb201 import graf_matrix

    return graf_matrix(_nb201_only(archs, "graf"))


@register_group("onehot", version="1", description="one-hot op per edge (6 x 5)")
def _onehot(archs, data_dir=None):
    from graf.features.nb201 import onehot_matrix

    return onehot_matrix(_nb201_only(archs, "onehot"))
