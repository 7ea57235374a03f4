"""``graf features`` end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from graf.cli import main
from graf.features import feature_table
from graf.spaces.nb201 import NB201Arch, all_archs


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graf.cli", *args], capture_output=True, text=True, timeout=120)


def test_whole_space_parquet_with_json(tmp_path):
    out = tmp_path / "nb201.parquet"
    proc = run_cli("features", "--space", "nb201", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    assert payload["rows"] == 15625 and payload["columns"] == 191 and payload["out"] == str(out)
    table = pd.read_parquet(out)
    assert table.index.name == "arch" and table.shape == (15625, 191)
    pd.testing.assert_frame_equal(table, feature_table(all_archs(), ["graf"]))


def test_arch_file_csv_and_valid_only(tmp_path, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text(
        "# a comment\n"
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n"
        "\n"
        "(4, 0, 3, 1, 4, 3)\n"
        "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|skip_connect~1|skip_connect~2|\n"
    )
    out = tmp_path / "f.csv"
    assert main(["features", "--archs", str(archs), "--groups", "graf,onehot", "--out", str(out)]) == 0
    table = pd.read_csv(out, index_col="arch")
    assert table.shape == (3, 221)
    assert table.index[1] == str(NB201Arch.from_naslib((4, 0, 3, 1, 4, 3)))
    assert main(["features", "--archs", str(archs), "--valid-only", "--out", str(out), "--overwrite"]) == 0
    assert len(pd.read_csv(out)) == 2  # the last net has a dead branch


@pytest.mark.parametrize(
    "content, out, message",
    [
        ("(4, 0, 3, 1, 4, 3)\n|bad~0|+|x~0|\n", "f.parquet", "archs.txt:2: malformed NB201 string"),
        ("(4, 0, 3, 1, 4, 9)\n", "f.parquet", "archs.txt:1: NASLib op index must be an int in 0..4, got 9"),
        ("# nothing\n", "f.parquet", "lists no architectures"),
        ("(4, 0, 3, 1, 4, 3)\n", "f.xlsx", "must end in one of .parquet, .csv, .csv.gz"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, content, out, message):
    archs = tmp_path / "archs.txt"
    archs.write_text(content)
    proc = run_cli("features", "--archs", str(archs), "--out", str(tmp_path / out), "--json")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error" in json.loads(proc.stdout.strip().splitlines()[-1])
    assert not (tmp_path / out).exists()


def test_missing_arch_file_and_unknown_space(tmp_path):
    proc = run_cli("features", "--archs", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "f.csv"))
    assert proc.returncode == 2 and "architecture file" in proc.stderr and "not found" in proc.stderr
    proc = run_cli("features", "--space", "nb999", "--out", str(tmp_path / "f.csv"))
    assert proc.returncode == 2 and "--space: invalid choice: 'nb999'" in proc.stderr and "nb201" in proc.stderr
