"""``graf proxies`` and the runner: arguments, table format, failures, determinism, resume, Dask."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from graf.cli import main  # noqa: E402
from conftest import assert_thread_invariant  # noqa: E402
from graf.tables import read_table  # noqa: E402
from proxies.runner import CheckpointError, RunConfig, checkpoint_path, compute_row, run_proxies  # noqa: E402

SMALL = ["--channels", "4", "--cells", "1", "--batch-size", "16", "--no-progress"]
FOUR = "naswot,synflow,jacov,ntk"
NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # keep subprocesses light when the machine is busy


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from graf.cli import main; sys.exit(main())", "proxies", *argv]


def _config(data_dir, **kw) -> RunConfig:
    base = dict(proxies=tuple(FOUR.split(",")), seed=0, batch_size=16, C=4, N=1, data_dir=str(data_dir))
    base.update(kw)
    return RunConfig(**base)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sample", "3", "--proxies", "naswot,snap"],
         "unknown proxy 'snap'; available: naswot, synflow, jacov, ntk, params, flops, snip, grasp"),
        (["--sample", "3", "--batch-size", "0"], "--batch-size must be >= 1"),
        (["--sample", "3", "--batch-size", "1"], "at least 2"),
        (["--sample", "3", "--jobs", "0"], "--jobs must be >= 1"),
        (["--sample", "0"], "--sample must lie in 1..15625"),
        (["--sample", "3", "--proxies", "naswot,naswot"], "repeats"),
        (["--sample", "3", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclusive"),
        (["--sample", "3", "--batch-size", "2000"], "exceeds the 932"),
    ],
)
def test_bad_arguments_give_one_clear_error(argv, message, tmp_path, data_dir, capsys):
    code = main(["proxies", *argv, "--out", str(tmp_path / "t.csv"), "--data-dir", str(data_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert not (tmp_path / "t.csv").exists()


def test_unknown_space_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["proxies", "--sample", "3", "--space", "nb999", "--out", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--space: invalid choice: 'nb999'" in err and "nb201" in err
    assert not (tmp_path / "t.csv").exists()


def test_archs_and_sample_are_exclusive_and_one_is_required(tmp_path, capsys):
    f = tmp_path / "a.txt"
    f.write_text(NONE + "\n")
    with pytest.raises(SystemExit) as exc:
        main(["proxies", "--archs", str(f), "--sample", "2", "--out", str(tmp_path / "t.csv")])
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["proxies", "--out", str(tmp_path / "t.csv")])


def test_missing_data_dir_is_a_clear_error(tmp_path, capsys):
    code = main(["proxies", "--sample", "2", "--out", str(tmp_path / "t.csv"), "--data-dir", str(tmp_path / "nope")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_table_format_failures_and_json(tmp_path, data_dir, capsys):
    f = tmp_path / "archs.txt"
    f.write_text(f"(4, 0, 3, 1, 4, 3)\n{NONE}\n# comment\n(2, 4, 0, 0, 3, 2)\n")
    out = tmp_path / "p.parquet"
    code = main(["proxies", "--archs", str(f), "--proxies", FOUR + ",params,flops", "--out", str(out),
                 "--data-dir", str(data_dir), "--json", *SMALL])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    info = json.loads(captured.out.strip().splitlines()[-1])
    assert info["rows"] == 3 and info["failed"] == 1 and info["out"] == str(out) and info["seconds_per_net"] > 0
    table = read_table(out)
    assert list(table.columns) == ["naswot", "synflow", "jacov", "ntk", "params", "flops", "error"]
    assert table.index.name == "arch"
    assert list(table.index) == [
        "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|",
        NONE,
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    ]
    good, bad = table.drop(index=NONE), table.loc[NONE]
    assert good[["naswot", "synflow", "jacov", "ntk"]].notna().all().all() and (good["error"] == "").all()
    assert bad[["naswot", "synflow", "jacov", "ntk"]].isna().all() and bad["params"] > 0
    for name in ("naswot", "synflow", "jacov", "ntk"):
        assert f"{name}: " in bad["error"]
    assert "proxies:" in captured.err  # the progress bar is off (--no-progress), the summary line is there
    assert not checkpoint_path(out).exists()


def test_progress_bar_with_eta_on_stderr(tmp_path, data_dir, capsys):
    code = main(["proxies", "--sample", "2", "--proxies", "params", "--out", str(tmp_path / "p.csv"),
                 "--data-dir", str(data_dir), "--channels", "4", "--cells", "1"])
    err = capsys.readouterr().err
    assert code == 0 and "2/2" in err and "net/s" in err and "<" in err  # tqdm: n/total [elapsed<eta, rate]


def test_dataset_sets_the_number_of_classes(data_dir):
    for dataset, classes in (("cifar10", 10), ("imagenet16", 120)):
        row = compute_row("(2, 4, 0, 0, 3, 2)", _config(data_dir, proxies=("params",), num_classes=classes, C=16, N=5))
        assert row["params"] == pytest.approx((587386 + (classes - 10) * 65) / 1e6)


def test_same_numbers_for_any_thread_count(data_dir):
    config = _config(data_dir)
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = [compute_row(a, config) for a in ("(2, 3, 0, 4, 2, 3)", "(3, 2, 2, 0, 4, 2)")]
    finally:
        torch.set_num_threads(saved)
    one = [compute_row(a, config) for a in ("(2, 3, 0, 4, 2, 3)", "(3, 2, 2, 0, 4, 2)")]
    for a, b in zip(one, two):
        assert_thread_invariant(a, b)


def test_same_table_for_jobs_1_and_2(tmp_path, data_dir):
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}.parquet"
        proc = subprocess.run(_cli("--sample", "6", "--seed", "3", "--proxies", FOUR, "--jobs", str(jobs), "--out",
                                   str(out), "--data-dir", str(data_dir), *SMALL), capture_output=True, text=True, env=ENV)
        assert proc.returncode == 0, proc.stderr
        outs.append(read_table(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert outs[0]["error"].eq("").all()


def test_kill_halfway_then_resume_equals_uninterrupted_run(tmp_path, data_dir):
    from graf.cli.proxies import _sample
    from graf.spaces.nb201 import all_archs

    archs = _sample(all_archs(), 100, 5)  # the nets `--sample 100 --seed 5` draws
    config = _config(data_dir, proxies=("naswot", "synflow", "jacov"), batch_size=8, seed=5)
    reference = run_proxies(archs, config, tmp_path / "ref.parquet").table

    out = tmp_path / "cut.parquet"
    ckpt = checkpoint_path(out)
    argv = _cli("--sample", "100", "--seed", "5", "--proxies", "naswot,synflow,jacov", "--out", str(out),
                "--data-dir", str(data_dir), *SMALL[:4], "--batch-size", "8", "--no-progress")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if ckpt.exists() and ckpt.read_bytes().count(b"\n") - 1 >= 30:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be interrupted"
    assert not out.exists()
    done = ckpt.read_bytes().count(b"\n") - 1
    assert 30 <= done < 100
    with open(ckpt, "ab") as fh:  # as if killed in the middle of writing a row
        fh.write(b'{"arch":"|nor_conv_3x3~0|+|nor')

    # without --resume the checkpoint is not silently discarded
    with pytest.raises(CheckpointError, match="--resume"):
        run_proxies(archs, config, out)
    # a different run cannot resume it
    with pytest.raises(CheckpointError, match="config.seed"):
        run_proxies(archs, _config(data_dir, proxies=("naswot", "synflow", "jacov"), batch_size=8, seed=1), out,
                    resume=True)

    computed = []
    result = run_proxies(archs, config, out, resume=True, on_row=lambda row: computed.append(row["arch"]))
    assert result.resumed == done and result.computed == 100 - done == len(computed)
    pd.testing.assert_frame_equal(result.table, reference)
    pd.testing.assert_frame_equal(read_table(out), read_table(tmp_path / "ref.parquet"))
    assert not ckpt.exists()


def test_interrupted_in_process_run_resumes(tmp_path, data_dir):
    archs = ["(2, 3, 0, 4, 2, 3)", "(3, 2, 2, 0, 4, 2)", "(4, 4, 2, 0, 1, 3)"]
    config = _config(data_dir, proxies=("naswot", "params"))
    out = tmp_path / "t.csv"

    def stop_after_two(row, seen=[]):  # noqa: B006 - a counter for this test only
        seen.append(row)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_proxies(archs, config, out, on_row=stop_after_two)
    assert checkpoint_path(out).read_bytes().count(b"\n") == 3  # header + 2 rows
    result = run_proxies(archs, config, out, resume=True)
    assert (result.resumed, result.computed) == (2, 1)
    pd.testing.assert_frame_equal(result.table, run_proxies(archs, config, tmp_path / "u.csv").table)


def test_dask_cluster_gives_the_local_table(tmp_path, data_dir):
    distributed = pytest.importorskip("distributed")
    archs = ["(2, 3, 0, 4, 2, 3)", "(3, 2, 2, 0, 4, 2)", NONE, "(0, 2, 3, 4, 2, 2)"]
    config = _config(data_dir)
    local = run_proxies(archs, config, tmp_path / "local.parquet").table
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_proxies(archs, config, tmp_path / "dask.parquet", scheduler=cluster.scheduler_address).table
    pd.testing.assert_frame_equal(local, remote)
    assert math.isnan(remote.loc[NONE, "naswot"]) and remote.loc[NONE, "error"]


def test_graf_imports_without_torch():
    code = "import sys, graf, graf.cli, graf.cli.proxies; from graf.cli import _parser; _parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_unreachable_scheduler_is_a_clear_error_and_leaves_no_checkpoint(tmp_path, data_dir):
    pytest.importorskip("distributed")
    out = tmp_path / "t.csv"
    with pytest.raises(ValueError, match="cannot connect to the Dask scheduler"):
        run_proxies(["(2, 3, 0, 4, 2, 3)"], _config(data_dir, proxies=("params",)), out, scheduler="tcp://127.0.0.1:9",
                    scheduler_timeout=2)
    assert not checkpoint_path(out).exists() and not out.exists()


def test_synthetic_batch_needs_no_data(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GRAF_DATA_DIR", raising=False)
    out = tmp_path / "s.csv"
    code = main(["proxies", "--sample", "2", "--seed", "1", "--synthetic-batch", "--proxies", "naswot,ntk",
                 "--out", str(out), *SMALL])
    assert code == 0, capsys.readouterr().err
    table = read_table(out)
    assert len(table) == 2
    ok = table["error"].astype(object).fillna("") == ""  # CSV reads an all-empty column as NaN
    assert table.loc[ok, ["naswot", "ntk"]].notna().all().all()
    assert table.loc[~ok, ["naswot", "ntk"]].isna().any(axis=1).all()
    again = tmp_path / "s2.csv"
    assert main(["proxies", "--sample", "2", "--seed", "1", "--synthetic-batch", "--proxies", "naswot,ntk",
                 "--out", str(again), *SMALL]) == 0
    pd.testing.assert_frame_equal(read_table(again), table)


def test_help_names_every_registered_proxy(capsys):
    pytest.importorskip("torch")
    from proxies.registry import available

    from graf.cli import main

    with pytest.raises(SystemExit):
        main(["proxies", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in available())
