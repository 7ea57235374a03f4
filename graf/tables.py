"""Reading and writing the project's tables (index ``arch``) as parquet or CSV."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["TABLE_SUFFIXES", "atomic_write", "check_table_path", "check_output", "write_table", "write_frame",
           "read_table"]

TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def check_table_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it ends in a supported table suffix, else a ValueError."""
    path = Path(path)
    if not str(path).endswith(TABLE_SUFFIXES):
        raise ValueError(f"table path {path} must end in one of {', '.join(TABLE_SUFFIXES)}")
    return path


def check_output(path: str | os.PathLike, *, overwrite: bool = False, table: bool = True) -> Path:
    """``path`` as a Path, checked before any work: a table suffix (when ``table``), not a
    directory, not an existing file unless ``overwrite``, and a folder that exists (or can be
    made) and is writable. Every failure is a ValueError with one line."""
    path = check_table_path(path) if table else Path(path)
    if path.is_dir():
        raise ValueError(f"output {path} is a directory; give a file path")
    if path.exists() and not overwrite:
        raise ValueError(f"output {path} already exists; pass --overwrite to replace it")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {path}: {parent} is not a writable folder")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The file gets the mode a plain ``open()`` would give it (0666 less the umask), not
    ``mkstemp``'s 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_frame(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = True) -> Path:
    """Write ``frame`` atomically as parquet, CSV or gzipped CSV, as the suffix of ``path`` says."""
    path = check_table_path(path)

    def write(tmp: str) -> None:
        if str(path).endswith(".parquet"):
            frame.to_parquet(tmp, index=None if index else False)
        else:
            frame.to_csv(tmp, index=index, compression="gzip" if str(path).endswith(".gz") else None)

    return atomic_write(path, write)


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` (index included) atomically: readers never see a half-written file."""
    return write_frame(table, path, index=True)


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
