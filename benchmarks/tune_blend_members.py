"""Tune a blend member's weight on tuning seeds from saved member predictions (GRAF protocol).

For each (train size, seed) the recipe is fitted once on the protocol's split and every member
of its :class:`~graf.predictor.blend.SizeScaledBlend` predicts the test nets; the predictions
are kept in ``--out`` (one ``.npz`` per run, so an interrupted run resumes). Then, for each
weight of ``--grid`` given to ``--member``, the blend's mean Kendall τ over the seeds is
printed (the other weights as the recipe sets them), beside each member's own τ. The seeds are
meant to be tuning seeds, disjoint from the evaluation seeds 0-19.

    OMP_NUM_THREADS=1 GRAF_DATA_DIR=../shared/data python benchmarks/tune_blend_members.py \\
        --model rf+et+catboost+gnn+pgnn-iso --member proxy_gnn --sizes 32,128 --seeds 100-109 \\
        --proxies-file graf/data/files/nb201_proxies_suite.parquet --out benchmarks/results/tune_pgnn
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _seeds(text: str) -> list[int]:
    lo, sep, hi = text.partition("-")
    return list(range(int(lo), int(hi) + 1)) if sep else [int(s) for s in text.split(",")]


def member_predictions(X, y, model: str, size: int, seed: int, path: Path) -> dict:
    """The test targets and each member's predictions (cached in ``path``)."""
    from graf.predictor.models import make_predictor
    from graf.predictor.protocol import protocol_split

    if path.exists():
        with np.load(path) as saved:
            return dict(saved)
    train, test = protocol_split(len(y), size, seed)
    fitted = make_predictor(model, seed).fit(X.iloc[train], y[train])
    blend = getattr(fitted, "estimator_", fitted)
    out = {"y": y[test], "recipe": np.asarray(fitted.predict(X.iloc[test]), dtype=np.float64),
           "weights": blend.weights_}
    for name, est in blend.named_estimators_.items():
        out[f"member:{name}"] = np.asarray(est.predict(X.iloc[test]), dtype=np.float64).ravel()
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    return out


def size_report(runs: list[dict], member: str, grid: list[float]) -> dict:
    """Mean τ over ``runs`` (of :func:`member_predictions`) of the recipe, of each member, and of
    the blend with ``member``'s weight set to each value of ``grid`` (ValueError for an unknown member)."""
    from scipy.stats import kendalltau

    names = [k[len("member:"):] for k in runs[0] if k.startswith("member:")]
    if member not in names:
        raise ValueError(f"the recipe has no member {member!r} (members: {', '.join(names)})")
    k = names.index(member)

    def mean_tau(pred_of) -> float:
        return float(np.mean([kendalltau(pred_of(r), r["y"]).statistic for r in runs]))

    def blended(weights):
        return lambda r: np.column_stack([r[f"member:{n}"] for n in names]) @ weights / weights.sum()

    entry = {"seeds": len(runs), "recipe_weights": [float(w) for w in runs[0]["weights"]],
             "recipe_tau": mean_tau(lambda r: r["recipe"]),
             "member_tau": {n: mean_tau(lambda r, n=n: r[f"member:{n}"]) for n in names},
             "blend_tau_by_weight": {}}
    for w in grid:
        weights = np.array(runs[0]["weights"], dtype=np.float64)
        weights[k] = w
        entry["blend_tau_by_weight"][str(float(w))] = mean_tau(blended(weights))
    return entry


def main(argv=None) -> int:
    from graf.predictor import build_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--member", required=True, help="the member whose weight is tuned")
    p.add_argument("--grid", default="0,0.1,0.25,0.5,1,2")
    p.add_argument("--sizes", default="32,128")
    p.add_argument("--seeds", default="100-109")
    p.add_argument("--inputs", default="graf,proxies,onehot")
    p.add_argument("--target", default="cifar10_val_naslib")
    p.add_argument("--proxies-file")
    p.add_argument("--out", required=True, help="folder for the saved predictions")
    args = p.parse_args(argv)
    ds = build_dataset(args.target, args.inputs, proxies_file=args.proxies_file,
                       drop_missing_proxies="proxies" in args.inputs)
    X, y = ds.X, ds.y.to_numpy()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = [float(v) for v in args.grid.split(",")]
    for size in [int(s) for s in args.sizes.split(",")]:
        runs = [member_predictions(X, y, args.model, size, seed, out / f"n{size}_s{seed}.npz") for seed in _seeds(args.seeds)]
        try:
            entry = size_report(runs, args.member, grid)
        except ValueError as exc:
            print(f"tune_blend_members: error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({str(size): entry}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
