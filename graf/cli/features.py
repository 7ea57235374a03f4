"""``graf features``: the feature table of a search space or of listed architectures."""

from __future__ import annotations

import argparse
import time

from graf.cli import add_space_argument

HELP = "compute architecture features (GRAF, one-hot) into a .parquet or .csv table indexed by 'arch'"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space_argument(p)
    p.add_argument("--archs", metavar="FILE", help="one architecture a line, in any of the space's encodings; default: all")
    p.add_argument("--valid-only", action="store_true", help="keep only the valid nets (no zero-pruned branches; "
                   "nb201: 9445, tnb101_micro: 2128)")
    p.add_argument("--groups", default="graf", help="comma-separated feature groups (default: graf; also: onehot)")
    p.add_argument("--cache-dir", default=None, help="reuse/store the table in this parquet cache folder")
    p.add_argument("--out", required=True, help="output path ending in .parquet, .csv or .csv.gz")


def run(args: argparse.Namespace) -> dict:
    from graf.cli import read_archs, say
    from graf.features import feature_table
    from graf.spaces import get_space
    from graf.tables import check_output, write_table

    start = time.perf_counter()
    space = get_space(args.space)
    out = check_output(args.out, overwrite=args.overwrite)
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    if args.archs:
        archs = read_archs(args, space)
    else:
        archs = space.enumerate()
        if archs is None:
            raise ValueError(f"space {space.name!r} is too large to enumerate; list the architectures with --archs FILE")
    if args.valid_only:
        archs = [a for a in archs if space.is_valid(a)]
    table = feature_table(archs, groups, space=space, data_dir=args.data_dir, cache_dir=args.cache_dir)
    write_table(table, out)
    seconds = time.perf_counter() - start
    say(args, f"{table.shape[0]} archs x {table.shape[1]} features -> {out} ({seconds:.2f} s)")
    return {"out": str(out), "rows": table.shape[0], "columns": table.shape[1], "groups": groups, "seconds": seconds}
