"""Search spaces: one :class:`~graf.spaces.base.Space` object each, registered by name in :data:`SPACES`.

This layer imports no other part of ``graf`` (benchmark files are read by :mod:`graf.data`,
keyed on the space's name). Adding a space: docs/spaces.md.
"""

from __future__ import annotations

from graf.spaces.base import (CellShape, DuplicateArchitecturesWarning, FamilyConfig, GrafConfig, InvalidParameters,
                              SearchDataset, Space)

#: name -> the space object.
SPACES: dict[str, Space] = {}


def register_space(space: Space) -> Space:
    """Add ``space`` to :data:`SPACES` under ``space.name`` (a name is registered once)."""
    if not isinstance(space, Space):
        raise TypeError(f"register_space needs a Space instance, got {type(space).__name__}")
    if space.name in SPACES:
        raise ValueError(f"search space {space.name!r} is already registered")
    SPACES[space.name] = space
    return space


def get_space(name: "str | Space") -> Space:
    """The space registered under ``name`` (a Space is returned as it is)."""
    if isinstance(name, Space):
        return name
    try:
        return SPACES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown search space {name!r}; available: {', '.join(sorted(SPACES))}") from None


from graf.spaces import nb201, tnb101_micro  # noqa: E402  (the modules register their spaces below)
from graf.spaces import nb301  # noqa: E402
from graf.spaces import nb101  # noqa: E402

register_space(nb201.SPACE)
register_space(tnb101_micro.SPACE)
register_space(nb301.SPACE)
register_space(nb101.SPACE)

__all__ = [
    "CellShape",
    "DuplicateArchitecturesWarning",
    "FamilyConfig",
    "GrafConfig",
    "InvalidParameters",
    "SPACES",
    "SearchDataset",
    "Space",
    "get_space",
    "nb101",
    "nb201",
    "nb301",
    "register_space",
    "tnb101_micro",
]
