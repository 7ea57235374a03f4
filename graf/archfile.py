"""Architecture list files: one architecture a line, in any of the space's encodings.

Blank lines are skipped; ``#`` starts a comment (a whole line or the rest of one); a UTF-8
byte-order mark is accepted. Errors name the file and line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

__all__ = ["ArchList", "read_arch_file", "duplicates_message"]

A = TypeVar("A")


class ArchList(list):
    """The architectures of a file, each once in first-seen order; ``duplicates`` counts the lines dropped."""

    duplicates: int = 0
    path: str = ""


def read_arch_file(path: str | os.PathLike, parse: Callable[[str], A]) -> ArchList:
    """Parse every architecture line of ``path`` with ``parse``.

    Duplicates (lines that parse to the same architecture, in any encoding) are kept once, in
    first-seen order; their number is ``result.duplicates`` (the commands report it, as the API's
    :meth:`graf.spaces.base.Space.unique` does).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"architecture file {path} is a directory")
    if not path.is_file():
        raise FileNotFoundError(f"architecture file {path} not found")
    archs: dict[A, None] = {}
    lines = 0
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                lines += 1
                try:
                    archs.setdefault(parse(text), None)
                except ValueError as exc:
                    raise ValueError(f"{path}:{lineno}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"architecture file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not archs:
        raise ValueError(f"architecture file {path} lists no architectures")
    out = ArchList(archs)
    out.duplicates = lines - len(out)
    out.path = str(path)
    return out


def duplicates_message(archs) -> str | None:
    """The line the commands print when an architecture file listed an architecture more than once."""
    n = getattr(archs, "duplicates", 0)
    return f"{archs.path}: {n} duplicate line(s) dropped (each architecture is kept once)" if n else None
