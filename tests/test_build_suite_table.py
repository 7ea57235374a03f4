"""benchmarks/build_suite_table.py: the per-class columns are copied to every class member, the
per-net ones kept, coverage and invariance checked, nothing overwritten without --overwrite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from graf.data.proxytable import class_representatives  # noqa: E402
from graf.spaces import get_space  # noqa: E402

from conftest import load_script  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "build_suite_table.py"


@pytest.fixture(scope="module")
def nets():
    space = get_space("nb201")
    archs = [str(a) for a in space.enumerate()]
    return archs, class_representatives(space, archs)


def _write(path: Path, frame: pd.DataFrame) -> str:
    frame.index.name = "arch"
    frame.to_parquet(path)
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def _main(*args: str) -> int:
    return load_script("benchmarks/build_suite_table.py").main(list(args))


def test_joins_per_class_and_per_net_columns(tmp_path, nets, capsys):
    archs, reps = nets
    firsts = list(dict.fromkeys(reps))
    rng = np.random.default_rng(0)
    base = _write(tmp_path / "base.parquet", pd.DataFrame(
        {"params": rng.random(len(archs)), "error": ["" if i % 7 else "base failed" for i in range(len(archs))]},
        index=archs))
    snip = rng.random(len(firsts))
    cls = _write(tmp_path / "cls.parquet", pd.DataFrame(
        {"snip": snip, "zen": rng.random(len(firsts)), "error": ""}, index=firsts))
    per_net = _write(tmp_path / "net.parquet", pd.DataFrame(
        {"l2_norm": rng.random(len(archs)), "meco": rng.random(len(archs)),
         "error": ["net failed" if i == 3 else "" for i in range(len(archs))]},
        index=list(reversed(archs))))
    out = tmp_path / "suite.parquet"
    # one table serving two sources (its columns taken apart): its messages are kept once
    r = _run("--base", base, "--per-class", f"{cls}:snip", "--per-net", f"{per_net}:l2_norm",
             "--per-net", f"{per_net}:meco", "--out", str(out))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["rows"] == len(archs) and summary["classes"] == len(firsts) == 5260
    table = pd.read_parquet(out)
    assert list(table.index) == archs
    assert list(table.columns) == ["params", "l2_norm", "meco", "snip", "representative", "error"]
    by_rep = dict(zip(firsts, snip))
    np.testing.assert_array_equal(table["snip"].to_numpy(), [by_rep[reps[a]] for a in archs])
    assert (table["representative"] == reps.loc[archs]).all()
    net_values = pd.read_parquet(per_net)["l2_norm"]
    np.testing.assert_array_equal(table["l2_norm"].to_numpy(), net_values.loc[archs].to_numpy())
    assert table.loc[archs[0], "error"] == "base failed"
    third = list(reversed(archs))[3]
    assert table.loc[third, "error"] == "net failed"
    # an existing output is kept
    before = out.read_bytes()
    assert _main("--base", base, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1 and out.read_bytes() == before


def test_refuses_wrong_inputs(tmp_path, nets, capsys):
    archs, reps = nets
    firsts = list(dict.fromkeys(reps))
    base = _write(tmp_path / "base.parquet", pd.DataFrame({"params": 1.0, "snip": 1.0, "error": ""}, index=archs))
    cls = _write(tmp_path / "cls.parquet", pd.DataFrame({"snip": 1.0, "zen": 2.0, "error": ""}, index=firsts))
    out = str(tmp_path / "o.parquet")
    cases = [
        (["--per-class", f"{cls}:zen"], "read(s) every module"),  # zen is not iso-invariant
        (["--per-class", f"{base}:snip"], "class representatives"),  # a per-net table given as per-class
        (["--per-net", f"{cls}:snip"], "not exactly the 15625"),
        (["--per-class", f"{cls}:grasp"], "no column(s) grasp"),
        (["--per-class", f"{cls}:snip"], "already come from"),  # base has snip too
        (["--per-class", "nocolumns"], "PATH:COLUMN"),
    ]
    for extra, message in cases:
        assert _main("--base", base, *extra, "--out", out) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (extra, err)
        assert not Path(out).exists()


def test_a_split_per_net_run_and_the_valid_only_table(tmp_path, nets):
    # every run in a subprocess: in-process runs here made a later PyTorch test abort (SIGABRT) in the same process
    archs, reps = nets
    firsts = list(dict.fromkeys(reps))
    valid = [str(a) for a in get_space("nb201").valid_archs()]
    rest = [a for a in archs if a not in set(valid)]
    rng = np.random.default_rng(1)
    base = _write(tmp_path / "base.parquet", pd.DataFrame({"params": rng.random(len(archs)), "error": ""}, index=archs))
    cls = _write(tmp_path / "cls.parquet", pd.DataFrame({"snip": rng.random(len(firsts)), "error": ""}, index=firsts))
    meco = pd.Series(rng.random(len(archs)), index=archs)
    part_valid = _write(tmp_path / "valid.parquet", pd.DataFrame({"meco": meco.loc[valid], "error": ""}))
    part_rest = _write(tmp_path / "rest.parquet", pd.DataFrame({"meco": meco.loc[rest], "error": ""}))
    # the two halves of a per-net run give the full table
    out = tmp_path / "full.parquet"
    r = _run("--base", base, "--per-class", f"{cls}:snip", "--per-net", f"{part_valid}+{part_rest}:meco", "--out", str(out))
    assert r.returncode == 0, r.stderr
    full = pd.read_parquet(out)
    assert list(full.index) == archs
    np.testing.assert_array_equal(full["meco"].to_numpy(), meco.loc[archs].to_numpy())
    # the valid nets alone: the valid half is enough, and the rows are those of the full table
    out_valid = tmp_path / "valid_only.parquet"
    r = _run("--base", base, "--per-class", f"{cls}:snip", "--per-net", f"{part_valid}:meco", "--valid-only",
             "--out", str(out_valid))
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(out_valid)
    assert list(table.index) == valid and len(valid) == 9445
    pd.testing.assert_frame_equal(table, full.loc[valid])
    # without --valid-only the valid half is not enough; overlapping halves are refused
    for per_net, message in ((f"{part_valid}:meco", "not exactly the 15625"),
                             (f"{part_valid}+{part_valid}:meco", "in an earlier table")):
        r = _run("--base", base, "--per-net", per_net, "--out", str(tmp_path / "x.parquet"))
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_the_suite_runs_cover_what_the_table_needs(nets):
    """benchmarks/nb201_suite_runs.py: its net lists are the representatives and the valid / other
    nets, and the tables it joins give every proxy of its runs for exactly the nets it needs."""
    archs, reps = nets
    module = load_script("benchmarks/nb201_suite_runs.py")
    lists = module.net_lists()
    valid = [str(a) for a in get_space("nb201").valid_archs()]
    assert lists["isoreps"] == list(dict.fromkeys(reps)) and len(lists["isoreps"]) == 5260
    assert lists["valid"] == valid and set(lists["isoreps"]) <= set(valid)
    assert sorted(lists["isoreps"] + lists["valid_others"]) == sorted(valid)
    assert sorted(lists["valid"] + lists["rest"]) == sorted(archs) and len(lists["rest"]) == 6180
    from proxies.registry import get_proxy

    runs = {name: (set(lists[nets_of]), cols.split(",")) for name, nets_of, cols in module.RUNS}
    taken = []
    for kind, names, cols in module.SOURCES:
        for col in cols.split(","):
            assert all(col in runs[n][1] for n in names), (col, names)
            taken.append(col)
            covered = [runs[n][0] for n in names]
            if kind == "per-class":
                assert get_proxy(col).iso_invariant and covered == [set(lists["isoreps"])]
            else:  # disjoint tables that together hold every net, and without the invalid ones every valid net
                assert sum(map(len, covered)) == len(set().union(*covered)) == len(archs)
                assert set().union(*(c for n, c in zip(names, covered) if n != "structural_rest")) == set(valid)
    assert sorted(taken) == sorted({c for _, cols in runs.values() for c in cols})  # every computed proxy is used
    args = module.table_arguments(Path("W"), valid_only=True)
    assert "--valid-only" in args and not any("structural_rest" in a for a in args)
