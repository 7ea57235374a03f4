"""Sanity figures of the training objective (``graf train``, ``graf search --objective train``).

    # Kendall tau between digits-trained validation accuracy and NB201's CIFAR-10 test accuracy
    python benchmarks/bench_train.py tau --nets 50 --epochs 2 --channels 8 --cells 1
    # wall time of the same random search with 1 (in-process) and with 2 worker processes
    python benchmarks/bench_train.py speedup --budget 8
    # the same with one torch thread in the 1-worker run too (the 2 workers get 1 each)
    OMP_NUM_THREADS=1 python benchmarks/bench_train.py speedup --budget 8 --tag _1thread
    # surrogate-REA against REA and random search on digits, equal budget of trainings
    python benchmarks/bench_train.py search --budget 40 --seeds 5 --workers 2
    # the tables of everything measured so far
    python benchmarks/bench_train.py report

Every run goes through the command line (what a user runs) with its checkpoint, so an
interrupted benchmark continues where it stopped when started again. Outputs:
``benchmarks/results/train/`` (label tables, search histories, ``*.json`` summaries).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "train"
GRAF = [sys.executable, "-m", "graf"]


def _graf(args: list[str]) -> dict:
    """Run ``graf ARGS --json``; resume its checkpoint when one exists. The JSON summary."""
    out = subprocess.run(GRAF + args + ["--json", "--no-progress"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"graf {' '.join(args)} failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _resumable(args: list[str], output: Path) -> list[str]:
    ckpt = output.with_name(output.name + ".partial.jsonl")
    return args + (["--resume"] if ckpt.exists() else [])


def _training(args) -> list[str]:
    return ["--train-data", args.train_data, "--epochs", str(args.epochs), "--channels", str(args.channels),
            "--cells", str(args.cells)]


def tau(args) -> None:
    from scipy.stats import kendalltau, spearmanr

    from graf.data import get_benchmark
    from graf.spaces import get_space

    space = get_space("nb201")
    valid = space.valid_archs()
    rng = np.random.default_rng(args.seed)
    nets = [str(valid[i]) for i in rng.choice(len(valid), size=args.nets, replace=False)]
    name = f"tau_n{args.nets}_e{args.epochs}_c{args.channels}_n{args.cells}"
    archs = OUT / f"{name}_archs.txt"
    labels = OUT / f"{name}.parquet"
    OUT.mkdir(parents=True, exist_ok=True)
    archs.write_text("\n".join(nets) + "\n")
    if not labels.exists():
        _graf(_resumable(["train", "--archs", str(archs), "--out", str(labels), "--workers", str(args.workers)]
                         + _training(args), labels))
    table = pd.read_parquet(labels)
    bench = get_benchmark(space).table()
    ok = table[table["error"] == ""]
    c10 = bench.loc[ok.index, "cifar10_test"].astype(float)
    t, p = kendalltau(ok["val_acc"], c10)
    result = {"nets": len(table), "failed": int(len(table) - len(ok)), "valid_nets_only": True, "epochs": args.epochs,
              "C": args.channels, "N": args.cells, "train_data": args.train_data, "kendall_tau": float(t),
              "tau_p": float(p), "spearman_rho": float(spearmanr(ok["val_acc"], c10)[0]),
              "seconds_per_training_mean": float(table["seconds"].mean()),
              "seconds_per_training_median": float(table["seconds"].median()),
              "val_acc_mean": float(ok["val_acc"].mean()), "val_acc_max": float(ok["val_acc"].max())}
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


def speedup(args) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    import os

    result = {"budget": args.budget, "epochs": args.epochs, "C": args.channels, "N": args.cells,
              "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    for workers in (1, 2):
        history = OUT / f"speedup{args.tag}_w{workers}_q{args.budget}.parquet"
        summary = _graf(["search", "--algorithm", "random", "--objective", "train", "--budget", str(args.budget),
                         "--seeds", "1", "--workers", str(workers), "--history", str(history), "--overwrite"]
                        + _training(args))
        result[f"wall_seconds_w{workers}"] = summary["wall_seconds"]
        result[f"train_seconds_w{workers}"] = summary["simulated_train_seconds_mean"]
        result[f"archs_w{workers}"] = sorted(pd.read_parquet(history)["arch"])
    result["same_nets"] = result["archs_w1"] == result["archs_w2"]
    result["speedup"] = result["wall_seconds_w1"] / result["wall_seconds_w2"]
    for workers in (1, 2):
        result.pop(f"archs_w{workers}")
    (OUT / f"speedup{args.tag}_q{args.budget}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


def search(args) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for algorithm in args.algorithms.split(","):
        history = OUT / f"search_{algorithm}_q{args.budget}_s{args.seeds}.parquet"
        summary_file = history.with_suffix(".json")
        if summary_file.exists():
            summary = json.loads(summary_file.read_text())
        else:
            summary = _graf(_resumable(["search", "--algorithm", algorithm, "--objective", "train", "--budget",
                                        str(args.budget), "--seeds", str(args.seeds), "--workers", str(args.workers),
                                        "--history", str(history)] + _training(args), history))
            summary_file.write_text(json.dumps(summary, indent=1) + "\n")
        h = pd.read_parquet(history)
        best = h.groupby(level="seed")["best_test"].last()
        rows.append({"algorithm": algorithm, "seeds": args.seeds, "budget": args.budget,
                     "test_acc_mean": float(best.mean()), "test_acc_std": float(best.std(ddof=1)),
                     "val_acc_mean": float(h.groupby(level="seed")["best_target"].last().mean()),
                     "trainings": summary.get("trainings"), "wall_seconds": summary["wall_seconds"]})
        print(json.dumps(rows[-1]), flush=True)
    (OUT / f"search_q{args.budget}_s{args.seeds}.json").write_text(json.dumps(rows, indent=1) + "\n")


def report(_args) -> None:
    for path in sorted(OUT.glob("*.json")):
        print(path.name, path.read_text().strip())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    for name, fn in (("tau", tau), ("speedup", speedup), ("search", search), ("report", report)):
        q = sub.add_parser(name)
        q.set_defaults(fn=fn)
        q.add_argument("--train-data", default="digits")
        q.add_argument("--epochs", type=int, default=1)
        q.add_argument("--channels", type=int, default=8)
        q.add_argument("--cells", type=int, default=1)
        q.add_argument("--workers", type=int, default=1)
    sub.choices["tau"].add_argument("--nets", type=int, default=50)
    sub.choices["tau"].add_argument("--seed", type=int, default=0)
    sub.choices["speedup"].add_argument("--budget", type=int, default=8)
    sub.choices["speedup"].add_argument("--tag", default="", help="suffix of the output names")
    sub.choices["search"].add_argument("--budget", type=int, default=40)
    sub.choices["search"].add_argument("--seeds", type=int, default=5)
    sub.choices["search"].add_argument("--algorithms", default="surrogate-rea,rea,random")
    args = p.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
