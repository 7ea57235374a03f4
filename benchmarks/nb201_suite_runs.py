"""Run the `graf proxies` jobs behind the NB201 table of every registered proxy, resumably.

    python benchmarks/nb201_suite_runs.py [--work data/nb201_suite_runs] [--jobs 2] [--valid-only]

Four runs, one after another (the inputs of ``benchmarks/build_suite_table.py``):

1. ``suite8_isoreps``: snip, grasp, fisher, grad_norm, l2_norm, plain, epe_nas, zen on the 5260
   isomorphism-class representatives (``graf.data.proxytable.class_representatives``);
2. ``zico_isoreps``: zico on the same representatives;
3. ``structural_valid``: l2_norm, zen, meco, swap, reg_swap, linear_regions (the proxies that read
   every module, so each net needs its own value) on the 9445 valid nets;
4. ``structural_rest``: the same six on the other 6180 nets (skipped with ``--valid-only``).

Each run writes ``<work>/nb201_<name>.parquet``; a finished one is skipped, and an interrupted
one (its ``.partial.jsonl`` checkpoint is there) is continued with ``--resume``, so the script can
be stopped at any point and started again, in another session too: committing ``<work>``'s
checkpoints keeps the finished nets. Every run: CIFAR-10 net and batch (64 images, seed 0), as in
``graf/data/files/nb201_proxies.parquet``. The net lists are written to ``<work>`` each time (the
checkpoints record their SHA-256, so a resume on other nets is refused). Exit status: the first
failing run's, or 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ISO_EIGHT = "snip,grasp,fisher,grad_norm,l2_norm,plain,epe_nas,zen"
STRUCTURAL = "l2_norm,zen,meco,swap,reg_swap,linear_regions"
RUNS = [("suite8_isoreps", "isoreps", ISO_EIGHT), ("zico_isoreps", "isoreps", "zico"),
        ("structural_valid", "valid", STRUCTURAL), ("structural_rest", "rest", STRUCTURAL)]


def net_lists() -> dict[str, list[str]]:
    """The nets of each run: the class representatives, the valid nets, the other nets."""
    from graf.data.proxytable import class_representatives
    from graf.spaces import get_space

    space = get_space("nb201")
    everything = [str(a) for a in space.enumerate()]
    valid = [str(a) for a in space.valid_archs()]
    reps = list(dict.fromkeys(class_representatives(space, everything).to_numpy()))
    valid_set = set(valid)
    return {"isoreps": reps, "valid": valid, "rest": [a for a in everything if a not in valid_set]}


def _write_list(path: Path, archs: list[str]) -> None:
    text = "\n".join(archs) + "\n"
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(REPO / "data" / "nb201_suite_runs"),
                   help="folder of the net lists, checkpoints and tables (default: data/nb201_suite_runs)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--valid-only", action="store_true", help="skip the run on the 6180 invalid nets")
    p.add_argument("--data-dir", default=os.environ.get("GRAF_DATA_DIR"))
    args = p.parse_args(argv)
    if not args.data_dir:
        print("nb201_suite_runs: error: no data folder (pass --data-dir or set GRAF_DATA_DIR)", file=sys.stderr)
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lists = net_lists()
    for name, archs in lists.items():
        _write_list(work / f"nb201_{name}.txt", archs)
    graf = shutil.which("graf", path=str(Path(sys.executable).parent)) or "graf"
    for name, nets, proxies in RUNS:
        out = work / f"nb201_{name}.parquet"
        if out.exists() or (args.valid_only and nets == "rest"):
            continue
        cmd = [graf, "proxies", "--space", "nb201", "--archs", str(work / f"nb201_{nets}.txt"),
               "--proxies", proxies, "--dataset", "cifar10", "--batch-size", "64", "--seed", "0",
               "--jobs", str(args.jobs), "--no-progress", "--data-dir", args.data_dir, "--out", str(out)]
        if Path(f"{out}.partial.jsonl").exists():
            cmd.append("--resume")
        print(" ".join(cmd), flush=True)
        child = subprocess.Popen(cmd)
        try:
            rc = child.wait()
        except KeyboardInterrupt:  # the run got the same SIGINT and saves its checkpoint
            rc = child.wait()
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
