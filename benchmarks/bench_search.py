"""Search benchmark: baselines (random, NASWOT, REA, AREA) and surrogate-REA on NB201, three datasets.

Writes, under benchmarks/results/search/:
  history_<dataset>_<run>.parquet   every query of every seed (seed, query, arch, target, test, seconds,
                                    best_target, best_test)
  summary.csv / summary.json        one row per run: mean ± sd test accuracy, queries, seconds, wall time
  tests.json                        Mann-Whitney U (two-sided) surrogate-REA vs REA at 100 queries

Usage: GRAF_DATA_DIR=../shared/data python benchmarks/bench_search.py [--quick]
NASWOT/AREA scores: runs without a suffix use NB-Suite-Zero's published nwot, which covers only
the 9445 valid nets, so they sample valid nets only; runs with ``own`` in their name take
their scores from the project's table graf/data/files/nb201_proxies.parquet (issue 6), which covers all
15625 nets as in the NASWOT paper. Surrogate-REA inputs: GRAF features (``graf``); the
``surrogate-rea-own*`` runs add the table's proxies (``graf,proxies``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graf.search import BenchmarkObjective, make_strategy, run_search, score_provider, surrogate_features  # noqa: E402

OUT = REPO / "benchmarks" / "results" / "search"
DATASETS = ("cifar10", "cifar100", "imagenet16")
#: the default surrogate-REA design (as `graf search`): UCB pick with kappa = 0.5 since the fourth session
SURROGATE = dict(population_size=10, sample_size=3, n_init=10, n_candidates=100, refit_every=10, epsilon=0.3, kappa=0.5)
#: the default before it (plain prediction); the variants below were measured on this base
SURROGATE_K0 = dict(SURROGATE, kappa=0.0)


def runs(quick: bool):
    k_naswot, k_rea, k_sur = (10, 5, 3) if quick else (100, 100, 20)
    return [
        # name, algorithm, budget, unit, seeds, options
        ("naswot_N10", "naswot", 10, "queries", k_naswot, {}),
        ("naswot_N100", "naswot", 100, "queries", k_naswot, {}),
        ("naswot_N1000", "naswot", 1000, "queries", k_naswot, {}),
        ("random_12000s", "random", 12000, "seconds", k_rea, {}),
        ("rea_12000s", "rea", 12000, "seconds", k_rea, {}),
        ("area_12000s", "area", 12000, "seconds", k_rea, {}),
        ("random_q100", "random", 100, "queries", k_rea, {}),
        ("rea_q100", "rea", 100, "queries", k_rea, {}),
        ("surrogate-rea-ucb_q100", "surrogate-rea", 100, "queries", k_sur, dict(SURROGATE)),
        ("surrogate-rea_q100", "surrogate-rea", 100, "queries", k_sur, dict(SURROGATE_K0)),
        ("surrogate-rea-nwotwarm_q100", "surrogate-rea", 100, "queries", k_sur, dict(SURROGATE_K0, warm_start="naswot")),
        ("surrogate-rea-greedy_q100", "surrogate-rea", 100, "queries", k_sur, dict(SURROGATE_K0, epsilon=0.0)),
        # the project's own proxy table: NASWOT over all 15625 nets, surrogate on GRAF + own proxies
        ("naswot_own_N10", "naswot", 10, "queries", k_naswot, dict(source="table")),
        ("naswot_own_N100", "naswot", 100, "queries", k_naswot, dict(source="table")),
        ("naswot_own_N1000", "naswot", 1000, "queries", k_naswot, dict(source="table")),
        ("area_own_12000s", "area", 12000, "seconds", k_rea, dict(source="table")),
        ("surrogate-rea-own_q100", "surrogate-rea", 100, "queries", k_sur, dict(SURROGATE_K0, inputs="graf,proxies")),
        ("surrogate-rea-own-nwotwarm_q100", "surrogate-rea", 100, "queries", k_sur,
         dict(SURROGATE_K0, inputs="graf,proxies", warm_start="naswot", source="table")),
        ("surrogate-rea-nwotwarm-own_q100", "surrogate-rea", 100, "queries", k_sur,
         dict(SURROGATE_K0, warm_start="naswot", source="table")),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="few seeds, for a smoke run")
    ap.add_argument("--only", default=None, help="comma-separated run names")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    providers: dict = {}
    feature_tables: dict = {}

    def scores_for(source):
        if source not in providers:
            providers[source] = score_provider(source)
        return providers[source]

    def features_for(inputs):
        if inputs not in feature_tables:
            feature_tables[inputs] = surrogate_features(tuple(inputs.split(",")))
        return feature_tables[inputs]
    rows = []
    summary_path = OUT / "summary.csv"
    old = pd.read_csv(summary_path) if summary_path.is_file() and args.only else None
    selected = [r for r in runs(args.quick) if args.only is None or r[0] in args.only.split(",")]
    for dataset in args.datasets.split(","):
        obj = BenchmarkObjective(dataset)
        for name, algorithm, budget, unit, k, opts in selected:
            t0 = time.perf_counter()
            hist, tests, queries, seconds = [], [], [], []
            scores = scores_for(opts.get("source", "published"))
            features = features_for(opts.get("inputs", "graf")) if algorithm == "surrogate-rea" else None
            for seed in range(k):
                o = {key: v for key, v in opts.items() if key not in ("source", "inputs")}
                if o.pop("warm_start", None) == "naswot":
                    o["scores"] = scores
                st = make_strategy(algorithm, seed=seed, budget=budget, scores=scores, features=features, options=o)
                r = run_search(st, obj, budget, unit=unit)
                tests.append(r.test)
                queries.append(r.queries)
                seconds.append(r.seconds)
                h = r.history if len(r.history) else pd.DataFrame(
                    [{"order": 0, "arch": r.arch, "target": r.target, "test": r.test, "seconds": 0.0,
                      "best_target": r.target, "best_test": r.test}])
                h.insert(0, "seed", seed)
                hist.append(h)
            wall = time.perf_counter() - t0
            pd.concat(hist, ignore_index=True).rename(columns={"order": "query"}).to_parquet(
                OUT / f"history_{dataset}_{name}.parquet", index=False)
            row = dict(dataset=dataset, run=name, algorithm=algorithm, budget=budget, unit=unit, seeds=k,
                       target=obj.target, test=obj.test,
                       score_source=scores.source if algorithm in ("naswot", "area") or "warm_start" in opts else "",
                       surrogate_inputs=opts.get("inputs", "graf") if algorithm == "surrogate-rea" else "",
                       test_mean=float(np.mean(tests)), test_std=float(np.std(tests, ddof=1)),
                       queries_mean=float(np.mean(queries)), seconds_mean=float(np.mean(seconds)), wall_seconds=wall,
                       options=json.dumps(opts))
            rows.append(row)
            print(f"{dataset:10s} {name:28s} {row['test_mean']:.2f} ± {row['test_std']:.2f}  "
                  f"q={row['queries_mean']:.1f}  {wall:.1f}s", flush=True)
    df = pd.DataFrame(rows)
    if old is not None:
        df = pd.concat([old.set_index(["dataset", "run"]).drop(df.set_index(["dataset", "run"]).index, errors="ignore")
                        .reset_index(), df], ignore_index=True)
    df.to_csv(summary_path, index=False)
    tests_out = {}
    for dataset in DATASETS:
        b = OUT / f"history_{dataset}_rea_q100.parquet"
        for a in sorted(OUT.glob(f"history_{dataset}_surrogate-rea*_q100.parquet")):
            if not b.is_file():
                continue
            x = pd.read_parquet(a).groupby("seed")["best_test"].last()
            y = pd.read_parquet(b).groupby("seed")["best_test"].last()
            res = mannwhitneyu(x, y, alternative="two-sided")
            one = mannwhitneyu(x, y, alternative="greater")
            run = a.stem.removeprefix(f"history_{dataset}_")
            tests_out[f"{dataset}/{run}"] = dict(
                dataset=dataset, run=run, surrogate_mean=float(x.mean()), surrogate_seeds=len(x),
                rea_mean=float(y.mean()), rea_seeds=len(y), U=float(res.statistic), p_two_sided=float(res.pvalue),
                p_greater=float(one.pvalue))
    meta = dict(date=time.strftime("%Y-%m-%d"), python=platform.python_version(), machine=platform.machine(),
                quick=args.quick)
    (OUT / "tests.json").write_text(json.dumps(dict(meta=meta, mannwhitney_surrogate_vs_rea_q100=tests_out), indent=2))
    print(json.dumps(tests_out, indent=1))


if __name__ == "__main__":
    main()
