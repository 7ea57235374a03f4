"""``graf features``: the feature table of a search space or of listed architectures."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "compute architecture features (GRAF, one-hot) into a .parquet or .csv table indexed by 'arch'"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default="nb201", help="search space (default: nb201)")
    p.add_argument("--archs", metavar="FILE", help="one architecture a line (NB201 string or NASLib tuple); default: all")
    p.add_argument("--valid-only", action="store_true", help="keep only the valid nets (no zero-pruned branches)")
    p.add_argument("--groups", default="graf", help="comma-separated feature groups (default: graf; also: onehot)")
    p.add_argument("--cache-dir", default=None, help="reuse/store the table in this parquet cache folder")
    p.add_argument("--out", required=True, help="output path ending in .parquet, .csv or .csv.gz")


def run(args: argparse.Namespace) -> dict:
    from graf.archfile import read_arch_file
    from graf.features import feature_table
    from graf.spaces import get_space
    from graf.tables import check_table_path, write_table

    start = time.perf_counter()
    space = get_space(args.space)
    out = check_table_path(args.out)
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    archs = read_arch_file(args.archs, space.parse) if args.archs else space.all_archs()
    if args.valid_only:
        archs = [a for a in archs if a.is_valid]
    table = feature_table(archs, groups, data_dir=args.data_dir, cache_dir=args.cache_dir)
    write_table(table, out)
    seconds = time.perf_counter() - start
    print(f"graf features: {table.shape[0]} archs x {table.shape[1]} features -> {out} ({seconds:.2f} s)", file=sys.stderr)
    return {"out": str(out), "rows": table.shape[0], "columns": table.shape[1], "groups": groups, "seconds": seconds}
