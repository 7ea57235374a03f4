"""Argument checks shared by the configuration dataclasses and network constructors of ``proxies``."""

from __future__ import annotations

from typing import Iterable


def check_positive_ints(values: Iterable[tuple[str, object]], owner: str = "") -> None:
    """ValueError ``"<owner>: <name> must be a positive int, got <value>"`` (no prefix without an
    ``owner``) for the first ``(name, value)`` that is not an int >= 1 (bools are not ints here)."""
    prefix = f"{owner}: " if owner else ""
    for name, value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{prefix}{name} must be a positive int, got {value!r}")
