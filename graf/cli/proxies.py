"""``graf proxies``: zero-cost proxies of NB201 networks into a table indexed by ``arch``.

torch and the ``proxies`` package are imported inside :func:`run`, so ``graf`` stays
importable (and ``graf --help`` fast) without them.
"""

from __future__ import annotations

import argparse
import time

from graf.cli import add_space_argument

HELP = "compute zero-cost proxies (naswot, synflow, jacov, ntk, params, flops) into a table indexed by 'arch'"

DEFAULT_PROXIES = "naswot,synflow,jacov,ntk"
#: dataset -> number of classes of the network's classifier.
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space_argument(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--archs", metavar="FILE", help="one architecture a line, in any of the space's encodings")
    which.add_argument("--sample", type=int, metavar="N", help="N distinct architectures drawn uniformly with --seed")
    which.add_argument("--all", action="store_true", help="every net of the space (15625 for nb201)")
    p.add_argument("--valid-only", action="store_true", help="with --sample or --all: the valid nets only (nb201: 9445)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample, the weights and the input batch (default 0)")
    p.add_argument(
        "--proxies",
        default=DEFAULT_PROXIES,
        help=f"comma-separated proxy names (default: {DEFAULT_PROXIES}; also params, flops, snip, grasp, fisher, "
             "grad_norm, l2_norm, plain, epe_nas, zen, zico, meco, swap, reg_swap, linear_regions; docs/proxies.md)",
    )
    p.add_argument(
        "--dataset",
        default="cifar10",
        choices=sorted(DATASET_CLASSES),
        help="sets the classifier's classes (10/100/120); the input batch is CIFAR-10 images for all",
    )
    p.add_argument("--batch-size", type=int, default=64, help="input batch size (default 64; the NTK uses its first 32)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (tcp://...): compute on that cluster")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from <out>.partial.jsonl")
    p.add_argument("--one-per-class", action="store_true",
                   help="compute each isomorphism class (cells computing the same function, the space's iso_key) "
                        "once, on its first net, and give its value to the class's other nets (column "
                        "'representative'); only for proxies that ignore modules not reaching the output")
    p.add_argument("--synthetic-batch", action="store_true", help="a seeded standard-normal batch instead of CIFAR-10")
    p.add_argument("--channels", type=int, default=None,
                   help="network width C of the first stage (default: the benchmark's, nb201 16, nb301 32)")
    p.add_argument("--cells", type=int, default=None,
                   help="(normal) cells per stage N (default: the benchmark's, nb201 5, nb301 2)")
    p.add_argument("--out", required=True, help="output path ending in .parquet, .csv or .csv.gz")


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def run(args: argparse.Namespace) -> dict:
    from graf.cli import progress, read_archs, say
    from graf.spaces import get_space
    from graf.tables import check_output

    start = time.perf_counter()
    space = get_space(args.space)
    out = check_output(args.out, overwrite=args.overwrite)
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]
    if not names:
        raise ValueError("--proxies lists no proxy")
    if len(set(names)) != len(names):
        raise ValueError(f"--proxies repeats a name: {args.proxies}")
    for flag, value in (("--batch-size", args.batch_size), ("--jobs", args.jobs)):
        _positive(flag, value)
    for flag, value in (("--channels", args.channels), ("--cells", args.cells)):
        if value is not None:
            _positive(flag, value)
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.batch_size < 2:
        raise ValueError(f"--batch-size must be at least 2 (NASWOT, jacov and the NTK compare samples), got {args.batch_size}")
    if args.valid_only and args.sample is None and not args.all:
        raise ValueError("--valid-only applies to --sample and --all only")
    if args.scheduler and args.jobs != 1:
        raise ValueError("--jobs and --scheduler are exclusive: the Dask cluster decides the parallelism")

    from proxies.network import network_builder
    from proxies.registry import available
    from proxies.runner import RunConfig, run_proxies

    network_builder(space.name)  # a space without a network: one clear error before any work
    if args.archs:
        archs = read_archs(args, space)
    else:
        pool = space.valid_archs() if args.valid_only else space.enumerate()
        if pool is None:
            raise ValueError(f"space {space.name!r} is too large to enumerate; list the architectures with --archs FILE")
        archs = pool if args.all else _sample(pool, args.sample, args.seed)

    valid = available()
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown proxy {unknown[0]!r}; available: {', '.join(valid)}")
    finish = classes = None
    if args.one_per_class:
        from graf.data.proxytable import class_representatives, expand_to_classes
        from proxies.registry import get_proxy

        varying = [n for n in names if not get_proxy(n).iso_invariant]
        if varying:
            invariant = [n for n in valid if get_proxy(n).iso_invariant]
            raise ValueError(f"--one-per-class: {', '.join(varying)} depend(s) on modules that never reach the output, "
                             f"so cells of one class differ; it applies to {', '.join(invariant)}")
        classes = class_representatives(space, [str(a) for a in space.unique(archs)])
        archs = list(dict.fromkeys(classes))

        def finish(table):
            return expand_to_classes(table, classes)
    config = RunConfig(
        proxies=tuple(names),
        seed=args.seed,
        batch_size=args.batch_size,
        num_classes=DATASET_CLASSES[args.dataset],
        C=args.channels,
        N=args.cells,
        synthetic=args.synthetic_batch,
        space=space.name,
        data_dir=args.data_dir,
    )
    from graf.cli import Terminated, stopped
    from proxies.runner import checkpoint_path

    try:
        result = run_proxies(
            archs,
            config,
            out,
            jobs=args.jobs,
            resume=args.resume,
            scheduler=args.scheduler,
            progress=progress(args),
            finish=finish,
        )
    except (KeyboardInterrupt, Terminated) as exc:
        ckpt = checkpoint_path(out)
        kept = (f"the finished nets are in {ckpt}; rerun with --resume to continue" if ckpt.exists()
                else "nothing had finished")
        raise stopped(exc, kept) from None
    table = result.table
    failed = int((table["error"] != "").sum())
    seconds = time.perf_counter() - start
    n_classes = None if classes is None else int(classes.nunique())
    per_class = "" if classes is None else f", {n_classes} classes"
    say(args, f"{len(table)} nets x {len(names)} proxies -> {out} "
              f"({result.computed} computed, {result.resumed} resumed{per_class}, {failed} with errors, {seconds:.1f} s)")
    return {
        "out": str(out),
        "rows": len(table),
        **({} if classes is None else {"classes": n_classes}),
        "failed": failed,
        "computed": result.computed,
        "resumed": result.resumed,
        "proxies": names,
        "seconds": seconds,
        "seconds_per_net": seconds / max(1, result.computed),
        "backend": "dask" if args.scheduler else ("processes" if args.jobs > 1 else "in-process"),
    }


def _sample(pool: list, n: int, seed: int) -> list:
    """``n`` distinct architectures of ``pool`` drawn uniformly without replacement (numpy generator seeded by ``seed``)."""
    import numpy as np

    if n < 1 or n > len(pool):
        raise ValueError(f"--sample must lie in 1..{len(pool)}, got {n}")
    idx = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return [pool[i] for i in idx]
