"""``graf evaluate``: the GRAF evaluation protocol (DESIGN §5) for a target and feature groups."""

from __future__ import annotations

import argparse
import time

from graf.cli import Terminated, add_space_argument, progress, say, stopped

HELP = "train the accuracy predictor on n nets per seed, test on the rest; Kendall tau / Spearman rho (DESIGN §5)"


def add_common(p: argparse.ArgumentParser) -> None:
    """Arguments shared by ``graf evaluate`` and ``graf explain``."""
    add_space_argument(p)
    p.add_argument(
        "--target",
        default=None,
        help="prediction target. nb201: a column of nb201_accuracy.csv.gz (cifar10_val_naslib (default), "
        "cifar100_val_naslib, imagenet16_val_naslib, *_test, ...) or an HW-NAS-Bench metric, as "
        "hw:<dataset>:<metric> (e.g. hw:cifar10:edgegpu_latency) or the bare metric with --hw-dataset, or an "
        "adversarial accuracy as robust:<column> (e.g. robust:pgd@Linf_eps-1.0); "
        "tnb101_micro: a task (class_scene (default), class_object, autoencoder, normal, jigsaw, room_layout, "
        "segmentsemantic)",
    )
    p.add_argument("--labels", metavar="PATH", default=None,
                   help="a label table made by `graf train` as the target's source: --target is then one of its "
                        "columns (default val_acc) and the nets those it holds with a value")
    p.add_argument("--hw-dataset", default="cifar10", help="dataset of a bare HW-NAS-Bench metric target (default: cifar10)")
    p.add_argument("--inputs", default="graf,zcp", help="comma-separated feature groups: graf, zcp, proxies, onehot, flops_params")
    p.add_argument("--proxies-file", metavar="PATH",
                   help="table made by `graf proxies` for the 'proxies' group (default: the project's "
                        "graf/data/files/nb201_proxies.parquet)")
    p.add_argument(
        "--drop-missing-proxies",
        action="store_true",
        help="use only the nets with complete values in --proxies-file (default: such nets are an error)",
    )
    p.add_argument("--keep-missing-proxies", action="store_true",
                   help="keep nets with missing values in --proxies-file as NaN features (for the recipes that "
                        "handle them, e.g. rf+et+catboost+gnn-pruned; default: such nets are an error)")
    p.add_argument("--pruned-features", action="store_true",
                   help="give each net the features of its pruned equivalent (branches that never receive the "
                        "input or never reach the output removed); its target stays its own")
    p.add_argument("--archs", metavar="FILE", help="nets to use, one a line in any of the space's encodings "
                   "(default: the valid nets with a target value; nb201: the 9445 valid nets)")
    p.add_argument("--model", default="rf", help="predictor recipe (default: rf = RandomForestRegressor defaults; "
                   "the best measured is rf+et+catboost+gnn, needs the extra 'boost', PyTorch, accuracy "
                   "targets and onehot in --inputs; "
                   "the best forest is rf+et-mf0.33; all: graf.predictor.models.PREDICTORS, docs/predictor.md)")
    p.add_argument("--n-jobs", type=int, default=1, help="threads of the forest (default: 1)")
    p.add_argument("--cache-dir", default=None, help="parquet cache folder for feature tables")


def load_dataset(args: argparse.Namespace):
    from graf.cli import read_archs
    from graf.predictor.dataset import build_dataset
    from graf.spaces import get_space

    space = get_space(args.space)
    nets = read_archs(args, space) if args.archs else None
    return build_dataset(
        args.target,
        args.inputs,
        data_dir=args.data_dir,
        nets=nets,
        proxies_file=args.proxies_file,
        drop_missing_proxies=args.drop_missing_proxies,
        keep_missing_proxies=getattr(args, "keep_missing_proxies", False),
        pruned=getattr(args, "pruned_features", False),
        hw_dataset=args.hw_dataset,
        cache_dir=args.cache_dir,
        space=space,
        labels=args.labels,
    )


def _proxies_file(args, ds) -> str | None:
    """The proxy table the 'proxies' group read (the given one, or the project's default)."""
    if "proxies" not in ds.inputs:
        return None
    from graf.data.paths import default_proxies_file

    return str(default_proxies_file(args.proxies_file, args.space))


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--train-sizes", type=_int_list, default=[32, 128, 1024], help="comma-separated (default: 32,128,1024)")
    p.add_argument("--seeds", type=int, default=20, help="number of seeds 0..k-1 (default: 20)")
    p.add_argument("--runs-out", metavar="PATH",
                   help="also write every (train size, seed) run to this .parquet, .csv or .csv.gz table")


def run(args: argparse.Namespace) -> dict:
    from graf.predictor.protocol import evaluate_predictor

    from graf.tables import check_output, write_frame

    start = time.perf_counter()
    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    if args.n_jobs == 0 or args.n_jobs < -1:
        raise ValueError(f"--n-jobs must be a positive number of threads or -1 (all cores), got {args.n_jobs}")
    if len(set(args.train_sizes)) != len(args.train_sizes):
        raise ValueError(f"--train-sizes repeats a size: {','.join(map(str, args.train_sizes))}")
    runs_out = check_output(args.runs_out, overwrite=args.overwrite) if args.runs_out else None
    ds = load_dataset(args)
    say(args, f"target {ds.target} from {ds.target_source}; {len(ds.X)} nets x {ds.X.shape[1]} features "
              f"({','.join(ds.inputs)})" + (f"; dropped {ds.dropped}" if ds.dropped else ""))
    finished: list[dict] = []
    try:
        res = evaluate_predictor(
            ds.X, ds.y, train_sizes=args.train_sizes, seeds=args.seeds, model=args.model, n_jobs=args.n_jobs,
            progress=progress(args), on_run=finished.append,
        )
    except (KeyboardInterrupt, Terminated) as exc:
        if runs_out is not None and finished:
            import pandas as pd

            write_frame(pd.DataFrame(finished), runs_out, index=False)
            raise stopped(exc, f"wrote the {len(finished)} finished run(s) to {runs_out}") from None
        raise stopped(exc, f"{len(finished)} run(s) had finished; nothing was written (no --runs-out)") from None
    summary = res.summary()
    for row in summary:
        say(args, f"n={row['train_size']:>5}  tau {row['tau_mean']:.3f} ± {row['tau_std']:.3f}  "
                  f"rho {row['rho_mean']:.3f} ± {row['rho_std']:.3f}  ({row['seeds']} seeds)")
    if runs_out is not None:
        write_frame(res.runs, runs_out, index=False)
    return {
        "target": ds.target,
        "target_source": ds.target_source,
        "inputs": ds.inputs,
        "model": args.model,
        "space": args.space,
        "nets": int(len(ds.X)),
        "features": int(ds.X.shape[1]),
        "dropped": ds.dropped,
        "proxies_file": _proxies_file(args, ds),
        "results": summary,
        "seconds": time.perf_counter() - start,
    }
