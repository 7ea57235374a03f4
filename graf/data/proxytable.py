"""Proxy tables written by ``graf proxies`` (index ``arch``), read back for features and search."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["PROXY_NAMES", "LOWER_IS_BETTER", "load_proxy_table", "proxy_table_gaps", "rows_for",
           "class_representatives", "expand_to_classes"]

#: text columns a proxies table may have besides the proxies
TEXT_COLUMNS = ("error", "representative")

#: proxies whose *lower* values predict better nets (the registry's ``higher_is_better=False``; a test keeps them equal)
LOWER_IS_BETTER = frozenset({"ntk", "plain"})
#: the proxies ``graf proxies`` can compute, i.e. the columns a proxies table may have (the ``proxies``
#: registry's names, in its order; a test keeps the two equal). The eight after ``flops`` are the
#: other NAS-Bench-Suite-Zero proxies (computed only when asked for: ``graf proxies`` computes
#: naswot, synflow, jacov and ntk by default).
PROXY_NAMES = (
    "naswot", "synflow", "jacov", "ntk", "params", "flops",
    "snip", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "epe_nas", "zen",
    "zico", "meco", "swap", "linear_regions", "reg_swap",
)  # fmt: skip


def load_proxy_table(path: "str | os.PathLike", space="nb201") -> "tuple[pd.DataFrame, list[str]]":
    """A ``graf proxies`` table (index ``arch``) as ``(frame, proxy columns)``.

    The index is canonicalised to the space's strings. ``frame`` keeps the ``error`` column if
    the table has one; the proxy columns are every other column, which must all be numeric.
    Rows with an error or a NaN are *not* removed here: see :func:`proxy_table_gaps`.
    """
    from graf.spaces import get_space
    from graf.tables import read_table

    space = get_space(space)
    table = read_table(path)
    try:
        table.index = pd.Index([str(space.parse(a)) for a in table.index], name="arch")
    except ValueError as exc:
        raise ValueError(f"proxy table {path}: bad architecture in column 'arch': {exc}") from exc
    if table.index.has_duplicates:
        raise ValueError(f"proxy table {path}: architecture {table.index[table.index.duplicated()][0]} appears twice")
    columns = [c for c in table.columns if c not in TEXT_COLUMNS]
    if not columns:
        raise ValueError(f"proxy table {path} has no proxy columns (only {list(table.columns)})")
    unknown = [str(c) for c in columns if c not in PROXY_NAMES]
    if unknown:
        raise ValueError(
            f"{path} is not a `graf proxies` table: column(s) {', '.join(unknown)} are not proxies "
            f"(known: {', '.join(PROXY_NAMES)}, and {', '.join(TEXT_COLUMNS)})"
        )
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(f"proxy table {path}: column(s) {', '.join(map(str, bad))} are not numeric")
    return table, columns


def proxy_table_gaps(table: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Boolean Series (index ``arch``): True where a net has an error or a NaN/inf proxy value."""
    values = table[list(columns)].to_numpy(dtype=np.float64)
    gaps = ~np.isfinite(values).all(axis=1)
    if "error" in table.columns:
        err = table["error"]
        gaps |= err.notna().to_numpy() & (err.astype(str).str.strip() != "").to_numpy()
    return pd.Series(gaps, index=table.index, name="gap")


def rows_for(archs: Sequence[object], table: pd.DataFrame, group: str, source: str) -> pd.DataFrame:
    """The rows of ``table`` (index: canonical arch strings) for ``archs``, or a clear error."""
    keys = [str(a) for a in archs]
    missing = [k for k in keys if k not in table.index]
    if missing:
        raise ValueError(
            f"feature group {group!r}: {len(missing)} of {len(keys)} architectures have no values in {source} "
            f"(e.g. {missing[0]}); restrict the nets to those the table covers"
        )
    return table.loc[keys]


def class_representatives(space, archs: Sequence[object]) -> pd.Series:
    """Index: ``archs`` (canonical strings, in order); value: the first of ``archs`` with the
    same ``space.iso_key`` (the same function), its class's representative."""
    from graf.spaces import get_space

    space = get_space(space)
    parsed = [space.parse(a) for a in archs]
    keys = [str(a) for a in parsed]
    first: dict[str, str] = {}
    reps = [first.setdefault(space.iso_key(a), k) for a, k in zip(parsed, keys)]
    return pd.Series(reps, index=pd.Index(keys, name="arch"), name="representative")


def expand_to_classes(table: pd.DataFrame, representatives: pd.Series) -> pd.DataFrame:
    """One row per arch of ``representatives`` (see :func:`class_representatives`): its
    representative's row of ``table``, and a ``representative`` column naming it."""
    missing = sorted(set(representatives) - set(table.index))
    if missing:
        raise ValueError(f"{len(missing)} class representative(s) have no row in the table, e.g. {missing[0]}")
    out = table.loc[representatives.to_numpy()].set_axis(representatives.index, axis=0)
    out["representative"] = representatives.to_numpy()
    return out
