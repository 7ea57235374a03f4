"""Search spaces, one module each, registered by name in :data:`SPACES`."""

from __future__ import annotations

from types import ModuleType

from graf.spaces import nb201

#: name -> module implementing the space (architecture type, enumeration, sampling, mutation).
SPACES: dict[str, ModuleType] = {"nb201": nb201}


def get_space(name: str) -> ModuleType:
    """The search-space module registered under ``name``."""
    try:
        return SPACES[name]
    except KeyError:
        raise ValueError(f"unknown search space {name!r}; available: {', '.join(sorted(SPACES))}") from None


__all__ = ["SPACES", "get_space", "nb201"]
