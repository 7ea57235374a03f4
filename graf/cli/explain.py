"""``graf explain``: SHAP importances of the predictor on the protocol's test set."""

from __future__ import annotations

import argparse

HELP = "fit the predictor on one protocol split and write mean |SHAP| per feature/family (CSV) and SHAP plots (PNG)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from graf.cli.evaluate import add_common

    add_common(p)
    p.add_argument("--train-size", type=int, default=1024, help="train nets (default: 1024); the rest are explained")
    p.add_argument("--seed", type=int, default=0, help="split and forest seed (default: 0)")
    p.add_argument("--max-display", type=int, default=20, help="features shown in the plots (default: 20)")
    p.add_argument(
        "--shap-backend", default="auto",
        help="woodelf (vectorised Linear TreeSHAP, fast on many rows; checked for additivity), shap (shap's "
             "exact TreeExplainer, the reference; faster below ~1000 rows), or auto: woodelf from 1000 "
             "explained rows on (default: auto)",
    )
    p.add_argument(
        "--shap-jobs", type=int, default=1, help="processes for backend shap (default: 1)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def run(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from graf.cli import progress, say
    from graf.cli.evaluate import load_dataset
    from graf.predictor.explain import EXPLAIN_FILES, explain
    from graf.tables import check_output

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    for name in EXPLAIN_FILES:
        check_output(out / name, overwrite=args.overwrite, table=False)
    ds = load_dataset(args)
    say(args, f"target {ds.target} from {ds.target_source}; {len(ds.X)} nets x {ds.X.shape[1]} features")
    res = explain(
        ds,
        train_size=args.train_size,
        seed=args.seed,
        model=args.model,
        out_dir=args.out,
        max_display=args.max_display,
        n_jobs=args.shap_jobs,
        backend=args.shap_backend,
        progress=progress(args),
    )
    say(
        args,
        f"tau {res['tau']:.3f} on {res['n_test']} test nets; SHAP ({res['shap_backend']}) "
        f"{res['shap_seconds']:.1f} s; "
        f"top families: {', '.join(res['families']['family'].head(5))}",
    )
    top = res["features"].head(10)
    return {
        k: res[k]
        for k in ("target", "target_source", "inputs", "model", "train_size", "seed", "n_test", "n_features", "tau", "rho", "shap_seconds", "shap_backend", "files")
    } | {
        "top_features": [{"feature": f, "mean_abs_shap": float(v)} for f, v in zip(top["feature"], top["mean_abs_shap"])],
        "families": [
            {"family": f, "mean_abs_shap": float(v), "n_features": int(c)}
            for f, v, c in zip(res["families"]["family"], res["families"]["mean_abs_shap"], res["families"]["n_features"])
        ],
    }
