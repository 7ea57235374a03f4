"""Assemble the NB201 table of every registered proxy (all 15625 nets) from the runs that compute it.

The proxies whose registry entry is ``iso_invariant`` (their value ignores modules that never
reach the output) are computed once per isomorphism class, on the class representatives of
:func:`graf.data.proxytable.class_representatives` (5260 nets), and copied to every member of the
class; the other proxies are computed on every net. This script joins those tables (the runs of
``benchmarks/nb201_suite_runs.py``, which calls it with ``--table``):

    R=data/nb201_suite_runs/nb201
    python benchmarks/build_suite_table.py \\
        --base graf/data/files/nb201_proxies.parquet \\
        --per-class ${R}_suite8_isoreps.parquet:snip,grasp,fisher,grad_norm,plain,epe_nas \\
        --per-class ${R}_zico_isoreps.parquet:zico \\
        --per-net ${R}_suite8_isoreps.parquet+${R}_l2_zen_valid_others.parquet+${R}_structural_rest.parquet:l2_norm,zen \\
        --per-net ${R}_meco_valid.parquet+${R}_structural_rest.parquet:meco \\
        --per-net ${R}_structural_valid.parquet+${R}_structural_rest.parquet:swap,reg_swap,linear_regions \\
        --out graf/data/files/nb201_proxies_suite.parquet [--overwrite] [--valid-only]

``--base`` is a table of every net (its proxy columns are all kept). Each ``--per-class`` table
must hold exactly the class representatives, each ``--per-net`` table every net; ``A+B+...``
joins tables of disjoint nets into one (e.g. a run split into two); only the named columns are
taken from it, and a ``per-class`` column must be ``iso_invariant`` in the proxy
registry (``proxies.registry``). One table may serve several sources with different columns
(above, the representatives' own l2_norm and zen are per-net values of those nets). The result:
one row per net in ``graf.spaces.nb201.all_archs()`` order, the proxy columns,
``representative`` (the net whose value the per-class columns hold) and ``error`` (the
sources' non-empty messages joined by "; ", each message once). It is written atomically, and
an existing ``--out`` is kept unless ``--overwrite`` is given. A problem is one line on stderr
and exit 2.

``--valid-only``: the table holds the space's valid nets only (``space.valid_archs()``, NB201's
9445 pruned cells; the class representatives are valid nets), and the ``--base`` and ``--per-net``
tables need to cover only those. That is every net whose proxies the predictor protocols read:
the GRAF protocol's nets, and every net's pruned equivalent in FLAN's with pruned features.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _source(text: str) -> tuple[str, list[str]]:
    path, sep, cols = text.rpartition(":")
    if not sep or not path or not cols:
        raise ValueError(f"expected PATH:COLUMN[,COLUMN...], got {text!r}")
    return path, [c for c in cols.split(",") if c]


def _load_one(path: str, columns: list[str] | None) -> pd.DataFrame:
    from graf.data.proxytable import load_proxy_table

    table, available = load_proxy_table(path)
    columns = available if columns is None else columns
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(f"{path}: no column(s) {', '.join(missing)} (it has {', '.join(available)})")
    errors = table["error"].fillna("").astype(str) if "error" in table.columns else pd.Series("", index=table.index)
    return table[columns].assign(error=errors)


def _load(path: str, columns: list[str] | None) -> pd.DataFrame:
    """The named columns of ``path``, or of the tables ``A+B+...`` of disjoint nets put together."""
    paths = path.split("+")
    frames = [_load_one(p, columns) for p in paths]
    seen: set = set()
    for p, frame in zip(paths, frames):
        both = seen & set(frame.index)
        if both:
            raise ValueError(f"{p}: {len(both)} net(s) are in an earlier table of {path} too, e.g. {sorted(both)[0]}")
        seen |= set(frame.index)
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def _join_messages(row) -> str:
    """The non-empty messages of a row's sources joined by "; ", each once (a table used for two
    column sets, or a message the sources share, is not repeated)."""
    parts = [m.strip() for message in row if message for m in message.split("; ")]
    return "; ".join(dict.fromkeys(m for m in parts if m))


def assemble(base: str, per_class: list[tuple[str, list[str]]], per_net: list[tuple[str, list[str]]],
             valid_only: bool = False) -> pd.DataFrame:
    """The joined table (see the module docstring); ValueError on any mismatch."""
    from graf.data.proxytable import class_representatives, expand_to_classes
    from graf.spaces import get_space
    from proxies.registry import get_proxy

    space = get_space("nb201")
    everything = [str(a) for a in space.enumerate()]
    reps = class_representatives(space, everything)
    rep_set = set(reps)
    archs = [str(a) for a in space.valid_archs()] if valid_only else everything
    what = f"{len(archs)} valid nets" if valid_only else f"{len(archs)} of the space"
    wanted = set(archs)
    reps = reps.loc[archs]
    if not set(reps) <= wanted:
        raise ValueError("a class representative is not a valid net, so --valid-only cannot hold it")
    parts, seen = [], set()

    def add(frame: pd.DataFrame, path: str) -> None:
        dup = [c for c in frame.columns if c != "error" and c in seen]
        if dup:
            raise ValueError(f"{path}: column(s) {', '.join(dup)} already come from another table")
        seen.update(c for c in frame.columns if c != "error")
        parts.append(frame)

    for path, cols in [(base, None)] + per_net:
        frame = _load(path, cols)
        covered = set(frame.index)
        if covered != wanted and not (valid_only and covered >= wanted):
            raise ValueError(f"{path}: holds {len(frame)} nets, not exactly the {what}")
        add(frame.loc[archs], path)
    for path, cols in per_class:
        varying = [c for c in cols if not get_proxy(c).iso_invariant]
        if varying:
            raise ValueError(f"{path}: {', '.join(varying)} read(s) every module, so one value per class "
                             "would be wrong for the other members; compute it on every net (--per-net)")
        frame = _load(path, cols)
        if set(frame.index) != rep_set:
            raise ValueError(f"{path}: holds {len(frame)} nets, not exactly the {len(rep_set)} class representatives")
        add(expand_to_classes(frame, reps).drop(columns="representative"), path)
    errors = pd.concat([p["error"] for p in parts], axis=1).apply(_join_messages, axis=1)
    out = pd.concat([p.drop(columns="error") for p in parts], axis=1)
    out["representative"] = reps.loc[archs].to_numpy()
    out["error"] = errors.to_numpy()
    out.index.name = "arch"
    return out


def main(argv=None) -> int:
    from graf.tables import write_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="a `graf proxies --all` table; every column is kept")
    p.add_argument("--per-class", action="append", default=[], metavar="PATH:COLS",
                   help="a table of the class representatives and the (iso-invariant) columns to take")
    p.add_argument("--per-net", action="append", default=[], metavar="PATH:COLS",
                   help="a table of every net and the columns to take")
    p.add_argument("--valid-only", action="store_true",
                   help="the table of the space's valid nets only (what the predictor protocols read)")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    try:
        if Path(args.out).exists() and not args.overwrite:
            raise ValueError(f"{args.out} exists (pass --overwrite to replace it)")
        table = assemble(args.base, [_source(s) for s in args.per_class], [_source(s) for s in args.per_net],
                         valid_only=args.valid_only)
        write_table(table, args.out)
    except (ValueError, OSError) as exc:
        print(f"build_suite_table: error: {exc}", file=sys.stderr)
        return 2
    proxies = [c for c in table.columns if c not in ("representative", "error")]
    print(json.dumps({"out": args.out, "rows": len(table), "proxies": proxies,
                      "nan_per_proxy": {c: int(table[c].isna().sum()) for c in proxies},
                      "rows_with_error": int((table["error"] != "").sum()),
                      "classes": int(table["representative"].nunique())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
