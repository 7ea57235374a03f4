"""Finished work is never overwritten silently; outputs are checked before any work; files follow the umask."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from graf.cli import main
from graf.tables import check_output, write_table

ONE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n"


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for needle in needles:
        assert needle in err[0]


@pytest.fixture
def archs(tmp_path):
    path = tmp_path / "archs.txt"
    path.write_text(ONE)
    return path


def test_features_refuses_an_existing_output(tmp_path, archs, capsys):
    out = tmp_path / "f.parquet"
    out.write_text("finished work")
    assert main(["features", "--archs", str(archs), "--out", str(out)]) == 2
    _one_line_error(capsys, "already exists", "--overwrite")
    assert out.read_text() == "finished work"
    assert main(["features", "--archs", str(archs), "--out", str(out), "--overwrite"]) == 0
    assert pd.read_parquet(out).shape == (1, 191)


def test_search_refuses_an_existing_history_before_searching(tmp_path, data_dir, capsys):
    history = tmp_path / "h.parquet"
    history.write_text("2000 rows of history")
    args = ["search", "--data-dir", str(data_dir), "--algorithm", "rea", "--budget", "5", "--seeds", "2",
            "--history", str(history)]
    assert main(args) == 2
    _one_line_error(capsys, "already exists")  # one line: no progress bar, no search ran
    assert history.read_text() == "2000 rows of history"
    assert main(args + ["--overwrite"]) == 0
    assert len(pd.read_parquet(history)) == 10


def test_evaluate_runs_out_honours_the_extension_and_refuses_to_overwrite(tmp_path, data_dir, capsys):
    runs = tmp_path / "runs.parquet"
    args = ["evaluate", "--data-dir", str(data_dir), "--inputs", "graf", "--train-sizes", "32", "--seeds", "2",
            "--runs-out", str(runs)]
    assert main(args) == 0
    table = pd.read_parquet(runs)  # parquet, not CSV under a .parquet name
    assert list(table.columns) == ["train_size", "seed", "tau", "rho", "n_test"] and len(table) == 2
    capsys.readouterr()
    assert main(args) == 2
    _one_line_error(capsys, "already exists")
    assert main(["evaluate", "--data-dir", str(data_dir), "--inputs", "graf", "--seeds", "1",
                 "--runs-out", str(tmp_path / "runs.txt")]) == 2
    _one_line_error(capsys, "must end in one of .parquet, .csv, .csv.gz")


def test_explain_refuses_to_overwrite_its_files(tmp_path, data_dir, capsys):
    out = tmp_path / "x"
    out.mkdir()
    (out / "shap_bar.png").write_bytes(b"a figure someone kept")
    assert main(["explain", "--data-dir", str(data_dir), "--inputs", "graf", "--train-size", "32",
                 "--out", str(out)]) == 2
    _one_line_error(capsys, "shap_bar.png already exists")
    assert (out / "shap_bar.png").read_bytes() == b"a figure someone kept"
    file_out = tmp_path / "file"
    file_out.write_text("")
    assert main(["explain", "--data-dir", str(data_dir), "--inputs", "graf", "--out", str(file_out)]) == 2
    _one_line_error(capsys, "is a file; give a folder")


def test_proxies_refuses_an_existing_table(tmp_path, archs, capsys):
    out = tmp_path / "p.parquet"
    out.write_text("a finished proxies table")
    assert main(["proxies", "--archs", str(archs), "--proxies", "params", "--out", str(out)]) == 2
    _one_line_error(capsys, "already exists")
    assert out.read_text() == "a finished proxies table"


def test_a_directory_or_an_unwritable_place_is_one_line(tmp_path, archs, capsys):
    (tmp_path / "d.parquet").mkdir()
    assert main(["features", "--archs", str(archs), "--out", str(tmp_path / "d.parquet")]) == 2
    _one_line_error(capsys, "is a directory")
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["features", "--archs", str(archs), "--out", str(locked / "f.parquet")]) == 2
    _one_line_error(capsys, "not a writable folder")


def test_check_output_names_the_unwritable_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("")
    with pytest.raises(ValueError, match="not a writable folder"):
        check_output(target / "sub" / "t.parquet")  # its "folder" is a file
    assert check_output(tmp_path / "new" / "deeper" / "t.csv") == tmp_path / "new" / "deeper" / "t.csv"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_table(pd.DataFrame({"x": [1.0]}, index=pd.Index(["a"], name="arch")), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_arch_file_bom_inline_comments_duplicates(tmp_path, capsys):
    path = tmp_path / "archs.txt"
    two = "(4, 0, 3, 1, 4, 3)"
    path.write_bytes(("\ufeff" + ONE.strip() + "   # the first net\n" + two + "# no space before it\n"
                      + ONE).encode("utf-8"))
    out = tmp_path / "f.parquet"
    assert main(["features", "--archs", str(path), "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 2 and table.index[0] == ONE.strip()
    err = capsys.readouterr().err
    assert "1 duplicate line(s) dropped" in err


def test_arch_file_not_utf8_or_a_directory(tmp_path, capsys):
    path = tmp_path / "latin1.txt"
    path.write_bytes("(4, 0, 3, 1, 4, 3) # caf\xe9\n".encode("latin-1"))
    assert main(["features", "--archs", str(path), "--out", str(tmp_path / "f.parquet")]) == 2
    _one_line_error(capsys, "latin1.txt is not UTF-8 text")
    assert main(["features", "--archs", str(tmp_path), "--out", str(tmp_path / "g.parquet")]) == 2
    _one_line_error(capsys, "is a directory")


@pytest.mark.parametrize("budget, message", [("inf", "finite number > 0"), ("nan", "finite number > 0"),
                                             ("0", "finite number > 0"), ("2.5", "whole number")])
def test_search_budget_checked(budget, message, data_dir, capsys):
    assert main(["search", "--data-dir", str(data_dir), "--algorithm", "rea", "--budget", budget, "--seeds", "1"]) == 2
    _one_line_error(capsys, message)


def test_json_is_strict_and_budget_an_int(data_dir, capsys):
    import json

    assert main(["search", "--data-dir", str(data_dir), "--algorithm", "rea", "--budget", "5", "--seeds", "1",
                 "--json"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert result["budget"] == 5 and isinstance(result["budget"], int)
    assert result["test_acc_std"] == 0.0 and "simulated_train_seconds_mean" in result


def test_emit_json_turns_nan_into_null(capsys):
    import json

    import numpy as np

    from graf.cli import emit_json

    emit_json({"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": {"d": np.int64(3)}})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [None, 1.5], "c": {"d": 3}}


def test_text_in_a_numeric_target_column_names_file_and_column(tmp_path, data_dir, capsys):
    import gzip

    (tmp_path / "nb201").mkdir()
    src = pd.read_csv(data_dir / "nb201/nb201_accuracy.csv.gz")
    src["cifar10_val_naslib"] = src["cifar10_val_naslib"].astype(object)
    src.loc[:5, "cifar10_val_naslib"] = "ninety"
    with gzip.open(tmp_path / "nb201/nb201_accuracy.csv.gz", "wt") as fh:
        src.to_csv(fh, index=False)
    assert main(["evaluate", "--data-dir", str(tmp_path), "--inputs", "graf", "--seeds", "1",
                 "--train-sizes", "32"]) == 2
    _one_line_error(capsys, "nb201/nb201_accuracy.csv.gz", "column 'cifar10_val_naslib'", "'ninety'")


def test_truncated_gz_is_one_line(tmp_path, data_dir, capsys):
    (tmp_path / "nb201").mkdir()
    blob = (data_dir / "nb201/nb201_accuracy.csv.gz").read_bytes()
    (tmp_path / "nb201/nb201_accuracy.csv.gz").write_bytes(blob[: len(blob) // 2])
    assert main(["evaluate", "--data-dir", str(tmp_path), "--inputs", "graf", "--seeds", "1",
                 "--train-sizes", "32"]) == 2
    _one_line_error(capsys, "is not a readable CSV table")


def _interrupt(argv, signum, data_dir, ready: str, timeout=90):
    """Run ``graf argv`` in a subprocess; once its stderr matches the regex ``ready``, send ``signum``.

    Returns the exit code, stdout, and the stderr lines that come from graf itself (not tqdm's).
    """
    import re
    import subprocess
    import sys
    import threading
    import time

    env = dict(os.environ, GRAF_DATA_DIR=str(data_dir))
    proc = subprocess.Popen([sys.executable, "-m", "graf.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not re.search(ready, "".join(chunks)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    proc.send_signal(signum)
    out = proc.stdout.read()
    proc.wait(timeout=timeout)
    reader.join(timeout=10)
    err = "".join(chunks).replace("\r", "\n").splitlines()
    return proc.returncode, out, [line for line in err if line.startswith("graf ")]


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupted_search_keeps_finished_seeds(tmp_path, data_dir, signame, code):
    import signal

    history = tmp_path / "h.parquet"
    argv = ["search", "--algorithm", "rea", "--budget", "30", "--seeds", "100000", "--history", str(history)]
    rc, out, err = _interrupt(argv, getattr(signal, signame), data_dir, ready=r"\| *[1-9][0-9]*/100000")
    assert rc == code
    assert len(err) == 1 and f"stopped by {signame}: wrote the history of the" in err[0]
    table = pd.read_parquet(history)
    seeds = sorted(set(table.index.get_level_values("seed")))
    assert seeds == list(range(len(seeds))) and 1 <= len(seeds) < 100000
    assert len(table) == 30 * len(seeds)  # finished seeds only, each complete


def test_interrupted_evaluate_keeps_finished_runs(tmp_path, data_dir):
    import signal

    runs = tmp_path / "runs.csv"
    argv = ["evaluate", "--inputs", "graf", "--train-sizes", "32", "--seeds", "100000", "--runs-out", str(runs)]
    rc, out, err = _interrupt(argv, signal.SIGTERM, data_dir, ready=r"\| *[1-9][0-9]*/100000")
    assert rc == 143
    assert len(err) == 2 and "stopped by SIGTERM: wrote the" in err[-1]  # the dataset line, then the stop
    table = pd.read_csv(runs)
    assert len(table) >= 1 and list(table["seed"]) == list(range(len(table)))


def test_interrupted_proxies_keep_the_checkpoint(tmp_path, data_dir):
    import signal

    pytest.importorskip("torch")
    out = tmp_path / "p.parquet"
    argv = ["proxies", "--sample", "50", "--proxies", "params,flops", "--out", str(out)]
    rc, _, err = _interrupt(argv, signal.SIGINT, data_dir, ready=r"\| *[1-9][0-9]*/50")
    assert rc == 130
    assert len(err) == 1 and "rerun with --resume" in err[0]
    assert not out.exists() and (tmp_path / "p.parquet.partial.jsonl").exists()


def test_explain_stdout_is_only_the_json_line(tmp_path, data_dir, capsys):
    pytest.importorskip("woodelf")
    import json

    assert main(["explain", "--data-dir", str(data_dir), "--inputs", "graf", "--train-size", "64",
                 "--shap-backend", "woodelf", "--out", str(tmp_path / "x"), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0])["shap_backend"] == "woodelf"


def test_proxies_file_must_be_a_proxies_table(tmp_path, data_dir, capsys):
    features = tmp_path / "features.parquet"
    assert main(["features", "--groups", "graf", "--valid-only", "--out", str(features)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--data-dir", str(data_dir), "--inputs", "graf,proxies", "--proxies-file", str(features),
                 "--train-sizes", "32", "--seeds", "1"]) == 2
    _one_line_error(capsys, "is not a `graf proxies` table", "op_count.none")
    no_arch = tmp_path / "no_arch.csv"
    pd.DataFrame({"naswot": [1.0]}).to_csv(no_arch, index=False)
    assert main(["evaluate", "--data-dir", str(data_dir), "--inputs", "proxies", "--proxies-file", str(no_arch),
                 "--train-sizes", "32", "--seeds", "1"]) == 2
    _one_line_error(capsys, "has no index column 'arch'")


def test_known_proxy_names_match_the_registry():
    pytest.importorskip("torch")
    from proxies.registry import available

    from graf.data.proxytable import PROXY_NAMES

    assert tuple(available()) == PROXY_NAMES
