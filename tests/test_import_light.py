"""``graf`` imports and runs its feature pipeline without torch (nor shap, matplotlib)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_graf_imports_without_torch():
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"torch", "shap", "matplotlib"}:
                    raise ImportError(f"blocked {name}")
        sys.meta_path.insert(0, Block())
        import graf, graf.data, graf.features, graf.cli, graf.spaces
        from graf.spaces.nb201 import all_archs
        table = graf.feature_table(all_archs()[:5])
        assert table.shape == (5, 191)
        assert "torch" not in sys.modules
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
