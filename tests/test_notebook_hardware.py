"""notebooks/hardware.ipynb executes (reading the committed multi-objective and robustness results) in under 2 minutes.

It runs on copies of the result files under tmp_path, so nothing is written into the repository.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat

from conftest import notebook_tools

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def test_hardware_notebook_runs_and_is_current(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("GRAF_DATA_DIR", str(data_dir))  # absolute: the kernel runs in tmp_path/notebooks
    results = tmp_path / "benchmarks" / "results"
    shutil.copytree(RESULTS / "search_mo", results / "search_mo")
    for name in ("predictor_robustness.jsonl", "predictor_anchors.jsonl", "predictor_robust_shap.jsonl"):
        shutil.copy(RESULTS / name, results / name)
    (tmp_path / "notebooks").mkdir()
    execute, stale = notebook_tools()
    committed = nbformat.read(REPO / "notebooks" / "hardware.ipynb", as_version=4)
    start = time.perf_counter()
    nb = execute(REPO / "notebooks" / "hardware.ipynb", cwd=tmp_path / "notebooks", timeout=110)
    assert time.perf_counter() - start < 120
    problems = stale(committed, nb)
    assert not problems, ("the committed outputs of notebooks/hardware.ipynb are stale; run "
                          "`python notebooks/execute.py hardware.ipynb`: " + "; ".join(problems))
    code = [c for c in nb.cells if c.cell_type == "code"]
    texts = ["".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in c.get("outputs", []))
             for c in code]
    figures = [sum("image/png" in o.get("data", {}) for o in c.get("outputs", [])) for c in code]
    assert "edgegpu_latency" in texts[0] and "pixel3_latency" in texts[0]  # the exact fronts' facts
    assert figures[1] >= 1 and figures[2] >= 1  # fronts, hypervolume against queries
    assert "queries to mean ratio 0.99" in texts[2]
    assert "NSGA-II" in texts[3] and "p vs ours" in texts[3]
    assert "pgd" in texts[4] and "fgsm" in texts[4]  # clean against adversarial ranking
    assert "robust:pgd@Linf_eps-1.0" in texts[5] and "τ n=1024" in texts[5]
    assert figures[-1] >= 1 and "Spearman" in texts[-1]
