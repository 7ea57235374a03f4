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

from conftest import notebook_tools

REPO = Path(__file__).resolve().parents[1]


def test_search_notebook_runs(tmp_path):
    results = REPO / "benchmarks" / "results" / "search"
    if not (results / "summary.csv").is_file():
        pytest.fail("run benchmarks/bench_search.py first: benchmarks/results/search/summary.csv is missing")
    shutil.copytree(results, tmp_path / "benchmarks" / "results" / "search")
    shutil.copytree(REPO / "benchmarks" / "results" / "search_budget", tmp_path / "benchmarks" / "results" / "search_budget")
    (tmp_path / "notebooks").mkdir()
    execute, stale = notebook_tools()
    committed = nbformat.read(REPO / "notebooks" / "search.ipynb", as_version=4)
    start = time.perf_counter()
    nb = execute(REPO / "notebooks" / "search.ipynb", cwd=tmp_path / "notebooks", timeout=110)
    assert time.perf_counter() - start < 120
    assert sum("image/png" in o.get("data", {}) for c in committed.cells for o in c.get("outputs", [])) >= 1
    problems = stale(committed, nb)
    assert not problems, ("the committed outputs of notebooks/search.ipynb are stale; run "
                          "`python notebooks/execute.py search.ipynb`: " + "; ".join(problems))
    table_out = nb.cells[4]["outputs"][0]["data"]["text/plain"]
    assert "rea_12000s" in table_out and "naswot_N1000" in table_out
    assert any("image/png" in o.get("data", {}) for o in nb.cells[2]["outputs"])
    assert (tmp_path / "benchmarks" / "results" / "search" / "search_curves.png").is_file()
    tests_out = nb.cells[6]["outputs"][0]["data"]["text/plain"]
    assert "p_two_sided" in tests_out and "imagenet16" in tests_out


def test_stale_outputs_are_detected():
    _, stale = notebook_tools()
    v4 = nbformat.v4

    def notebook(text, images):
        cell = v4.new_code_cell("x")
        cell.outputs = [v4.new_output("stream", name="stdout", text=text)] + [
            v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"}) for _ in range(images)
        ]
        return v4.new_notebook(cells=[v4.new_markdown_cell("# t"), cell])

    assert stale(notebook("tau 0.80\n", 1), notebook("tau 0.80\n", 1)) == []
    assert stale(notebook("tau 0.80\n", 1), notebook("tau 0.81\n", 1)) == [
        "cell 1: text outputs differ: 'stdout: tau 0.80\\n' != 'stdout: tau 0.81\\n'"]
    assert stale(notebook("tau 0.80\n", 0), notebook("tau 0.80\n", 2)) == ["cell 1: 0 figures committed, 2 now"]


def test_stderr_is_not_compared():
    _, stale = notebook_tools()
    v4 = nbformat.v4

    def notebook(warning):
        cell = v4.new_code_cell("x")
        cell.outputs = [v4.new_output("stream", name="stderr", text=warning), v4.new_output("stream", name="stdout", text="1\n")]
        return v4.new_notebook(cells=[cell])

    assert stale(notebook("/work/main/.venv/... TqdmWarning"), notebook("/elsewhere/.venv/... TqdmWarning")) == []
