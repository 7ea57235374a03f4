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

__all__ = ["cache_key", "cached_table", "default_cache_dir"]


def default_cache_dir() -> Path | None:
    """``$GRAF_CACHE_DIR`` if set, else no cache."""
    value = os.environ.get("GRAF_CACHE_DIR")
    return Path(value) if value else None


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
