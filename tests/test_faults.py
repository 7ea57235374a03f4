"""Fault injection: every bad input or interruption gives its documented exit code, one line on
stderr and no partial output; finished work is never overwritten silently; outputs are checked
before any work; files follow the umask; architecture files are fuzzed with hypothesis."""

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
    # SIGINT back to Python's KeyboardInterrupt first: a suite started in the background by a
    # shell without job control inherits SIGINT ignored, and the child would not stop
    run = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "sys.argv = ['graf', *sys.argv[1:]]; runpy.run_module('graf.cli', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", run, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    outs: list[str] = []
    out_reader = threading.Thread(target=lambda: outs.append(proc.stdout.read()), daemon=True)
    out_reader.start()
    deadline = time.monotonic() + timeout
    while not re.search(ready, "".join(chunks)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    proc.send_signal(signum)
    try:
        proc.wait(timeout=timeout)  # a child that does not stop fails the test, not the whole suite
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"graf {' '.join(argv)} did not stop within {timeout} s of signal {signum}") from None
    out_reader.join(timeout=10)
    out = "".join(outs)
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


@pytest.mark.parametrize("command", [
    ["features", "--groups", "graf"],
    ["search", "--algorithm", "rea", "--budget", "5", "--seeds", "2"],
    ["evaluate", "--inputs", "graf", "--train-sizes", "32", "--seeds", "1"],
    ["explain", "--inputs", "graf", "--train-size", "64", "--shap-backend", "shap"],
    ["proxies", "--proxies", "params", "--synthetic-batch"],
])
def test_quiet_leaves_only_the_json_line(command, tmp_path, data_dir, archs, capsys):
    import json

    if command[0] == "proxies":
        pytest.importorskip("torch")
    extra = {"features": ["--archs", str(archs), "--out", str(tmp_path / "f.parquet")],
             "explain": ["--out", str(tmp_path / "x")],
             "proxies": ["--archs", str(archs), "--out", str(tmp_path / "p.parquet")]}.get(command[0], [])
    assert main(command + extra + ["--data-dir", str(data_dir), "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1 and isinstance(json.loads(lines[0]), dict)


def test_quiet_still_prints_the_error(tmp_path, capsys):
    assert main(["features", "--archs", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "f.parquet"),
                 "--quiet"]) == 2
    _one_line_error(capsys, "missing.txt not found")


def test_duplicates_are_kept_once_and_reported_in_the_api_as_in_the_cli(tmp_path, data_dir, capsys):
    from graf.features import feature_table
    from graf.predictor.dataset import build_dataset
    from graf.search import make_strategy
    from graf.spaces import DuplicateArchitecturesWarning, get_space

    space = get_space("nb201")
    two = "(4, 0, 3, 1, 4, 3)"  # NASLib encoding of a net other than ONE
    given = [ONE.strip(), two, space.format(space.parse(ONE.strip()), "naslib")]  # ONE twice, in two encodings
    expected = [ONE.strip(), str(space.parse(two))]
    path = tmp_path / "archs.txt"
    path.write_text("\n".join(given) + "\n")
    assert main(["features", "--archs", str(path), "--out", str(tmp_path / "f.parquet")]) == 0
    assert "1 duplicate line(s) dropped" in capsys.readouterr().err
    assert list(pd.read_parquet(tmp_path / "f.parquet").index) == expected
    with pytest.warns(DuplicateArchitecturesWarning, match="^1 duplicate architectures dropped"):
        assert list(feature_table(given, space="nb201").index) == expected
    with pytest.warns(DuplicateArchitecturesWarning, match="^1 duplicate nets dropped"):
        assert list(build_dataset("cifar10_val_naslib", "graf", data_dir=data_dir, nets=given).X.index) == expected
    with pytest.warns(DuplicateArchitecturesWarning, match="^1 duplicate pool members dropped"):
        strategy = make_strategy("random", seed=0, budget=2, space=space, pool=given)
    assert [str(a) for a in strategy.pool] == expected


def test_proxies_api_reports_duplicates(tmp_path):
    pytest.importorskip("torch")
    from proxies.runner import RunConfig, run_proxies

    from graf.spaces import DuplicateArchitecturesWarning

    with pytest.warns(DuplicateArchitecturesWarning, match="^1 duplicate architectures dropped"):
        result = run_proxies([ONE.strip(), ONE.strip()], RunConfig(proxies=("params",), synthetic=True, C=4, N=1),
                             tmp_path / "p.parquet")
    assert list(result.table.index) == [ONE.strip()]


# ---------------------------------------------------------------- fuzzing architecture files
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from graf.archfile import read_arch_file  # noqa: E402
from graf.spaces import get_space  # noqa: E402

_SPACE = get_space("nb201")
_ARCHS = st.integers(0, 15624).map(lambda i: _SPACE.enumerate()[i])
_ARCH_LINE = st.tuples(_ARCHS, st.sampled_from(_SPACE.encodings)).map(lambda t: _SPACE.format(*t))
_NOISE = st.sampled_from(["", "   ", "# a comment", "\t", "#", "  # indented comment"])
_LINE = st.one_of(
    _ARCH_LINE,
    st.tuples(_ARCH_LINE, _NOISE).map(lambda t: f"  {t[0]}  {t[1]}"),
    _NOISE,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),  # anything, often not an architecture
)


def _reference(lines: list[str]):
    """What a file of ``lines`` must give: the archs once in first-seen order, or the 1-based line that cannot parse."""
    seen: dict = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            seen.setdefault(_SPACE.parse(text), None)
        except ValueError:
            return number
    return list(seen) or "no architectures"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=12), bom=st.booleans(), crlf=st.booleans())
def test_fuzzed_arch_files_parse_or_name_the_line(tmp_path, lines, bom, crlf):
    lines = [line for line in lines if not any(c in line for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")]
    path = tmp_path / "fuzz.txt"
    text = ("\r\n" if crlf else "\n").join(lines)
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    expected = _reference(lines)
    if isinstance(expected, list):
        got = read_arch_file(path, _SPACE.parse)
        assert list(got) == expected
        assert got.duplicates == sum(bool(line.split("#", 1)[0].strip()) for line in lines) - len(expected)
    else:
        with pytest.raises(ValueError) as info:
            read_arch_file(path, _SPACE.parse)
        message = str(info.value)
        assert "\n" not in message
        assert (f"{path}:{expected}:" in message) if isinstance(expected, int) else "lists no architectures" in message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_fuzzed_bytes_never_raise_anything_but_one_line(tmp_path, data):
    path = tmp_path / "bytes.txt"
    path.write_bytes(data)
    try:
        archs = read_arch_file(path, _SPACE.parse)
    except ValueError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert len(archs) >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=6))
def test_fuzzed_arch_files_through_the_cli(tmp_path, lines, capsys):
    lines = [line for line in lines if not any(c in line for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")]
    path, out = tmp_path / "fuzz.txt", tmp_path / "fuzz.parquet"
    path.write_text("\n".join(lines), encoding="utf-8")
    out.unlink(missing_ok=True)
    capsys.readouterr()
    code = main(["features", "--archs", str(path), "--out", str(out), "--quiet"])
    expected = _reference(lines)
    if isinstance(expected, list):
        assert code == 0 and list(pd.read_parquet(out).index) == [str(a) for a in expected]
    else:
        assert code == 2 and not out.exists()  # no partial output
        _one_line_error(capsys, str(path))


def test_lower_is_better_proxies_match_the_registry():
    pytest.importorskip("torch")
    from proxies.registry import PROXIES, available

    from graf.data.proxytable import LOWER_IS_BETTER

    available()  # loads every proxy module
    assert LOWER_IS_BETTER == {name for name, p in PROXIES.items() if not p.higher_is_better}
