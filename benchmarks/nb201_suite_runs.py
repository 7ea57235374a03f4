"""Run the `graf proxies` jobs behind the NB201 table of every registered proxy, resumably.

    python benchmarks/nb201_suite_runs.py [--work data/nb201_suite_runs] [--jobs 2] [--valid-only]
        [--table OUT [--overwrite]]

Six runs, one after another (the inputs of ``benchmarks/build_suite_table.py``):

1. ``suite8_isoreps``: snip, grasp, fisher, grad_norm, l2_norm, plain, epe_nas, zen on the 5260
   isomorphism-class representatives (``graf.data.proxytable.class_representatives``);
2. ``zico_isoreps``: zico on the same representatives;
3. ``meco_valid``: meco (which reads every module, so each net needs its own value) on the 9445
   valid nets (a run of its own: it is quick, and the strongest single proxy);
4. ``structural_valid``: swap, reg_swap, linear_regions (per net too) on the 9445 valid nets;
5. ``l2_zen_valid_others``: l2_norm and zen (which read every module too) on the 4185 valid nets
   that are not representatives: run 1 has the representatives' own values;
6. ``structural_rest``: l2_norm, zen, meco, swap, reg_swap, linear_regions on the other 6180 nets
   (skipped with ``--valid-only``).

Each run writes ``<work>/nb201_<name>.parquet``; a finished one is skipped, and an interrupted
one (its ``.partial.jsonl`` checkpoint is there) is continued with ``--resume``, so the script can
be stopped at any point and started again, in another session too: committing ``<work>``'s
checkpoints keeps the finished nets. Every run: CIFAR-10 net and batch (64 images, seed 0), as in
``graf/data/files/nb201_proxies.parquet``. The net lists are written to ``<work>`` each time (the
checkpoints record their SHA-256, so a resume on other nets is refused).

``--table OUT``: once the runs are done, join them with ``build_suite_table.py`` into OUT (with
``--valid-only``: the table of the 9445 valid nets). Exit status: the first failing step's, or 0.
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

#: (run name, net list, proxies)
RUNS = [
    ("suite8_isoreps", "isoreps", "snip,grasp,fisher,grad_norm,l2_norm,plain,epe_nas,zen"),
    ("zico_isoreps", "isoreps", "zico"),
    ("meco_valid", "valid", "meco"),
    ("structural_valid", "valid", "swap,reg_swap,linear_regions"),
    ("l2_zen_valid_others", "valid_others", "l2_norm,zen"),
    ("structural_rest", "rest", "l2_norm,zen,meco,swap,reg_swap,linear_regions"),
]
#: the table's sources: (per-class or per-net, runs joined with "+", columns)
SOURCES = [
    ("per-class", ["suite8_isoreps"], "snip,grasp,fisher,grad_norm,plain,epe_nas"),
    ("per-class", ["zico_isoreps"], "zico"),
    ("per-net", ["suite8_isoreps", "l2_zen_valid_others", "structural_rest"], "l2_norm,zen"),
    ("per-net", ["meco_valid", "structural_rest"], "meco"),
    ("per-net", ["structural_valid", "structural_rest"], "swap,reg_swap,linear_regions"),
]
BASE = REPO / "graf" / "data" / "files" / "nb201_proxies.parquet"


def net_lists() -> dict[str, list[str]]:
    """The nets of each run: the class representatives, the valid nets, the valid nets that are
    not representatives, the other (invalid) nets; each in ``Space.enumerate()`` order."""
    from graf.data.proxytable import class_representatives
    from graf.spaces import get_space

    space = get_space("nb201")
    everything = [str(a) for a in space.enumerate()]
    valid = [str(a) for a in space.valid_archs()]
    reps = list(dict.fromkeys(class_representatives(space, everything).to_numpy()))
    rep_set, valid_set = set(reps), set(valid)
    return {"isoreps": reps, "valid": valid, "valid_others": [a for a in valid if a not in rep_set],
            "rest": [a for a in everything if a not in valid_set]}


def table_arguments(work: Path, valid_only: bool) -> list[str]:
    """The ``build_suite_table.py`` arguments that join the runs in ``work``."""
    args = ["--base", str(BASE)]
    for kind, runs, cols in SOURCES:
        if valid_only:
            runs = [r for r in runs if r != "structural_rest"]
        args += [f"--{kind}", "+".join(str(work / f"nb201_{r}.parquet") for r in runs) + f":{cols}"]
    return args + (["--valid-only"] if valid_only else [])


def _write_list(path: Path, archs: list[str]) -> None:
    text = "\n".join(archs) + "\n"
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _call(cmd: list[str]) -> int:
    print(" ".join(cmd), flush=True)
    child = subprocess.Popen(cmd)
    try:
        return child.wait()
    except KeyboardInterrupt:  # the child got the same SIGINT and saves its checkpoint
        return child.wait()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=str(REPO / "data" / "nb201_suite_runs"),
                   help="folder of the net lists, checkpoints and tables (default: data/nb201_suite_runs)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--valid-only", action="store_true", help="skip the run on the 6180 invalid nets")
    p.add_argument("--table", metavar="OUT", help="then join the runs into this table (build_suite_table.py)")
    p.add_argument("--overwrite", action="store_true", help="with --table: replace OUT if it exists")
    p.add_argument("--data-dir", default=os.environ.get("GRAF_DATA_DIR"))
    args = p.parse_args(argv)
    if not args.data_dir:
        print("nb201_suite_runs: error: no data folder (pass --data-dir or set GRAF_DATA_DIR)", file=sys.stderr)
        return 2
    if args.table and Path(args.table).exists() and not args.overwrite:
        print(f"nb201_suite_runs: error: {args.table} exists (pass --overwrite to replace it)", file=sys.stderr)
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for name, archs in net_lists().items():
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
        rc = _call(cmd)
        if rc:
            return rc
    if args.table:
        build = [sys.executable, str(REPO / "benchmarks" / "build_suite_table.py"),
                 *table_arguments(work, args.valid_only), "--out", args.table]
        return _call(build + (["--overwrite"] if args.overwrite else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
