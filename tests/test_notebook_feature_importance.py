"""Runs notebooks/feature_importance.ipynb top to bottom (nbclient) and checks its outputs.

The notebook's last code cell recomputes every statement of its written conclusions; this
test fails if any of them stops holding, if a cell errors, or if the plots are missing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "feature_importance.ipynb"


def test_feature_importance_notebook_runs(data_dir, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("shap")
    monkeypatch.setenv("GRAF_DATA_DIR", str(data_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # family shares, top features, two beeswarms
    facts = nb.cells[-2].outputs[-1]["data"]["text/plain"]
    assert facts.count("True") == 6 and "False" not in facts, facts
    overview = next(o["data"]["text/plain"] for o in outputs if "data" in o and "Kendall tau" in o["data"].get("text/plain", ""))
    assert "8421" in overview
    assert seconds < 180, f"notebook took {seconds:.0f} s"
