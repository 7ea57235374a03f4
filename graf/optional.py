"""Optional dependencies: one helper to import them with one clear error (in the manner of
optuna's ``try_import``), so the light parts of the package import without them."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["require", "module_available"]


def module_available(name: str) -> bool:
    """Whether ``name`` (a dotted module path) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def require(name: str, *, needed_for: str, install: str) -> ModuleType:
    """``import name``, or a ValueError saying what needs it and how to install it.

    >>> require("json", needed_for="reading JSON", install="(the standard library)").__name__
    'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ValueError(f"{needed_for} needs the optional package {name.split('.')[0]} ({exc}): {install}") from None
