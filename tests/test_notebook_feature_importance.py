"""Runs notebooks/feature_importance.ipynb top to bottom (nbclient) and checks its outputs.

The notebook's last code cell recomputes every statement of its written conclusions; this
test fails if any of them stops holding, if a cell errors, or if the plots are missing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import notebook_tools

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "feature_importance.ipynb"
execute, stale = notebook_tools()


def test_feature_importance_notebook_runs(data_dir, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("shap")
    monkeypatch.setenv("GRAF_DATA_DIR", str(data_dir))
    committed = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    nb = execute(NOTEBOOK, timeout=300)
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # family shares, top features, two beeswarms
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "min path / max path · X, Y" in printed  # the feature naming, explained once
    facts = nb.cells[-2].outputs[-1]["data"]["text/plain"]
    assert facts.count("True") == 6 and "False" not in facts, facts
    overview = next(o["data"]["text/plain"] for o in outputs if "data" in o and "Kendall tau" in o["data"].get("text/plain", ""))
    assert "8421" in overview
    assert seconds < 180, f"notebook took {seconds:.0f} s"
    problems = stale(committed, nb)
    assert not problems, ("the committed outputs of notebooks/feature_importance.ipynb are stale; run "
                          "`python notebooks/execute.py feature_importance.ipynb`: " + "; ".join(problems))
