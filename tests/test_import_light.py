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


def test_proxy_runs_skip_imports_they_do_not_need():
    """A ``graf proxies`` run pays for torch and pandas only: ``import graf`` does not load
    networkx, and building a network does not load sympy (``Module.to_empty`` would: 0.5 s)."""
    code = textwrap.dedent(
        """
        import sys
        import graf
        assert "networkx" not in sys.modules, "import graf loaded networkx"
        from proxies.network import build_network
        net = build_network("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|", seed=0)
        assert all(p.device.type == "cpu" for p in net.parameters())
        assert "sympy" not in sys.modules, "building a network loaded sympy"
        assert callable(graf.feature_table)
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
