"""TE-NAS's training-free pruning search on NB201: the returned cell's test accuracy and the search's wall time.

Each run prunes the supernet for one (dataset, seed, NTK method) with the settings of
``graf search --algorithm tenas`` (:class:`graf.search.strategies.TENAS`), then reads the
cell's 200-epoch test accuracy on all three datasets from the benchmark table. TE-NAS
(ICLR'21, Table 2) reports 93.9 ± 0.47 / 71.24 ± 0.56 / 42.38 ± 0.46 for C10 / C100 / IN16,
each searched on its own dataset.

    # run (each finished search is appended to runs.jsonl; finished ones are skipped)
    OMP_NUM_THREADS=1 python benchmarks/bench_tenas.py run --datasets cifar10 --seeds 0:10 [--ntk-method sample]
    # round 1's Δκ with both NTK methods on the same draws: Kendall τ and seconds per κ
    OMP_NUM_THREADS=1 python benchmarks/bench_tenas.py ntk-agreement --seed 0
    # report runs.jsonl as a table (report.txt)
    python benchmarks/bench_tenas.py report

Outputs under benchmarks/results/tenas/: ``runs.jsonl``, ``ntk_agreement.jsonl``, ``report.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "benchmarks" / "results" / "tenas"
RUNS = OUT / "runs.jsonl"
DATASETS = ("cifar10", "cifar100", "imagenet16")
PAPER = {"cifar10": (93.9, 0.47), "cifar100": (71.24, 0.56), "imagenet16": (42.38, 0.46)}


def _seeds(text: str) -> range:
    start, _, stop = text.partition(":")
    return range(int(start), int(stop))


def _done() -> set[tuple]:
    if not RUNS.exists():
        return set()
    rows = [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]
    return {(r["dataset"], r["seed"], r["ntk_method"], r.get("init", "kaiming_normal")) for r in rows}


def run(args) -> None:
    import torch

    from graf.search import BenchmarkObjective, make_strategy

    OUT.mkdir(parents=True, exist_ok=True)
    objectives = {d: BenchmarkObjective(d, data_dir=args.data_dir) for d in DATASETS}
    done = _done()
    for dataset in args.datasets.split(","):
        for seed in _seeds(args.seeds):
            if (dataset, seed, args.ntk_method, args.init) in done:
                continue
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            strategy = make_strategy("tenas", seed=seed, options=dict(dataset=dataset, data_dir=args.data_dir,
                                                                      ntk_method=args.ntk_method, init=args.init))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            arch = str(strategy.recommend())
            row = {"dataset": dataset, "seed": seed, "ntk_method": args.ntk_method, "init": args.init, "arch": arch,
                   "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                   "torch_threads": torch.get_num_threads(),
                   "test": {d: float(o.test_accuracy(arch)) for d, o in objectives.items()}}
            with open(RUNS, "a") as fh:  # one whole line per finished search: the checkpoint
                fh.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


def ntk_agreement(args) -> None:
    """Round 1's Δκ of the 24 candidates with both NTK methods on the same draws (weights, batch): Kendall τ, time."""
    import torch
    from scipy.stats import kendalltau

    from proxies.batch import NUM_IMAGES, cifar10_batch
    from proxies.supernet import build_supernet, full_mask
    from proxies.tenas import TenasConfig, _draw, _load, _ntk_condition, _sub_seed

    OUT.mkdir(parents=True, exist_ok=True)
    images = cifar10_batch(NUM_IMAGES, 0, args.data_dir)
    config = TenasConfig()
    net = build_supernet(generator=torch.Generator().manual_seed(_sub_seed(args.seed, "supernet")))
    mask = full_mask()
    cands = [(e, op) for e, ops in enumerate(mask) for op in ops]
    out = {"seed": args.seed, "draws": args.draws, "load_before": round(os.getloadavg()[0], 2)}
    for method in ("sample", "batch"):
        changes, seconds = np.zeros((len(cands), args.draws)), []
        for r in range(args.draws):
            d = _draw(net, images, args.seed, 1, r, config)
            _load(net, d.tensors)
            t0 = time.perf_counter()
            k0 = _ntk_condition(net, mask, d.batch, method)
            seconds.append(time.perf_counter() - t0)
            for i, (e, op) in enumerate(cands):
                pruned = tuple(tuple(o for o in m if not (k == e and o == op)) for k, m in enumerate(mask))
                t0 = time.perf_counter()
                changes[i, r] = (k0 - _ntk_condition(net, pruned, d.batch, method)) / k0
                seconds.append(time.perf_counter() - t0)
        out[method] = {"ntk_change": changes.mean(axis=1).round(4).tolist(), "seconds_per_kappa": float(np.median(seconds))}
        print(method, out[method], flush=True)
    out["kendall_tau"] = float(kendalltau(out["sample"]["ntk_change"], out["batch"]["ntk_change"]).statistic)
    out["load_after"] = round(os.getloadavg()[0], 2)
    with open(OUT / "ntk_agreement.jsonl", "a") as fh:
        fh.write(json.dumps(out) + "\n")
    print(json.dumps({k: out[k] for k in ("seed", "kendall_tau", "load_before", "load_after")}))


def report(args) -> None:
    import pandas as pd

    rows = [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]
    table = pd.DataFrame([{"init": "kaiming_normal", **{k: v for k, v in r.items() if k != "test"},
                           "test_own": r["test"][r["dataset"]]} for r in rows])
    if "cpu_seconds" not in table:
        table["cpu_seconds"] = np.nan
    lines = ["| searched on | NTK | init | seeds | test acc (own dataset) | paper | gap | wall s / search (median) "
             "| CPU s (median, where recorded) | load (mean) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (dataset, method, init), g in table.groupby(["dataset", "ntk_method", "init"], sort=False):
        mean, sd = g["test_own"].mean(), g["test_own"].std(ddof=1) if len(g) > 1 else 0.0
        paper = PAPER[dataset][0]
        lines.append(f"| {dataset} | {method} | {init} | {len(g)} | {mean:.2f} ± {sd:.2f} | {paper:.2f} | {mean - paper:+.2f} | "
                     f"{np.median(g['wall_seconds']):.0f} | {g['cpu_seconds'].median():.0f} | {g['load_before'].mean():.1f} |")
    text = "\n".join(lines)
    (OUT / "report.txt").write_text(text + "\n")
    print(text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--datasets", default="cifar10")
    r.add_argument("--seeds", default="0:10", help="start:stop")
    r.add_argument("--ntk-method", default="sample", choices=("sample", "batch"))
    r.add_argument("--init", default="default", choices=("default", "kaiming_normal"))
    r.add_argument("--data-dir", default=None)
    a = sub.add_parser("ntk-agreement")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--draws", type=int, default=1)
    a.add_argument("--data-dir", default=None)
    sub.add_parser("report")
    args = p.parse_args(argv)
    {"run": run, "ntk-agreement": ntk_agreement, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
