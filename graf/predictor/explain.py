"""SHAP explanations of the predictor: mean |SHAP| per feature and per feature family, plots.

``shap`` and ``matplotlib`` are imported inside the functions that need them (the
``explain`` extra), so ``import graf`` stays light. Plots use matplotlib's Agg backend.

A feature's *family* is the part of its column name before the first ``"."``: GRAF columns
are ``op_count.<op>``, ``min_path_len.<ops>``, ``max_op_on_path.<ops>``,
``node_degree.<stat>.<ops>``; the other groups prefix their columns with the group name
(``onehot.<edge>.<op>``, ``zcp.<proxy>``, ``flops_params.<flops|params>``, ``proxies.<proxy>``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import VotingRegressor

from graf.tables import atomic_write, write_frame

__all__ = ["feature_family", "shap_values", "shap_importances", "explain", "tree_model", "SHAP_BACKENDS",
           "target_unit", "plot_title",
           "EXPLAIN_FILES", "EXPLAIN_MIN_NETS"]

#: :func:`explain` needs at least this many train nets and this many test nets. With fewer,
#: the forest's few splits fall on whichever of many tied features the bootstrap happens to
#: pick, so the importances describe the seed rather than the data (and τ on a handful of
#: test nets is ±1 by chance). It is a floor, not a guarantee: see docs/predictor.md.
EXPLAIN_MIN_NETS = 10
#: the files :func:`explain` writes into its output folder
EXPLAIN_FILES = ("shap_features.csv", "shap_families.csv", "shap_bar.png", "shap_beeswarm.png", "shap_families.png")


def feature_family(column: str) -> str:
    """The family of a feature column: its name up to the first dot."""
    return str(column).split(".", 1)[0]


def tree_model(model):
    """The fitted tree ensembles inside ``model`` whose predictions ``model`` averages.

    A list of one sklearn forest for a :class:`GrafRegressor` with one ensemble (or a bare
    forest), of two for ``model="rf+extra_trees"`` (a ``VotingRegressor``). SHAP values are
    linear in the model, so the model's values are the mean of the forests' values.
    """
    inner = getattr(model, "best_estimator_", model)
    if not hasattr(inner, "estimators_"):  # a GrafRegressor (a bare forest's estimator_ is its template tree)
        inner = getattr(inner, "estimator_", inner)
    if isinstance(inner, VotingRegressor):
        forests = list(getattr(inner, "estimators_", [inner]))  # unfitted: fails the check below
        if getattr(inner, "weights", None) is not None:
            raise ValueError("SHAP of a weighted VotingRegressor is not supported")
    else:
        forests = [inner]
    for forest in forests:
        if not hasattr(forest, "estimators_"):
            raise ValueError(f"SHAP TreeExplainer needs a fitted tree ensemble, got {type(model).__name__}")
    return forests


#: SHAP backends: ``woodelf`` (WOODELF's vectorised Linear-TreeSHAP) and ``shap`` (shap's C++
#: path-dependent TreeSHAP, the reference); ``auto`` picks woodelf from
#: :data:`WOODELF_MIN_ROWS` rows on, shap below.
SHAP_BACKENDS = ("auto", "woodelf", "shap")
#: WOODELF's cost is mostly a per-tree preprocessing step (≈ 23 s of CPU for the protocol's
#: 100-tree forest) plus ≈ 2 ms per row; shap's is ≈ 22 ms per row. They break even near 1000 rows.
WOODELF_MIN_ROWS = 1000
#: ``woodelf`` values are checked against the model: |expected + Σ SHAP − prediction| must stay
#: below this fraction of the largest |prediction|. This catches gross failures (a mis-parsed
#: tree), not rounding: the values are float32 and Linear TreeSHAP loses digits on trees ~25
#: levels deep. Measured on the protocol's forest, all 9445 nets: max error 0.011 accuracy
#: points (1.2e-4 of the largest prediction), 99th percentile 1e-4, median 3.5e-6.
WOODELF_ADDITIVITY_RTOL = 1e-3


class AdditivityError(ValueError):
    """woodelf's SHAP values do not add up to the model's predictions (see :data:`WOODELF_ADDITIVITY_RTOL`)."""


def _tree_shap(forest, X, check_additivity: bool):
    import shap

    explainer = shap.TreeExplainer(forest)
    values = explainer.shap_values(X, check_additivity=check_additivity)
    return np.asarray(values, dtype=np.float64), float(np.ravel(explainer.expected_value)[0])


def _woodelf_shap(forest, X, check_additivity: bool, progress: bool):
    from graf.optional import require

    WoodelfExplainer = require(
        "woodelf", needed_for="SHAP backend 'woodelf'", install="pip install 'graf-nas[explain]', or use backend 'shap'"
    ).WoodelfExplainer
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X, dtype=np.float64))
    import contextlib
    import sys

    explainer = WoodelfExplainer(forest)
    with contextlib.redirect_stdout(sys.stderr):  # its verbose timing lines must not reach stdout (--json)
        values = np.asarray(explainer.shap_values(X, verbose=progress), dtype=np.float64)
    expected = float(np.ravel(explainer.expected_value)[0])
    if check_additivity and len(X):
        pred = forest.predict(X.to_numpy(dtype=np.float64))
        err = float(np.max(np.abs(expected + values.sum(axis=1) - pred)))
        scale = max(1.0, float(np.max(np.abs(pred))))
        if not err <= WOODELF_ADDITIVITY_RTOL * scale:
            raise AdditivityError(
                f"woodelf SHAP values do not add up to the model's predictions (max error {err:.3g}, "
                f"allowed {WOODELF_ADDITIVITY_RTOL * scale:.3g}); use backend 'shap' (exact, slower)"
            )
    return values, expected


def shap_values(
    model,
    X: pd.DataFrame,
    *,
    backend: str = "auto",
    check_additivity: bool = True,
    n_jobs: int | None = 1,
    progress: bool = False,
) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP values ``(n_rows, n_features)`` of ``model`` on ``X`` and the expected value.

    ``backend="auto"`` (default) uses woodelf for :data:`WOODELF_MIN_ROWS` rows or more and
    shap below. ``backend="woodelf"`` uses WOODELF (``woodelf_explainer``), a vectorised
    Linear-TreeSHAP whose cost is dominated by a per-tree preprocessing step and barely grows
    with the number of rows: ≈ 6x less CPU than shap for the protocol's forest on all 9445
    nets. Its values are float32 and not bit-exact (measured against shap: at most 3.6e-3 on
    values up to 18.6, median 6e-9; see docs/predictor.md);
    ``check_additivity`` verifies that they add up to the model's predictions within
    :data:`WOODELF_ADDITIVITY_RTOL` and raises otherwise. ``progress`` shows its progress bar.

    ``backend="shap"`` uses ``shap.TreeExplainer``'s exact algorithm (the reference);
    ``n_jobs > 1`` splits the rows into that many chunks explained in separate processes
    (shap's tree code is single-threaded); the values are identical. Nothing is subsampled.
    With a rank target transform the values explain the model's output in rank space.
    """
    backend = _resolved(backend, len(X))
    parts = [_forest_shap(forest, X, backend, check_additivity, n_jobs, progress) for forest in tree_model(model)]
    if len(parts) == 1:
        return parts[0]
    return np.mean([v for v, _ in parts], axis=0), float(np.mean([e for _, e in parts]))


def _forest_shap(forest, X, backend: str, check_additivity: bool, n_jobs, progress: bool):
    if backend == "woodelf":
        return _woodelf_shap(forest, X, check_additivity, progress)
    n_jobs = 1 if n_jobs is None else int(n_jobs)
    if n_jobs <= 1 or len(X) < 2 * n_jobs:
        return _tree_shap(forest, X, check_additivity)
    from joblib import Parallel, delayed

    chunks = np.array_split(np.arange(len(X)), n_jobs)
    parts = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_tree_shap)(forest, X.iloc[idx], check_additivity) for idx in chunks
    )
    return np.concatenate([v for v, _ in parts], axis=0), parts[0][1]


def _resolved(backend: str, n_rows: int) -> str:
    """The backend that explains ``n_rows`` rows (``auto`` resolved); unknown names are an error."""
    if backend not in SHAP_BACKENDS:
        raise ValueError(f"unknown SHAP backend {backend!r}; available: {', '.join(SHAP_BACKENDS)}")
    return ("woodelf" if n_rows >= WOODELF_MIN_ROWS else "shap") if backend == "auto" else backend


def shap_importances(values: np.ndarray, columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean |SHAP| per feature and per family, each sorted by decreasing importance.

    The family table sums the features' mean |SHAP| (``mean_abs_shap``) and counts them.
    ``label`` holds the readable names the plots show (:mod:`graf.features.labels`).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(columns):
        raise ValueError(f"SHAP values of shape {values.shape} do not match {len(columns)} columns")
    mean_abs = np.abs(values).mean(axis=0)
    from graf.features.labels import family_label, feature_label

    features = pd.DataFrame(
        {"feature": list(columns), "family": [feature_family(c) for c in columns], "mean_abs_shap": mean_abs,
         "label": [feature_label(c) for c in columns]}
    )
    features = features.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
    families = (
        features.groupby("family", sort=False)
        .agg(mean_abs_shap=("mean_abs_shap", "sum"), n_features=("feature", "size"))
        .sort_values("mean_abs_shap", ascending=False, kind="stable")
        .reset_index()
    )
    families["label"] = [family_label(f) for f in families["family"]]
    return features, families


def target_unit(target: str) -> str:
    """The unit of a target's values (and so of its SHAP values), for axis labels.

    Accuracies in percent (NB201's columns, ``robust:`` adversarial accuracies, TransNAS's
    classification and jigsaw tasks) are in accuracy points; HW-NAS-Bench latencies in ms and
    energies in mJ, times in s. Anything else is labelled "target units".
    """
    name = str(target)
    if name.startswith("hw:"):
        metric = name.rsplit(":", 1)[-1]
        return "ms" if metric.endswith("_latency") else "mJ" if metric.endswith("_energy") else "target units"
    if "seconds" in name:
        return "s"
    accuracy = re.search(r"_(test|valid|val|val_naslib|valid_12ep)$|acc", name)
    if name.startswith("robust:") or accuracy or name in ("class_scene", "class_object", "jigsaw"):
        return "accuracy points"
    return "target units"


def plot_title(result: dict) -> str:
    """``target · inputs · model · train n · τ on m test nets`` for the plots of an :func:`explain` result."""
    return (f"{result['target']} · {'+'.join(result['inputs'])} · {result['model']} · train {result['train_size']} · "
            f"τ {result['tau']:.3f} on {result['n_test']} test nets")


def _save(fig, path: Path) -> Path:
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    return path


def _plots(result: dict, out: Path, max_display: int) -> list[Path]:
    """The three figures of an :func:`explain` result: features' mean |SHAP| (bar), SHAP values
    per net (beeswarm), and families' summed mean |SHAP| (bar). Labels: :func:`feature_label`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import shap

    from graf.features.labels import family_label, feature_label

    unit = target_unit(result["target"])
    title = plot_title(result)
    X = result["X_explained"]
    names = [feature_label(c) for c in X.columns]
    paths = []
    for kind, name, xlabel in (("bar", "shap_bar.png", f"mean |SHAP value| ({unit})"),
                               ("dot", "shap_beeswarm.png", f"SHAP value: effect on the prediction ({unit})")):
        plt.close("all")
        shap.summary_plot(result["values"], X, feature_names=names, plot_type=kind, max_display=max_display, show=False)
        fig = plt.gcf()
        ax = fig.axes[0]
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=9, loc="left")
        paths.append(_save(fig, out / name))
        plt.close(fig)
    families = result["families"]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(families) + 1.2))
    labels = [f"{family_label(f)} ({n})" for f, n in zip(families["family"], families["n_features"])]
    ax.barh(labels[::-1], families["mean_abs_shap"].to_numpy()[::-1], color="#1f77b4")
    ax.set_xlabel(f"summed mean |SHAP value| of the family's features ({unit})")
    ax.set_title(title, fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    paths.append(_save(fig, out / "shap_families.png"))
    plt.close(fig)
    return paths


def explain(
    dataset,
    *,
    train_size: int = 1024,
    seed: int = 0,
    model: str = "rf",
    out_dir: str | os.PathLike | None = None,
    max_display: int = 20,
    n_jobs: int | None = 1,
    max_explained: int | None = None,
    backend: str = "auto",
    progress: bool = False,
) -> dict:
    """Fit the protocol's predictor on one split and explain it with SHAP on the test set.

    ``dataset`` is a :class:`graf.predictor.dataset.Dataset`. The split is
    :func:`graf.predictor.protocol.protocol_split` (``train_size``, ``seed``). With
    ``out_dir`` writes the files :data:`EXPLAIN_FILES` (each atomically). Returns the tables, test tau/rho and timings.

    ``max_explained`` explains only that many test nets, drawn without replacement with
    ``numpy.random.default_rng(seed)`` (tau/rho are still computed on the whole test set);
    ``None`` explains the whole test set. ``backend`` and ``progress``: see :func:`shap_values`
    (``n_jobs`` is the forest's threads and, with backend ``shap``, SHAP's processes).
    """
    from graf.predictor.estimator import GrafRegressor
    from graf.predictor.models import make_predictor
    from graf.predictor.protocol import protocol_split, rank_metrics

    X, y = dataset.X, dataset.y.to_numpy(dtype=np.float64)
    if not (EXPLAIN_MIN_NETS <= train_size <= len(X) - EXPLAIN_MIN_NETS):
        raise ValueError(
            f"explain needs at least {EXPLAIN_MIN_NETS} train and {EXPLAIN_MIN_NETS} test nets: train size "
            f"{train_size} of {len(X)} nets leaves {len(X) - train_size} to explain"
            + (f"; use a train size in {EXPLAIN_MIN_NETS}..{len(X) - EXPLAIN_MIN_NETS}"
               if len(X) >= 2 * EXPLAIN_MIN_NETS else f"; give at least {2 * EXPLAIN_MIN_NETS} nets")
        )
    train, test = protocol_split(len(X), train_size, seed)
    X_test = X_explained = X.iloc[test]
    if max_explained is not None and max_explained < len(X_test):
        if max_explained < 1:
            raise ValueError(f"max_explained must be positive, got {max_explained}")
        rows = np.sort(np.random.default_rng(seed).choice(len(X_test), size=int(max_explained), replace=False))
        X_explained = X_test.iloc[rows]
    automatic = backend == "auto"
    backend = _resolved(backend, len(X_explained))
    est = make_predictor(model, seed, n_jobs)
    if not isinstance(getattr(est, "estimator", est), GrafRegressor):  # GridSearchCV recipes wrap one
        raise ValueError(
            f"SHAP explanations need a forest recipe (a GrafRegressor, e.g. rf, rf-mf0.33, rf+et-mf0.33); "
            f"{model!r} is {type(est).__name__}"
        )
    est.fit(X.iloc[train], y[train])
    tau, rho = rank_metrics(y[test], est.predict(X_test))
    start = time.perf_counter()
    try:
        values, expected = shap_values(est, X_explained, backend=backend, n_jobs=n_jobs, progress=progress)
    except AdditivityError:
        if not automatic:
            raise
        # auto chose woodelf for speed; its float32 values failed the additivity check (seen on
        # robust: targets at 1024 train nets), so take shap's exact values instead
        backend = "shap"
        values, expected = shap_values(est, X_explained, backend=backend, n_jobs=n_jobs, progress=progress)
    shap_seconds = time.perf_counter() - start
    features, families = shap_importances(values, list(X.columns))
    result = {
        "target": dataset.target,
        "target_source": dataset.target_source,
        "inputs": list(dataset.inputs),
        "model": model,
        "train_size": int(train_size),
        "seed": int(seed),
        "n_test": int(len(test)),
        "n_explained": int(len(X_explained)),
        "n_features": int(X.shape[1]),
        "tau": tau,
        "rho": rho,
        "expected_value": expected,
        "shap_seconds": shap_seconds,
        "shap_backend": backend,
        "features": features,
        "families": families,
        "values": values,
        "X_explained": X_explained,
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_frame(features, out / "shap_features.csv", index=False)
        write_frame(families, out / "shap_families.csv", index=False)
        plots = _plots(result, out, max_display)
        result["files"] = [str(out / "shap_features.csv"), str(out / "shap_families.csv")] + [str(p) for p in plots]
    return result
