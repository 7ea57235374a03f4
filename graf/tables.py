"""Reading and writing the project's tables (index ``arch``) as parquet or CSV."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["TABLE_SUFFIXES", "check_table_path", "write_table", "read_table"]

TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def check_table_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it ends in a supported table suffix, else a ValueError."""
    path = Path(path)
    if not str(path).endswith(TABLE_SUFFIXES):
        raise ValueError(f"table path {path} must end in one of {', '.join(TABLE_SUFFIXES)}")
    return path


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` (index included) atomically: readers never see a half-written file."""
    path = check_table_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if str(path).endswith(".parquet"):
            table.to_parquet(tmp)
        else:
            table.to_csv(tmp, compression="gzip" if str(path).endswith(".gz") else None)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_table(path: str | os.PathLike, index: str = "arch") -> pd.DataFrame:
    """Read a table written by :func:`write_table`; it must have the index column ``index``."""
    path = check_table_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table {path} not found")
    if str(path).endswith(".parquet"):
        df = pd.read_parquet(path)
        if df.index.name != index and index in df.columns:
            df = df.set_index(index)
    else:
        df = pd.read_csv(path)
        if index in df.columns:
            df = df.set_index(index)
    if df.index.name != index:
        raise ValueError(f"table {path} has no index column {index!r}")
    return df
