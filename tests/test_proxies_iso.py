"""One proxy value per isomorphism class: the registry's ``iso_invariant`` property, the class
mapping and ``graf proxies --one-per-class``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from graf.cli import main  # noqa: E402
from graf.data.proxytable import class_representatives, expand_to_classes, load_proxy_table  # noqa: E402
from graf.spaces import get_space  # noqa: E402
from proxies.batch import cifar10_batch  # noqa: E402
from proxies.network import build_network, kaiming_normal_tensors  # noqa: E402
from proxies.ntk import ntk_matrix  # noqa: E402
from proxies.registry import available, compute_proxies, get_proxy  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("torch_one_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]

#: node 2 never reaches the output (edge 2 -> 3 is none): its two convolutions are dead
DEAD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
#: the same function without them
LIVE = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def _pair():
    dead, live = build_network(DEAD, seed=0), build_network(LIVE, seed=1)
    state = dead.state_dict()
    live.load_state_dict({k: state[k] for k in live.state_dict()})  # the live modules' weights, shared
    return dead, live


def test_the_pair_is_one_class():
    space = get_space("nb201")
    assert space.iso_key(DEAD) == space.iso_key(LIVE)


def test_iso_invariant_proxies_ignore_dead_modules(data_dir):
    x = cifar10_batch(16, 0, data_dir)
    dead, live = _pair()
    names = [n for n in available() if get_proxy(n).iso_invariant and n != "ntk"]  # ntk draws its own weights
    assert set(names) == {"synflow", "jacov", "snip", "grasp", "fisher", "grad_norm", "plain", "epe_nas", "zico"}
    a, b = compute_proxies(dead, x, names, seed=0), compute_proxies(live, x, names, seed=0)
    for n in names:
        assert a[n] == pytest.approx(b[n], rel=1e-6, abs=1e-12), n
    # the dead convolutions' weights do not matter either
    with torch.no_grad():
        for name, p in dead.named_parameters():
            if ".edges.0_2." in name or ".edges.1_2." in name:
                p.mul_(3.0).add_(0.5)
    c = compute_proxies(dead, x, names, seed=0)
    assert all(c[n] == pytest.approx(a[n], rel=1e-6, abs=1e-12) for n in names)


def test_ntk_matrix_ignores_dead_modules(data_dir):
    x = cifar10_batch(8, 0, data_dir)
    dead, live = _pair()
    tensors = kaiming_normal_tensors(dead, torch.Generator().manual_seed(0))
    live_names = dict(live.named_parameters()).keys() | dict(live.named_buffers()).keys()
    theta_dead = ntk_matrix(dead, x, tensors)
    theta_live = ntk_matrix(live, x, {k: v for k, v in tensors.items() if k in live_names})
    np.testing.assert_allclose(theta_dead.numpy(), theta_live.numpy(), rtol=1e-6)


def test_proxies_that_read_every_module_are_not_iso_invariant(data_dir):
    x = cifar10_batch(16, 0, data_dir)
    dead, live = _pair()
    names = ["naswot", "params", "l2_norm", "meco"]
    a, b = compute_proxies(dead, x, names, seed=0), compute_proxies(live, x, names, seed=0)
    for n in names:
        assert not get_proxy(n).iso_invariant and a[n] != pytest.approx(b[n], rel=1e-6), n


def test_class_representatives_and_expansion():
    space = get_space("nb201")
    archs = space.enumerate()
    reps = class_representatives(space, archs)
    assert list(reps.index) == [str(a) for a in archs]
    firsts = list(dict.fromkeys(reps))
    keys = [space.iso_key(a) for a in archs]
    assert len(firsts) == len(set(keys))  # one representative per class, the class's first net
    first_of = {}
    for a, k in zip(reps.index, keys):
        first_of.setdefault(k, a)
    assert all(reps[a] == first_of[k] for a, k in zip(reps.index, keys))
    table = pd.DataFrame({"snip": np.arange(len(firsts), dtype=float), "error": ""},
                         index=pd.Index(firsts, name="arch"))
    full = expand_to_classes(table, reps)
    assert full.shape == (len(archs), 3) and list(full.index) == list(reps.index)
    assert (full["snip"].to_numpy() == table.loc[reps.to_numpy(), "snip"].to_numpy()).all()
    with pytest.raises(ValueError, match="no row"):
        expand_to_classes(table.iloc[1:], reps)


def test_cli_one_per_class(tmp_path, data_dir, capsys):
    archs = tmp_path / "archs.txt"
    archs.write_text(f"{DEAD}\n{LIVE}\n|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|\n")
    out = tmp_path / "p.csv"
    common = ["proxies", "--data-dir", str(data_dir), "--archs", str(archs), "--batch-size", "8", "--no-progress"]
    argv = [*common, "--proxies", "synflow,snip", "--out", str(out), "--json"]
    assert main(argv + ["--one-per-class"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["rows"] == 3 and res["classes"] == 2 and res["computed"] == 2
    table, columns = load_proxy_table(out)
    assert columns == ["synflow", "snip"] and list(table["representative"]) == [DEAD, DEAD, table.index[2]]
    assert table.loc[LIVE, ["synflow", "snip"]].tolist() == table.loc[DEAD, ["synflow", "snip"]].tolist()
    own = tmp_path / "q.csv"
    assert main([*common, "--proxies", "synflow,snip", "--out", str(own), "--quiet"]) == 0  # without the shortcut
    direct = pd.read_csv(own, index_col="arch")
    assert direct.loc[DEAD, "snip"] == table.loc[DEAD, "snip"]  # the representative is computed as it is alone
    assert main([*common, "--proxies", "naswot", "--out", str(tmp_path / "r.csv"), "--one-per-class"]) == 2
    assert "naswot depend(s) on modules that never reach the output" in capsys.readouterr().err
