"""Shared fixtures: the benchmark data folder (``$GRAF_DATA_DIR`` or ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    value = os.environ.get("GRAF_DATA_DIR")
    return (Path(value) if value else REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "nb201" / "nb201_accuracy.csv.gz").is_file():
        pytest.fail(f"benchmark data not found at {path}; set GRAF_DATA_DIR to the shared/data folder")
    return path


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's tests with one PyTorch thread (light on a busy machine), then restore."""
    torch = pytest.importorskip("torch")
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(autouse=True, scope="session")
def _user_cache_in_tmp(tmp_path_factory):
    """What the code caches on demand goes to a temporary folder, never to ~/.cache or the repo."""
    if not os.environ.get("GRAF_CACHE_DIR"):
        os.environ["GRAF_CACHE_DIR"] = str(tmp_path_factory.mktemp("graf-cache"))
    yield


def load_script(relative: str):
    """The script at ``relative`` (to the repository root, e.g. ``benchmarks/bench_predictor.py``) as a module."""
    import importlib.util

    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_tools():
    """``(execute, stale)`` from notebooks/execute.py, the script that commits the notebooks with outputs."""
    module = load_script("notebooks/execute.py")
    return module.execute, module.stale


#: How far a recomputed proxy may be from a table computed on another CPU (relative). The
#: tables were computed on an AMD EPYC; on an Intel Xeon (PyTorch's MKL takes other kernels
#: there) most proxies agree to 1e-7 or better, but sums that cancel do not: plain (Σ g·w,
#: seen 4e-5), zico (log of mean / std of gradients, seen 1.2e-3) and ntk (seen 9e-7).
CROSS_CPU_REL = {"plain": 2e-4, "zico": 5e-3, "ntk": 1e-5}


def cross_cpu_rel(name: str) -> float:
    return CROSS_CPU_REL.get(name, 1e-6)


def assert_thread_invariant(one: dict, two: dict) -> None:
    """The same values with one and two PyTorch threads: every value bit for bit, except ntk,
    whose Gram matrices are BLAS products (on an Intel Xeon MKL splits their sums by thread
    count: 4e-9 relative seen; bit for bit on the AMD EPYC)."""
    import pytest

    assert {k: v for k, v in one.items() if k != "ntk"} == {k: v for k, v in two.items() if k != "ntk"}
    if "ntk" in one:
        assert one["ntk"] == pytest.approx(two["ntk"], rel=1e-7, abs=0)


#: Two rows of one batch with the same input: the same prediction up to this (relative). Bit for
#: bit on the AMD EPYC; on an Intel Xeon a row's place in the batch changes the last bits of
#: PyTorch's matrix products (6e-9 seen).
SAME_ROW_REL = 1e-7
