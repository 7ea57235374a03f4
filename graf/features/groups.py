"""Feature groups: named blocks of columns, one registry (:data:`FEATURE_GROUPS`).

A group maps a space and a list of its architectures to a float matrix with named columns.
Groups that need benchmark files receive the data directory; groups that need more (e.g. the
path of a proxy table) declare option names and receive those options as keyword arguments.

Registered groups:

* ``graf`` -- the space's GRAF graph features (DESIGN §4), columns ``<family>.<...>``;
* ``onehot`` -- one-hot op per edge, ``onehot.<edge>.<op>``;
* ``zcp`` -- the published NB-Suite-Zero proxies of the space's benchmark (option ``task``:
  the target whose data they were computed on, where a benchmark has several), ``zcp.<proxy>``;
* ``flops_params`` -- FLOPs and parameter count of the same file, ``flops_params.flops`` / ``.params``;
* ``proxies`` -- the project's own proxies from a ``graf proxies`` table (option
  ``proxies_file``; option ``proxies_nan``: keep NaN for failed values instead of an error),
  ``proxies.<proxy>``.

Every column name starts with its family and a dot, so importances can be summed per family.
A data-backed group never returns NaN for a net it lacks: it raises a ValueError that says
how many of the requested nets are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from graf.data.proxytable import load_proxy_table, proxy_table_gaps, rows_for

__all__ = ["FeatureGroup", "FEATURE_GROUPS", "register_group", "get_group"]

Compute = Callable[..., "tuple[list[str], np.ndarray]"]


@dataclass(frozen=True)
class FeatureGroup:
    """A named block of feature columns.

    ``compute(space, archs, data_dir)`` returns column names and an ``(len(archs), n)``
    matrix; ``version`` changes whenever the computation does (it keys the on-disk cache);
    ``needs_data`` says whether the group reads benchmark files; ``options`` names the
    keyword options ``compute`` takes (``compute(space, archs, data_dir, **options)``), e.g.
    ``("proxies_file",)``.
    """

    name: str
    compute: Compute
    version: str
    description: str
    needs_data: bool = False
    options: tuple[str, ...] = ()

    def run(self, space, archs: Sequence[object], data_dir, options: "dict[str, object] | None" = None):
        """``compute`` with the options this group declares (a missing one is passed as None)."""
        options = options or {}
        kwargs = {k: options.get(k) for k in self.options}
        return self.compute(space, archs, data_dir, **kwargs)


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


@register_group("graf", version="1", description="GRAF graph features of the space's configuration (DESIGN §4)")
def _graf(space, archs, data_dir=None):
    from graf.features.graf import graf_matrix

    return graf_matrix(space, archs)


@register_group("onehot", version="1", description="one-hot op per edge (NB201: 6 x 5)")
def _onehot(space, archs, data_dir=None):
    return space.onehot(archs)


def _published_columns(space, archs, data_dir, group: str, task, columns: Sequence[str] | None = None):
    from graf.data.benchmarks import get_benchmark

    table, source = get_benchmark(space).published_proxies(task, data_dir)
    columns = list(table.columns) if columns is None else list(columns)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"feature group {group!r}: {source} has no column(s) {', '.join(missing)}")
    rows = rows_for(archs, table, group, source)
    return [f"{group}.{c}" for c in columns], rows[columns].to_numpy(dtype=np.float64)


@register_group(
    "zcp",
    version="1",
    description="the published NB-Suite-Zero proxies (NB201: 13, CIFAR-10, the 9445 valid nets)",
    needs_data=True,
    options=("task",),
)
def _zcp(space, archs, data_dir=None, *, task=None):
    return _published_columns(space, archs, data_dir, "zcp", task)


@register_group(
    "flops_params",
    version="1",
    description="FLOPs and parameters (M) of the published proxy file (valid nets)",
    needs_data=True,
    options=("task",),
)
def _flops_params(space, archs, data_dir=None, *, task=None):
    return _published_columns(space, archs, data_dir, "flops_params", task, ("flops", "params"))


@register_group(
    "proxies",
    version="1",
    description="the project's own zero-cost proxies, read from a `graf proxies` table (option proxies_file; "
    "default for nb201: the shipped table of all 15625 nets, data/README.md)",
    options=("proxies_file", "proxies_nan"),
)
def _proxies(space, archs, data_dir=None, *, proxies_file=None, proxies_nan=None):
    from graf.data.paths import default_proxies_file

    proxies_file = default_proxies_file(proxies_file, space)
    table, columns = load_proxy_table(proxies_file, space)
    rows = rows_for(archs, table, "proxies", str(proxies_file))
    gaps = proxy_table_gaps(rows, columns)
    if gaps.any() and not proxies_nan:
        raise ValueError(
            f"feature group 'proxies': {int(gaps.sum())} of {len(rows)} architectures have an error or a NaN/inf "
            f"value in {proxies_file} (e.g. {gaps[gaps].index[0]}); recompute them or drop them explicitly "
            "(graf evaluate --drop-missing-proxies)"
        )
    return [f"proxies.{c}" for c in columns], rows[columns].to_numpy(dtype=np.float64)
