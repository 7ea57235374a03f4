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
