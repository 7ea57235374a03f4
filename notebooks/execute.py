"""Execute the notebooks and commit them with their outputs; check that committed outputs are current.

    python notebooks/execute.py                  # re-run every notebook, write it back with outputs
    python notebooks/execute.py --check          # exit 1 when a notebook's committed outputs are stale
    python notebooks/execute.py search.ipynb     # one notebook

Committed outputs are *stale* when running the notebook on the current code and data gives
other text outputs (tables, printed numbers, the facts cells; stderr is not compared, as its
warnings name the installation's paths) or another number of figures than the file holds. Images are compared by count only (PNG bytes differ between
matplotlib versions). The tests call :func:`stale` after executing each notebook.

Needs ``$GRAF_DATA_DIR`` (or ``../shared/data`` beside the repository).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("feature_importance.ipynb", "search.ipynb", "hardware.ipynb")
TIMEOUT = 600


def execute(path: Path, *, cwd: Path | None = None, timeout: int = TIMEOUT):
    """The notebook at ``path`` executed top to bottom (in ``cwd``, default its folder); the file is not changed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd or path.parent)}}).execute()
    return nb


def outputs(nb) -> list[tuple[int, list[str], int]]:
    """Per code cell: (index, its text outputs, its number of images); what :func:`stale` compares."""
    summary = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        texts, images = [], 0
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                if out.get("name") == "stdout":  # stderr holds warnings that name install paths
                    texts.append(f"stdout: {out.get('text', '')}")
            elif out.get("output_type") == "error":
                texts.append(f"error: {out.get('ename')}: {out.get('evalue')}")
            else:
                data = out.get("data", {})
                images += "image/png" in data
                if "text/plain" in data and "image/png" not in data:
                    texts.append(str(data["text/plain"]))
        summary.append((index, texts, images))
    return summary


def stale(committed, executed) -> list[str]:
    """What differs between a committed notebook's outputs and a fresh execution's (empty: current)."""
    problems = []
    old, new = outputs(committed), outputs(executed)
    if len(old) != len(new):
        return [f"{len(old)} code cells committed, {len(new)} executed"]
    for (index, old_texts, old_images), (_, new_texts, new_images) in zip(old, new):
        if old_texts != new_texts:
            first = next((f"{a!r} != {b!r}" for a, b in zip(old_texts, new_texts) if a != b),
                         f"{len(old_texts)} text outputs committed, {len(new_texts)} now")
            problems.append(f"cell {index}: text outputs differ: {first[:300]}")
        if old_images != new_images:
            problems.append(f"cell {index}: {old_images} figures committed, {new_images} now")
    return problems


def write(nb, path: Path) -> None:
    """Write ``nb`` to ``path`` atomically (a temporary file in the same folder, then rename)."""
    import nbformat

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=list(NOTEBOOKS), help="notebooks in notebooks/ (default: all)")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks (exit 1 if any)")
    args = parser.parse_args(argv)
    import nbformat

    status = 0
    for name in args.notebooks:
        path = HERE / Path(name).name
        if not path.is_file():
            print(f"execute.py: error: {path} not found", file=sys.stderr)
            return 2
        executed = execute(path)
        problems = stale(nbformat.read(path, as_version=4), executed)
        if args.check:
            status |= bool(problems)
            print(f"{path.name}: " + ("stale: " + "; ".join(problems) if problems else "current"))
        else:
            write(executed, path)
            print(f"{path.name}: written with outputs" + (" (had been stale)" if problems else " (unchanged)"))
    return status


if __name__ == "__main__":
    sys.exit(main())
