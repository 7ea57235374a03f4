"""Multi-objective search: hypervolume ratio at 50 accuracy queries against the exact Pareto front.

Three pairs (accuracy of the search dataset, an HW-NAS-Bench latency of the same dataset):
CIFAR-10 × edgegpu_latency, CIFAR-10 × raspi4_latency, ImageNet16-120 × pixel3_latency. For
each, random search, NSGA-II (optuna), MO-REA and the multi-objective surrogate-BO
(graf.search.multi) run the same seeds; the returned set (the Pareto set of the queried nets by
their search-signal values) is measured by its reported values (test accuracy, latency):
hypervolume ratio to the exact front of all 15625 nets (reference 1.01 after min/max scaling)
and IGD. Mann-Whitney U (scipy.stats.mannwhitneyu) compares ours with each baseline.

    # run (each finished seed is checkpointed in <out>/runs.jsonl; run again to continue)
    python benchmarks/bench_search_mo.py run --seeds 0:20 [--budget 50] [--configs NAME,...] [--out DIR]
    # summarise <out>/runs.jsonl into <out>/results.json and <out>/report.txt
    python benchmarks/bench_search_mo.py report [--out DIR]

Design choices were tuned on seeds 1000.. (``--out benchmarks/results/search_mo/tuning``) and
reported on seeds 0..19 (the default output folder, benchmarks/results/search_mo/).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "benchmarks" / "results" / "search_mo"
PAIRS = (("cifar10", "edgegpu_latency"), ("cifar10", "raspi4_latency"), ("imagenet16", "pixel3_latency"))
#: run name -> (algorithm of graf.search.multi, its options); "ours" is the default of --objectives.
#: On the tuning seeds the baselines did better with populations of 20 than 10 (mean ratio over
#: the three pairs, report in results/search_mo/tuning/), so they are reported with 20. The
#: variants of ours were tuned against "ours-first0", the default before exploit_first (15 now).
CONFIGS = {
    "random": ("random", {}),
    "nsga2": ("nsga2", {"population_size": 20}),
    "nsga2-pop10": ("nsga2", {"population_size": 10}),
    "mo-rea": ("mo-rea", {"population_size": 20, "sample_size": 5}),
    "mo-rea-pop10": ("mo-rea", {"population_size": 10, "sample_size": 3}),
    "ours": ("surrogate-bo", {}),
    "ours-first0": ("surrogate-bo", {"exploit_first": 0}),
    "ours-first10": ("surrogate-bo", {"exploit_first": 10}),
    "ours-first25": ("surrogate-bo", {"exploit_first": 25}),
    "ours-init10": ("surrogate-bo", {"n_init": 10, "exploit_first": 0}),
    "ours-allnets": ("surrogate-bo", {"n_candidates": None, "exploit_first": 0}),
    "ours-c5000": ("surrogate-bo", {"n_candidates": 5000, "exploit_first": 0}),
    "ours-allnets-first15": ("surrogate-bo", {"n_candidates": None}),
    "ours-parego": ("surrogate-bo", {"acquisition": "parego", "exploit_first": 0}),
    "ours-exploit3": ("surrogate-bo", {"exploit_every": 3, "exploit_first": 0}),
    "ours-exploit5": ("surrogate-bo", {"exploit_every": 5, "exploit_first": 0}),
}
REPORTED = ("random", "nsga2", "mo-rea", "ours-first0", "ours")
OURS = "ours"


def _seeds(text: str) -> range:
    start, _, stop = text.partition(":")
    return range(int(start), int(stop))


def _done(path: Path) -> set[tuple]:
    if not path.exists():
        return set()
    return {(r["dataset"], r["metric"], r["config"], r["seed"]) for r in map(json.loads, path.read_text().splitlines())}


def run(args) -> None:
    from graf.search import proxy_prior, surrogate_features
    from graf.search.multi import MultiObjective, make_mo_strategy, run_mo_search

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "runs.jsonl"
    done = _done(ckpt)
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        sys.exit(f"unknown config(s) {unknown}; available: {', '.join(CONFIGS)}")
    features = surrogate_features(("graf", "proxies"))
    prior = proxy_prior()[0]
    pairs = [p for p in PAIRS if args.pairs is None or f"{p[0]}:{p[1]}" in args.pairs.split(",")]
    for dataset, metric in pairs:
        objective = MultiObjective(f"{dataset},hw:{dataset}:{metric}")
        for name in configs:
            algorithm, options = CONFIGS[name]
            for seed in _seeds(args.seeds):
                if (dataset, metric, name, seed) in done:
                    continue
                t0 = time.perf_counter()
                strategy = make_mo_strategy(algorithm, seed=seed, senses=objective.senses, features=features,
                                            known=objective.known(), prior=prior, options=options)
                r = run_mo_search(strategy, objective, args.budget)
                row = {"dataset": dataset, "metric": metric, "config": name, "seed": seed, "budget": args.budget,
                       "hypervolume_ratio": r.hypervolume_ratio, "igd": r.igd,
                       "queried_hypervolume_ratio": r.queried_hypervolume_ratio, "pareto": r.pareto,
                       "curve": r.history["hypervolume_ratio"].tolist(), "wall": time.perf_counter() - t0}
                with open(ckpt, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{dataset} {metric} {name} seed {seed}: ratio {r.hypervolume_ratio:.4f} "
                      f"IGD {r.igd:.4f} ({row['wall']:.1f} s)", flush=True)


def summarise(rows: pd.DataFrame) -> dict:
    """Per pair and config: mean/sd of the ratio, IGD; ours against each other config (Mann-Whitney)."""
    from scipy.stats import mannwhitneyu

    pairs = []
    for (dataset, metric), g in rows.groupby(["dataset", "metric"], sort=False):
        by = {c: h.sort_values("seed") for c, h in g.groupby("config", sort=False)}
        entry = {"dataset": dataset, "metric": metric, "results": []}
        for name, h in by.items():
            ratio = h["hypervolume_ratio"].to_numpy()
            res = {"config": name, "seeds": len(h), "seed_range": [int(h["seed"].min()), int(h["seed"].max())],
                   "hypervolume_ratio_mean": float(ratio.mean()), "hypervolume_ratio_std": float(ratio.std(ddof=1)),
                   "hypervolume_ratio_min": float(ratio.min()), "igd_mean": float(h["igd"].mean()),
                   "igd_std": float(h["igd"].std(ddof=1)),
                   "queried_hypervolume_ratio_mean": float(h["queried_hypervolume_ratio"].mean()),
                   "pareto_size_mean": float(h["pareto"].map(len).mean()), "wall_mean": float(h["wall"].mean()),
                   "curve_mean": np.mean(np.stack(h["curve"].to_numpy()), axis=0).tolist()}
            if OURS in by and name != OURS:
                ours = by[OURS]["hypervolume_ratio"].to_numpy()
                res["mannwhitney_p_two_sided"] = float(mannwhitneyu(ours, ratio, alternative="two-sided").pvalue)
                res["mannwhitney_p_ours_greater"] = float(mannwhitneyu(ours, ratio, alternative="greater").pvalue)
            entry["results"].append(res)
        pairs.append(entry)
    return {"budget": int(rows["budget"].iloc[0]), "pairs": pairs}


def report(args) -> None:
    from graf.tables import atomic_write

    out = Path(args.out)
    rows = pd.DataFrame([json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()])
    summary = summarise(rows)
    lines = [f"hypervolume ratio at {summary['budget']} accuracy queries (mean ± sd over seeds; p: Mann-Whitney, ours vs it)"]
    for pair in summary["pairs"]:
        lines.append(f"\n{pair['dataset']} x {pair['metric']}")
        lines.append(f"{'config':<16}{'seeds':>6}{'ratio':>18}{'min':>8}{'IGD':>9}{'queried':>9}{'|set|':>7}"
                     f"{'p two-sided':>13}{'p greater':>11}")
        for r in pair["results"]:
            p2 = f"{r['mannwhitney_p_two_sided']:.2g}" if "mannwhitney_p_two_sided" in r else "-"
            p1 = f"{r['mannwhitney_p_ours_greater']:.2g}" if "mannwhitney_p_ours_greater" in r else "-"
            lines.append(f"{r['config']:<16}{r['seeds']:>6}{r['hypervolume_ratio_mean']:>10.4f} ± {r['hypervolume_ratio_std']:.4f}"
                         f"{r['hypervolume_ratio_min']:>8.4f}{r['igd_mean']:>9.4f}{r['queried_hypervolume_ratio_mean']:>9.4f}"
                         f"{r['pareto_size_mean']:>7.1f}{p2:>13}{p1:>11}")
    text = "\n".join(lines) + "\n"
    for path, content in ((out / "report.txt", text), (out / "results.json", json.dumps(summary, indent=1) + "\n")):
        atomic_write(path, lambda tmp, content=content: Path(tmp).write_text(content))
    print(text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--seeds", default="0:20", help="seed range start:stop (default 0:20)")
    p.add_argument("--budget", type=int, default=50)
    p.add_argument("--configs", default=",".join(REPORTED), help=f"any of {', '.join(CONFIGS)}")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--pairs", help="only these DATASET:METRIC pairs, comma-separated (default: all three)")
    r = sub.add_parser("report")
    r.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    main()
