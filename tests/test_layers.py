"""The import layers (pyproject.toml, [tool.importlinter]): spaces <- data <- features <- predictor
<- search <- cli, and ``graf`` imports ``proxies`` only in ``graf proxies`` and on-demand NASWOT.

The second test proves the first can fail: a copy of the package with one upward import
breaks the layers contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

REPO = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(cli), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_import_layers_are_kept():
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    for name in ("graf", "proxies"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "files"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    spaces_base = tmp_path / "graf" / "spaces" / "base.py"
    spaces_base.write_text(spaces_base.read_text() + "\n\ndef _violation():\n    import graf.search.runner  # noqa\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "graf.spaces.base -> graf.search.runner" in proc.stdout
