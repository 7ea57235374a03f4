"""notebooks/search.ipynb executes (reading the committed benchmark histories) in under 2 minutes.

It runs on a copy of benchmarks/results/search under tmp_path, so the figure it saves
(search_curves.png) is written there and never into the repository.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def test_search_notebook_runs(tmp_path):
    results = REPO / "benchmarks" / "results" / "search"
    if not (results / "summary.csv").is_file():
        pytest.fail("run benchmarks/bench_search.py first: benchmarks/results/search/summary.csv is missing")
    shutil.copytree(results, tmp_path / "benchmarks" / "results" / "search")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.read(REPO / "notebooks" / "search.ipynb", as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=110, kernel_name="python3", resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    assert time.perf_counter() - start < 120
    table_out = nb.cells[4]["outputs"][0]["data"]["text/plain"]
    assert "rea_12000s" in table_out and "naswot_N1000" in table_out
    assert any("image/png" in o.get("data", {}) for o in nb.cells[2]["outputs"])
    assert (tmp_path / "benchmarks" / "results" / "search" / "search_curves.png").is_file()
    tests_out = nb.cells[6]["outputs"][0]["data"]["text/plain"]
    assert "p_two_sided" in tests_out and "imagenet16" in tests_out
