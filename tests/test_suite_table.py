"""The shipped NB201 table of every registered proxy (``graf/data/files/nb201_proxies_suite.parquet``):
coverage, its agreement with the six-proxy table, the class mapping, and rows recomputed here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from graf.data.paths import DEFAULT_PROXIES_FILE, SUITE_PROXIES_FILE  # noqa: E402
from conftest import cross_cpu_rel  # noqa: E402
from graf.data.proxytable import class_representatives  # noqa: E402
from graf.spaces import get_space  # noqa: E402
from proxies.batch import cifar10_batch  # noqa: E402
from proxies.network import build_network  # noqa: E402
from proxies.registry import available, compute_proxies, get_proxy  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("torch_one_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]

SPACE = get_space("nb201")
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def suite() -> pd.DataFrame:
    return pd.read_parquet(SUITE_PROXIES_FILE)


def _proxy_columns(table):
    return [c for c in table.columns if c not in ("representative", "error")]


def test_every_net_and_every_registered_proxy(suite):
    assert list(suite.index) == [str(a) for a in SPACE.enumerate()]
    assert sorted(_proxy_columns(suite)) == sorted(available())
    values = suite[_proxy_columns(suite)].to_numpy(dtype=float)
    assert not np.isinf(values).any()


def test_failures_are_marked_and_valid_nets_complete(suite):
    cols = _proxy_columns(suite)
    has_nan = suite[cols].isna().any(axis=1)
    # a row misses a value exactly when it records why
    assert (has_nan == (suite["error"] != "")).all()
    valid = [str(a) for a in SPACE.valid_archs()]
    assert suite.loc[valid, "error"].ne("").sum() == 1
    assert suite.at[ALL_NONE, "error"] != ""
    # the failures are the nets whose input never reaches the output (as in the six-proxy table)
    six = pd.read_parquet(DEFAULT_PROXIES_FILE)
    assert set(suite.index[has_nan]) == set(six.index[six["error"] != ""])


def test_the_six_proxy_columns_are_the_shipped_table(suite):
    six = pd.read_parquet(DEFAULT_PROXIES_FILE)
    cols = _proxy_columns(six)
    assert len(cols) == 6
    pd.testing.assert_frame_equal(suite[cols], six.loc[suite.index, cols], check_exact=True)


def test_per_class_columns_are_their_representatives_values(suite):
    reps = class_representatives(SPACE, list(suite.index))
    assert (suite["representative"] == reps).all()
    assert suite["representative"].nunique() == 5260
    rows = suite.loc[suite["representative"].to_numpy()]
    six = _proxy_columns(pd.read_parquet(DEFAULT_PROXIES_FILE))  # computed on every net, each its own draw
    for c in [c for c in _proxy_columns(suite) if c not in six]:
        same = np.array_equal(suite[c].to_numpy(), rows[c].to_numpy(), equal_nan=True)
        # every iso-invariant new proxy is one value per class; the others differ within classes
        assert same == get_proxy(c).iso_invariant, c


def test_rows_recomputed_here_are_the_table(suite, data_dir):
    x = cifar10_batch(64, 0, data_dir)
    valid = set(str(a) for a in SPACE.valid_archs())
    rng = np.random.default_rng(16)
    invalid = [a for a in suite.index if a not in valid and suite.at[a, "error"] == ""]
    members = [a for a in valid if a != suite.at[a, "representative"]]
    # one net pruning changes (run 6), one valid net that is not its class's representative (runs 3-5)
    per_net = ["l2_norm", "zen", "meco", "swap", "reg_swap", "linear_regions"]
    for arch in (rng.choice(sorted(invalid)), rng.choice(sorted(members))):
        got = compute_proxies(build_network(arch, seed=0), x, per_net, seed=0)
        for name in per_net:
            assert got[name] == pytest.approx(suite.at[arch, name], rel=cross_cpu_rel(name), abs=0), (arch, name)
    # a class representative's per-class values (runs 1-2), the cheaper ones
    rep = rng.choice(sorted(set(suite["representative"]) - {ALL_NONE}))
    per_class = ["snip", "grad_norm", "fisher", "plain", "epe_nas", "zico"]
    got = compute_proxies(build_network(rep, seed=0), x, per_class, seed=0)
    for name in per_class:
        assert got[name] == pytest.approx(suite.at[rep, name], rel=cross_cpu_rel(name), abs=0), (rep, name)
