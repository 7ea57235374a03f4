"""Architecture list files: one architecture a line, as an NB201 string or a NASLib tuple."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

__all__ = ["read_arch_file"]

A = TypeVar("A")


def read_arch_file(path: str | os.PathLike, parse: Callable[[str], A]) -> list[A]:
    """Parse every non-blank, non-``#`` line of ``path`` with ``parse``.

    Errors name the file and line. Duplicates are kept once, in first-seen order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"architecture file {path} not found")
    archs: dict[A, None] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                archs.setdefault(parse(text), None)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
    if not archs:
        raise ValueError(f"architecture file {path} lists no architectures")
    return list(archs)
