"""``graf search``: run a search algorithm on a space's benchmark table over several seeds (DESIGN §8)."""

from __future__ import annotations

import argparse
import math
import sys
import time

from graf import interrupt
from graf.cli import Terminated, add_space_argument, progress, say, stopped

HELP = "search a benchmark with surrogate-bo (default), random, naswot, rea, area, surrogate-rea, reinforce, tpe, proxy-rea or tenas over seeds; history table + JSON summary"


def add_arguments(p: argparse.ArgumentParser) -> None:
    # no graf.search import here: `graf --help` must not load pandas; run() validates the names
    from graf.spaces import SPACES

    defaults = "; ".join(
        f"{s.name} {d.name}: {d.target} -> {d.test}" for s in SPACES.values() for d in s.datasets.values()
    )
    add_space_argument(p)
    p.add_argument("--dataset", default=None,
                   help="the space's search dataset (nb201: cifar10 (default), cifar100, imagenet16; tnb101_micro: "
                        "a task, class_scene (default), class_object, ...)")
    p.add_argument("--algorithm", default="surrogate-bo",
                   help="surrogate-bo (default: forest-surrogate Bayesian optimisation with a zero-cost prior), "
                        "random, naswot, rea, area, surrogate-rea, reinforce, tpe (optuna; the search extra), proxy-rea "
                        "(REA on a proxy, no queries) or tenas (TE-NAS's pruning of an NB201 supernet, no queries; "
                        "needs torch)")
    p.add_argument("--budget", type=float, default=100,
                   help="search budget in --budget-unit; for naswot: N, the number of nets scored (default: 100)")
    p.add_argument("--budget-unit", default="queries",
                   help="count queries or simulated training seconds (cifar10_train_seconds_12ep) (default: queries)")
    p.add_argument("--seeds", type=int, default=20, help="number of seeds 0..k-1 (default: 20)")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed (default: 0)")
    p.add_argument("--target", default=None, help=f"search-signal column (defaults: {defaults})")
    p.add_argument("--test", default=None, help="reported test-accuracy column (default: see --target)")
    p.add_argument("--population-size", type=int, default=None,
                   help="REA/AREA/surrogate-REA population (default: 10); with --objectives, nsga2's generation and "
                        "mo-rea's population (default: 20)")
    p.add_argument("--sample-size", type=int, default=None,
                   help="REA tournament size (default: 3); with --objectives, mo-rea's (default: 5)")
    p.add_argument("--candidates", type=int, default=None,
                   help="surrogate-REA: children scored per query (default: 100); surrogate-BO: the nets with the best "
                        "prior among which each query is chosen (default: 1000)")
    p.add_argument("--n-init", type=int, default=5,
                   help="surrogate-BO: first queries, drawn from the --init-top nets with the best prior (default: 5)")
    p.add_argument("--init-top", type=int, default=5,
                   help="surrogate-BO: the first queries are drawn from this many nets with the best prior; the "
                        "default 5 = --n-init queries them all (default: 5)")
    p.add_argument("--prior", default="auto",
                   help="surrogate-BO prior: proxies (rank average of every proxy in the project's table, "
                        "--proxies-file), none (random first queries, every net a candidate), or auto: proxies "
                        "where a table exists (default: auto)")
    p.add_argument("--refit-every", type=int, default=10, help="surrogate-REA: refit after this many new values (default: 10)")
    p.add_argument("--epsilon", type=float, default=0.3, help="surrogate-REA: chance of a random candidate (default: 0.3)")
    p.add_argument("--kappa", type=float, default=0.5,
                   help="surrogate-REA and -BO: pick candidates by predicted mean + KAPPA * sd over the forest's trees "
                        "(an upper confidence bound; 0: the prediction alone) (default: 0.5)")
    p.add_argument("--skip-isomorphs", action="store_true",
                   help="surrogate-REA: never consider a candidate isomorphic to a queried net (same computation); "
                        "measured no better than the default (docs/BENCHMARKS.md)")
    p.add_argument("--warm-start", default="random",
                   help="surrogate-REA initial population: random, or naswot (top --population-size of 100 random nets by "
                        "NASWOT score, from --score-source) (default: random)")
    p.add_argument("--surrogate-inputs", default=None,
                   help="surrogate predictor inputs, any of graf, proxies (own table, --proxies-file), "
                        "zcp (published, valid nets only) (default: surrogate-REA graf; surrogate-BO graf,proxies "
                        "where the space has a proxy table, else graf)")
    p.add_argument("--learning-rate", type=float, default=0.01, help="reinforce: Adam's step size (default: 0.01)")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="reinforce: momentum of the moving-average baseline (default: 0.9)")
    p.add_argument("--ntk-method", default="sample",
                   help="tenas: sample (each sample its own BatchNorm batch, fast) or batch (TE-NAS's: BatchNorm over "
                        "the NTK batch, one backward pass per sample, about 25x slower) (default: sample)")
    p.add_argument("--valid-only", action="store_true", help="search only the valid nets (nb201: 9445)")
    p.add_argument("--score-source", default="auto",
                   help="auto, table, compute or published: NASWOT scores for naswot/area: proxies table, computed+cached, or published nwot (valid nets only)")
    p.add_argument("--score-proxy", default="naswot",
                   help="the proxy naswot, area, proxy-rea and the naswot warm start score with: a column of the "
                        "proxies table, e.g. naswot or synflow (default: naswot)")
    p.add_argument("--proxies-file", default=None,
                   help="the project's proxy table (`graf proxies --all`) for NASWOT scores and the 'proxies' surrogate "
                        "input (default: graf/data/files/nb201_proxies.parquet)")
    p.add_argument("--history", default=None, help="write every query of every seed to this .parquet/.csv table; "
                   "while the search runs every finished query is appended to <history>.partial.jsonl (--resume)")
    from graf.cli.train import add_search_arguments

    add_search_arguments(p)
    p.add_argument("--objectives", default=None,
                   help="multi-objective search (graf.search.multi): one accuracy (a dataset, e.g. cifar10; a query) and "
                        "free costs hw:<dataset>:<metric> or robust:<attack column> (revealed by the same query), "
                        "e.g. cifar10,hw:cifar10:edgegpu_latency; --algorithm then takes surrogate-bo (default), random, "
                        "nsga2 or mo-rea; returns the Pareto set and its hypervolume ratio")


def check_budget_and_seeds(args: argparse.Namespace, *, whole: bool, what: str) -> None:
    """``--budget`` finite and > 0 (a whole number when ``whole``; ``what`` names it in the
    error), a known ``--budget-unit``, and ``--seeds`` >= 1."""
    if not (args.budget > 0 and math.isfinite(args.budget)):
        raise ValueError(f"--budget must be a finite number > 0, got {args.budget:g}")
    if args.budget_unit not in ("queries", "seconds"):
        raise ValueError(f"unknown --budget-unit {args.budget_unit!r}; available: queries, seconds")
    if whole and args.budget != int(args.budget):
        raise ValueError(f"{what} must be a whole number, got {args.budget:g}")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")


def run(args: argparse.Namespace) -> dict:
    if args.objectives is not None:
        from graf.cli.search_mo import run_objectives

        return run_objectives(args)
    args.population_size = 10 if args.population_size is None else args.population_size
    args.sample_size = 3 if args.sample_size is None else args.sample_size
    import numpy as np
    from tqdm import tqdm

    from graf.search import make_strategy, run_search, score_provider, surrogate_features
    from graf.spaces import get_space
    from graf.tables import write_table

    start = time.perf_counter()
    from graf.search.runner import ALGORITHMS

    space = get_space(args.space)
    if args.algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {args.algorithm!r}; available: {', '.join(ALGORITHMS)}")
    check_budget_and_seeds(args, whole=args.budget_unit == "queries" or args.algorithm in ("naswot", "proxy-rea"),
                           what="a query budget (or NASWOT's N)")
    from graf.cli.train import SearchSession, history_output, search_objective

    history_path = history_output(args)
    objective = search_objective(args, space)
    if args.budget_unit == "seconds" and objective.cost is None:
        raise ValueError(f"dataset {objective.dataset!r} of space {space.name!r} has no training-time column; "
                         "use --budget-unit queries")
    pool, valid_only = search_pool(space, objective.archs, args.valid_only)
    scores = features = None
    options: dict = {}
    info: dict = {}
    if args.warm_start not in ("random", "naswot"):
        raise ValueError(f"unknown --warm-start {args.warm_start!r}; available: random, naswot")
    if args.algorithm in ("naswot", "area", "proxy-rea") or (
            args.algorithm == "surrogate-rea" and args.warm_start == "naswot"):
        scores = score_provider(args.score_source, proxies_file=args.proxies_file, data_dir=args.data_dir,
                                space=space, dataset=objective.dataset, proxy=args.score_proxy)
        valid_only = valid_only or scores.valid_only
        info["score_source"] = scores.source
    if args.algorithm in ("rea", "area", "surrogate-rea", "proxy-rea"):
        options.update(population_size=args.population_size, sample_size=args.sample_size)
    if args.algorithm == "reinforce":
        options.update(learning_rate=args.learning_rate, momentum=args.momentum)
    if args.algorithm == "surrogate-bo":
        prior, prior_source = _prior(args, space)
        default_inputs = "graf,proxies" if prior is not None else "graf"
        inputs = tuple(s.strip() for s in (args.surrogate_inputs or default_inputs).split(",") if s.strip())
        features = surrogate_features(inputs, args.data_dir, proxies_file=args.proxies_file, space=space,
                                      archs=pool, dataset=objective.dataset)
        valid_only = valid_only or "zcp" in inputs
        options.update(prior=prior, n_init=args.n_init, init_top=args.init_top,
                       n_candidates=1000 if args.candidates is None else args.candidates, kappa=args.kappa)
        info.update(surrogate_inputs=list(inputs), prior=prior_source, kappa=args.kappa)
    if args.algorithm == "surrogate-rea":
        inputs = tuple(s.strip() for s in (args.surrogate_inputs or "graf").split(",") if s.strip())
        features = surrogate_features(inputs, args.data_dir, proxies_file=args.proxies_file, space=space,
                                      archs=pool, dataset=objective.dataset)
        valid_only = valid_only or "zcp" in inputs
        options.update(n_candidates=100 if args.candidates is None else args.candidates, refit_every=args.refit_every, epsilon=args.epsilon,
                       kappa=args.kappa, n_init=args.population_size, skip_isomorphs=args.skip_isomorphs)
        info["surrogate_inputs"] = list(inputs)
        info["warm_start"] = args.warm_start
        info["kappa"] = args.kappa
        if args.warm_start == "naswot":
            options["scores"] = scores
    if args.algorithm == "tenas":
        if args.ntk_method not in ("sample", "batch"):
            raise ValueError(f"unknown --ntk-method {args.ntk_method!r}; available: sample, batch")
        options.update(dataset=objective.dataset, data_dir=args.data_dir, ntk_method=args.ntk_method)
        info["ntk_method"] = args.ntk_method
    unit = "queries" if args.algorithm in ("naswot", "proxy-rea") else args.budget_unit
    tests, targets, queries, seconds, histories, search_seconds = [], [], [], [], [], []
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    def write_history() -> None:
        table = pd_concat(histories).rename(columns={"order": "query"})
        write_table(table.set_index(["seed", "query"]), history_path)

    draws: list[list[int]] = []
    session = SearchSession(args, objective, history_path)
    try:
        for seed in tqdm(seeds, desc=f"{args.algorithm} {objective.dataset}", file=sys.stderr, unit="seed",
                         disable=not progress(args)):
            made = time.perf_counter()
            strategy = make_strategy(args.algorithm, seed=seed, budget=args.budget, scores=scores, features=features,
                                     valid_only=valid_only, options=options, space=space, pool=pool)
            search_seconds.append(time.perf_counter() - made)
            result = run_search(strategy, objective, args.budget, unit=unit, **session.options(seed))
            if hasattr(strategy, "n_draws"):  # strategies that redraw (reinforce, tpe, gp): per-query counts
                draws.append([strategy.n_draws, strategy.n_invalid, strategy.n_fallbacks, max(result.queries, 1)])
            tests.append(result.test)
            targets.append(result.target)
            queries.append(result.queries)
            seconds.append(result.seconds)
            interrupt.check()  # a stop a library swallowed during this seed: the seed is not kept
            h = result.history if len(result.history) else _naswot_row(result)
            h.insert(0, "seed", seed)
            histories.append(h)
    except (KeyboardInterrupt, Terminated) as exc:
        session.close()
        if history_path is not None and histories:
            write_history()
            raise stopped(exc, f"wrote the history of the {len(histories)} finished seed(s) to {history_path}"
                               f"{session.kept()}") from None
        raise stopped(exc, f"{len(histories)} seed(s) had finished; no history was written"
                           f"{session.kept() if history_path else ' (no --history)'}") from None
    finally:
        session.close()
    if history_path is not None:
        write_history()
        session.complete()
    wall = time.perf_counter() - start
    out = {
        "algorithm": args.algorithm,
        "space": space.name,
        "dataset": objective.dataset,
        "budget": int(args.budget) if args.budget == int(args.budget) else args.budget,
        "budget_unit": "nets scored" if args.algorithm in ("naswot", "proxy-rea") else unit,
        "seeds": args.seeds,
        "target": objective.target,
        "test": objective.test,
        "valid_only": valid_only,
        "test_acc_mean": float(np.mean(tests)),
        "test_acc_std": float(np.std(tests, ddof=1)) if len(tests) > 1 else 0.0,
        "target_mean": float(np.mean(targets)),
        "queries_mean": float(np.mean(queries)),
        "simulated_train_seconds_mean": float(np.mean(seconds)),
        "wall_seconds": wall,
        **info,
        **session.info(objective),
        **({"search_seconds_mean": float(np.mean(search_seconds))} if args.algorithm == "tenas" else {}),
        **_draw_counts(draws),
    }
    if history_path is not None:
        out["history"] = str(history_path)
    say(args, f"{args.algorithm} {space.name} {objective.dataset}: test {out['test_acc_mean']:.2f} ± {out['test_acc_std']:.2f} "
          f"({args.seeds} seeds, {out['queries_mean']:.1f} queries, {wall:.1f} s)")
    return out


def _prior(args: argparse.Namespace, space):
    """``(prior Series or None, its description)`` for surrogate-BO's ``--prior``."""
    from graf.data.paths import SHIPPED_PROXY_TABLES
    from graf.search import proxy_prior

    if args.prior not in ("auto", "proxies", "none"):
        raise ValueError(f"unknown --prior {args.prior!r}; available: auto, proxies, none")
    if args.prior == "none" or (args.prior == "auto" and args.proxies_file is None
                                and space.name not in SHIPPED_PROXY_TABLES):
        return None, "none (random first queries)"
    return proxy_prior(args.proxies_file, space=space)


def search_pool(space, archs: list[str], valid_only: bool):
    """``(pool, valid_only)`` for a search over the nets with benchmark values ``archs``.

    When they are the whole space, or exactly its valid nets, the strategy draws from the
    space itself (no pool; valid_only in the second case); otherwise from those nets.
    """
    covered = set(archs)
    everything = space.enumerate()
    if everything is not None and covered >= {str(a) for a in everything}:
        return None, valid_only
    valid = space.valid_archs()
    if valid is not None and covered == {str(a) for a in valid}:
        return None, True
    return [space.parse(a) for a in archs], valid_only


def _naswot_row(result):
    """A query-free run's history: the one returned net, with order 0 (never queried)."""
    import pandas as pd

    return pd.DataFrame([{"order": 0, "arch": result.arch, "target": result.target, "test": result.test,
                          "seconds": 0.0, "best_target": result.target, "best_test": result.test}])


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def _draw_counts(draws: list[list[int]]) -> dict:
    """Per query, mean over seeds: the strategy's draws (policy samples or optuna suggestions), those
    that were no architecture, and the asks answered by a random pool member after too many redraws."""
    import numpy as np

    if not draws:
        return {}
    d = np.asarray(draws, dtype=float)
    per_query = d[:, :3] / d[:, 3:]
    return {"draws_per_query_mean": float(per_query[:, 0].mean()),
            "invalid_draws_per_query_mean": float(per_query[:, 1].mean()),
            "fallbacks_per_query_mean": float(per_query[:, 2].mean())}
