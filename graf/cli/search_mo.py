"""``graf search --objectives``: multi-objective search over seeds (graf.search.multi), called by graf.cli.search."""

from __future__ import annotations

import argparse
import sys
import time

from graf import interrupt
from graf.cli import Terminated, progress, say, stopped


def run_objectives(args: argparse.Namespace) -> dict:
    import numpy as np
    from tqdm import tqdm

    from graf.cli.search import _prior, check_budget_and_seeds, pd_concat, search_pool
    from graf.cli.train import history_output, run_identity
    from graf.search import surrogate_features
    from graf.search.multi import MO_ALGORITHMS, MultiObjective, make_mo_strategy, run_mo_search
    from graf.search.runner import SearchCheckpoint
    from graf.spaces import get_space
    from graf.tables import write_table

    start = time.perf_counter()
    space = get_space(args.space)
    if args.algorithm not in MO_ALGORITHMS:
        raise ValueError(f"unknown algorithm {args.algorithm!r} for --objectives; available: {', '.join(MO_ALGORITHMS)}")
    check_budget_and_seeds(args, whole=args.budget_unit == "queries", what="a query budget")
    if getattr(args, "objective", None) == "train" or getattr(args, "workers", None) not in (None, 1) or \
            getattr(args, "scheduler", None):
        raise ValueError("--objectives searches the benchmark tables; --objective train, --workers and --scheduler "
                         "do not apply to it")
    if args.dataset is not None:
        raise ValueError("--dataset does not apply with --objectives: name the accuracy's dataset in --objectives")
    history_path = history_output(args)
    objective = MultiObjective(args.objectives, space=space, target=args.target, test=args.test, data_dir=args.data_dir)
    if args.budget_unit == "seconds" and objective.accuracy.cost is None:
        raise ValueError(f"dataset {objective.accuracy.dataset!r} has no training-time column; use --budget-unit queries")
    pool, valid_only = search_pool(space, objective.archs, args.valid_only)
    front = objective.front
    options: dict = {}
    info: dict = {}
    features = known = prior = None
    if args.algorithm in ("nsga2", "mo-rea") and args.population_size is not None:
        options["population_size"] = args.population_size  # else the class's tuned default (20)
    if args.algorithm == "mo-rea" and args.sample_size is not None:
        options["sample_size"] = args.sample_size  # else 5
    if args.algorithm == "surrogate-bo":
        prior, prior_source = _prior(args, space)
        default_inputs = "graf,proxies" if prior is not None else "graf"
        inputs = tuple(s.strip() for s in (args.surrogate_inputs or default_inputs).split(",") if s.strip())
        features = surrogate_features(inputs, args.data_dir, proxies_file=args.proxies_file, space=space,
                                      archs=pool if pool is not None else objective.archs,
                                      dataset=objective.accuracy.dataset)
        known = objective.known()
        valid_only = valid_only or "zcp" in inputs
        options.update(n_init=args.n_init, kappa=args.kappa)
        if args.candidates is not None:
            options["n_candidates"] = args.candidates
        info.update(surrogate_inputs=list(inputs), prior=prior_source)
    runs, histories = [], []
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    checkpoint = None
    if history_path is not None:  # every charged query goes to <history>.partial.jsonl as it is made
        checkpoint = SearchCheckpoint.open(history_path, run_identity(args), resume=args.resume,
                                           kind="graf_search_mo_checkpoint")
    resumed = len(checkpoint.records) if checkpoint else 0

    def write_history() -> None:
        table = pd_concat(histories).rename(columns={"order": "query"})
        write_table(table.set_index(["seed", "query"]), history_path)

    try:
        for seed in tqdm(seeds, desc=f"{args.algorithm} {','.join(objective.names)}", file=sys.stderr, unit="seed",
                         disable=not progress(args)):
            strategy = make_mo_strategy(args.algorithm, seed=seed, senses=objective.senses, features=features,
                                        known=known, prior=prior, options=options, space=space, pool=pool,
                                        valid_only=valid_only)
            journal = {"journal": checkpoint.writer(seed), "replay": checkpoint.replay(seed)} if checkpoint else {}
            result = run_mo_search(strategy, objective, args.budget, unit=args.budget_unit, **journal)
            interrupt.check()  # a stop a library swallowed during this seed: the seed is not kept
            reported = objective.reported.loc[result.pareto]
            runs.append({"seed": seed, "hypervolume_ratio": result.hypervolume_ratio, "igd": result.igd,
                         "queried_hypervolume_ratio": result.queried_hypervolume_ratio, "queries": result.queries,
                         "pareto": [{"arch": a, **row} for a, row in zip(result.pareto, reported.to_dict("records"))]})
            h = result.history
            h.insert(0, "seed", seed)
            histories.append(h)
    except (KeyboardInterrupt, Terminated) as exc:
        if checkpoint is None:
            raise stopped(exc, f"{len(histories)} seed(s) had finished; nothing was written (no --history)") from None
        checkpoint.close()
        kept = f"every finished query is in {checkpoint.path}: rerun with --resume to continue"
        if histories:
            write_history()
            kept = f"wrote the history of the {len(histories)} finished seed(s) to {history_path}; {kept}"
        raise stopped(exc, kept) from None
    finally:
        if checkpoint is not None:
            checkpoint.close()
    if history_path is not None:
        write_history()
        checkpoint.remove()
    ratios = np.array([r["hypervolume_ratio"] for r in runs])
    igds = np.array([r["igd"] for r in runs])
    out = {
        "algorithm": args.algorithm,
        "space": space.name,
        "dataset": objective.accuracy.dataset,
        "objectives": list(objective.names),
        "senses": list(objective.senses),
        "reported": [s.report for s in objective.specs],
        "budget": int(args.budget) if args.budget == int(args.budget) else args.budget,
        "budget_unit": args.budget_unit,
        "seeds": args.seeds,
        "target": objective.accuracy.target,
        "test": objective.accuracy.test,
        "valid_only": valid_only,
        "hypervolume_ratio_mean": float(ratios.mean()),
        "hypervolume_ratio_std": float(ratios.std(ddof=1)) if len(ratios) > 1 else 0.0,
        "igd_mean": float(igds.mean()),
        "igd_std": float(igds.std(ddof=1)) if len(igds) > 1 else 0.0,
        "queried_hypervolume_ratio_mean": float(np.mean([r["queried_hypervolume_ratio"] for r in runs])),
        "pareto_size_mean": float(np.mean([len(r["pareto"]) for r in runs])),
        "exact_front_size": int(len(front.front)),
        "exact_hypervolume": front.hypervolume,
        "reference_point": "1.01 per objective after min/max scaling over the nets with every objective",
        "nets": len(objective.archs),
        "queries_mean": float(np.mean([r["queries"] for r in runs])),
        "wall_seconds": time.perf_counter() - start,
        "resumed_queries": resumed,
        **info,
        "runs": runs,
    }
    if history_path is not None:
        out["history"] = str(history_path)
    say(args, f"{args.algorithm} {space.name} {','.join(objective.names)}: hypervolume ratio "
              f"{out['hypervolume_ratio_mean']:.4f} ± {out['hypervolume_ratio_std']:.4f}, IGD {out['igd_mean']:.4f}, "
              f"{out['pareto_size_mean']:.1f} nets in the Pareto set ({args.seeds} seeds, {out['queries_mean']:.1f} queries, "
              f"{out['wall_seconds']:.1f} s)")
    return out
