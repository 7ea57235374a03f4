"""An on-disk parquet cache for tables, keyed on what produced them.

Kept apart from the code that computes: :func:`cached_table` only hashes a description of
the computation, loads a hit, or calls ``compute`` and stores its result atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from graf.tables import write_table

__all__ = ["CACHE_DIR_ENV", "cache_key", "cached_table", "user_cache_dir"]

CACHE_DIR_ENV = "GRAF_CACHE_DIR"


def user_cache_dir() -> Path:
    """Where the project caches what it computes on demand: ``$GRAF_CACHE_DIR``, else the user's
    cache directory (``platformdirs``; ``~/.cache/graf-nas`` on Linux). Never the repository."""
    value = os.environ.get(CACHE_DIR_ENV)
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("graf-nas"))


def cache_key(description: Any) -> str:
    """A stable hex digest of a JSON-serialisable description of a computation."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_table(
    description: Any, compute: Callable[[], pd.DataFrame], cache_dir: str | os.PathLike | None
) -> pd.DataFrame:
    """``compute()``, or the table a previous call with the same ``description`` stored in ``cache_dir``.

    With ``cache_dir=None`` nothing is read or written.
    """
    if cache_dir is None:
        return compute()
    directory = Path(cache_dir)
    path = directory / f"{cache_key(description)}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    table = compute()
    write_table(table, path)
    return table
