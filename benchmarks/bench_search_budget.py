"""Search at small budgets: best-so-far test accuracy at 10 / 20 / 50 / 100 queries, and how often
the best net by target is found, for any algorithm of ``graf search`` on the three NB201 datasets.

A strategy here does not depend on its budget (no schedule), so one run of B queries gives
the results of every smaller budget as its prefix; the committed 100-query histories of
random, REA and surrogate-REA (``benchmarks/results/search/``, bench_search.py) are read the
same way.

    # run (one history per dataset and run; each finished seed is checkpointed, --resume continues)
    python benchmarks/bench_search_budget.py run --algorithm surrogate-bo --budget 50 --seeds 0:50 [--resume]
    # report every history in benchmarks/results/search_budget/ and the committed baselines
    python benchmarks/bench_search_budget.py report

Outputs under benchmarks/results/search_budget/: ``history_<dataset>_<run>.parquet`` and
``report.csv`` / ``report.txt``.
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

OUT = REPO / "benchmarks" / "results" / "search_budget"
BASELINES = REPO / "benchmarks" / "results" / "search"
DATASETS = ("cifar10", "cifar100", "imagenet16")
BUDGETS = (10, 20, 50, 100)
#: committed 100-query histories read as baselines: run name -> file stem after history_<dataset>_
BASELINE_RUNS = {"random": "random_q100", "rea": "rea_q100", "surrogate-rea": "surrogate-rea-ucb0.5_q100_seeds100"}


def _seeds(text: str) -> range:
    start, _, stop = text.partition(":")
    return range(int(start), int(stop))


def run(args) -> None:
    from graf.cli.search import search_pool
    from graf.search import BenchmarkObjective, make_strategy, proxy_prior, run_search, surrogate_features
    from graf.spaces import get_space

    space = get_space("nb201")
    OUT.mkdir(parents=True, exist_ok=True)
    name = args.name or f"{args.algorithm}_q{args.budget}"
    for dataset in args.datasets.split(","):
        objective = BenchmarkObjective(dataset)
        pool, valid_only = search_pool(space, objective.archs, False)
        options, features = {}, None
        if args.algorithm == "surrogate-bo":
            prior = proxy_prior()[0] if args.prior == "proxies" else None
            features = surrogate_features(tuple(args.inputs.split(",")), archs=pool)
            options = dict(prior=prior, n_init=args.n_init, init_top=args.init_top, n_candidates=args.candidates,
                           kappa=args.kappa)
        elif args.algorithm == "surrogate-rea":
            features = surrogate_features(tuple(args.inputs.split(",")), archs=pool)
        ckpt = OUT / f"history_{dataset}_{name}.partial.jsonl"
        done: dict[int, list] = {}
        if ckpt.exists():
            if not args.resume:
                sys.exit(f"{ckpt} exists: pass --resume to continue it")
            for line in ckpt.read_text().splitlines():
                row = json.loads(line)
                done[row["seed"]] = row["history"]
        for seed in _seeds(args.seeds):
            if seed in done:
                continue
            t0 = time.perf_counter()
            strategy = make_strategy(args.algorithm, seed=seed, budget=args.budget, features=features,
                                     valid_only=valid_only, options=options, space=space, pool=pool)
            result = run_search(strategy, objective, args.budget)
            history = result.history.assign(wall=time.perf_counter() - t0).to_dict("records")
            with open(ckpt, "a") as fh:
                fh.write(json.dumps({"seed": seed, "history": history}) + "\n")
            done[seed] = history
            print(f"{dataset} {name} seed {seed}: {result.test:.2f} ({time.perf_counter() - t0:.1f} s)", flush=True)
        frames = [pd.DataFrame(done[s]).assign(seed=s) for s in sorted(done)]
        table = pd.concat(frames, ignore_index=True).rename(columns={"order": "query"})
        tmp = OUT / f".history_{dataset}_{name}.parquet.tmp"
        table.to_parquet(tmp, index=False)
        tmp.replace(OUT / f"history_{dataset}_{name}.parquet")
        ckpt.unlink()


def _curves(path: Path, dataset: str, best_arch: str) -> dict:
    """Per budget: mean and sd over seeds of the best-by-target net's test accuracy, and the share of
    seeds whose queries include the best net by target."""
    h = pd.read_parquet(path)
    if "seed" not in h.columns:
        h = h.reset_index()
    out = {"seeds": int(h["seed"].nunique()), "seed_range": f"{h['seed'].min()}..{h['seed'].max()}"}
    for b in BUDGETS:
        if h.groupby("seed")["query"].max().min() < b:
            continue
        first = h[h["query"] <= b]
        final = first.groupby("seed")["best_test"].last()
        found = first.groupby("seed")["arch"].apply(lambda a: best_arch in set(a))
        out[f"test@{b}"] = float(final.mean())
        out[f"sd@{b}"] = float(final.std(ddof=1))
        out[f"found@{b}"] = float(found.mean())
        if "wall" in h:
            out["wall_s_per_seed"] = float(h.groupby("seed")["wall"].first().mean())
    return out


def report(args) -> None:
    from graf.search import BenchmarkObjective

    rows = []
    for dataset in DATASETS:
        objective = BenchmarkObjective(dataset)
        best_arch = max(objective.archs, key=objective.peek_target)  # first on ties, as the search reports
        ceiling = objective.test_accuracy(best_arch)
        paths = {run: BASELINES / f"history_{dataset}_{stem}.parquet" for run, stem in BASELINE_RUNS.items()}
        paths.update({p.stem.removeprefix(f"history_{dataset}_"): p for p in sorted(OUT.glob(f"history_{dataset}_*.parquet"))})
        for run, path in paths.items():
            if path.is_file():
                rows.append(dict(dataset=dataset, run=run, ceiling=ceiling, **_curves(path, dataset, best_arch)))
    df = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / "report.csv", index=False)
    cols = ["dataset", "run", "seeds", "seed_range", "ceiling"] + [c for b in BUDGETS for c in (f"test@{b}", f"found@{b}")
                                                                  if c in df]
    text = df[cols].round(3).to_string(index=False)
    (OUT / "report.txt").write_text(text + "\n")
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--algorithm", default="surrogate-bo")
    r.add_argument("--name", default=None, help="run name (default: <algorithm>_q<budget>)")
    r.add_argument("--budget", type=int, default=50)
    r.add_argument("--seeds", default="0:50", help="start:stop (default 0:50; tuning seeds are 1000 and up)")
    r.add_argument("--datasets", default=",".join(DATASETS))
    r.add_argument("--inputs", default="graf,proxies")
    r.add_argument("--prior", default="proxies", choices=("proxies", "none"))
    r.add_argument("--n-init", type=int, default=5)
    r.add_argument("--init-top", type=int, default=5)
    r.add_argument("--candidates", type=int, default=1000)
    r.add_argument("--kappa", type=float, default=0.5)
    r.add_argument("--resume", action="store_true")
    sub.add_parser("report")
    args = ap.parse_args()
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
