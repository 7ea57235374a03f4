"""TE-NAS's pruning search: the supernet, the NTK, the rank-sum choice, the loop, the strategy and the CLI."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from graf.cli import main  # noqa: E402
from graf.search import BenchmarkObjective, run_search  # noqa: E402
from graf.search.strategies import TENAS  # noqa: E402
from graf.spaces.nb201 import EDGES, NB201Arch  # noqa: E402
from proxies.network import Cell, init_default  # noqa: E402
from proxies.supernet import SUPERNET_OPS, SearchCell, active_ops, build_supernet, check_mask, full_mask  # noqa: E402
from proxies.tenas import TenasConfig, _batch_ntk, prune_choices, tenas_prune  # noqa: E402

#: a supernet of one cell (depth 1) with 2 channels on 8x8 images: a whole pruning in about a second
SMALL = dict(channels=2, depth=1, ntk_batch=6, repeats=1, lr_batches=1, lr_batch_size=100)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _images(n=16, size=8, seed=0, channels=3):
    return torch.randn(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def test_single_op_mask_is_the_nb201_cell():
    """With one op per edge the search cell computes the NB201 cell of that arch (same weights)."""
    arch = NB201Arch.from_str("|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|")
    cell = init_default(SearchCell(4), torch.Generator().manual_seed(1))
    ref = Cell(arch, 4)
    for (i, j), op in zip(EDGES, arch.ops):
        if op in ("nor_conv_1x1", "nor_conv_3x3"):
            ref.edges[f"{i}_{j}"].load_state_dict(cell.edges[f"{i}_{j}"][op].state_dict())
    x = _images(4, 6, channels=4)
    with active_ops(cell, [(op,) for op in arch.ops]):
        got = cell(x)
    assert cell.mask == full_mask()  # restored
    torch.testing.assert_close(got, ref(x))


def test_two_ops_on_an_edge_average():
    cell = init_default(SearchCell(2), torch.Generator().manual_seed(2))
    x = _images(3, 5, channels=2)
    base = [("skip_connect",)] * 6
    both = [("skip_connect", "nor_conv_3x3")] + base[1:]
    conv = [("nor_conv_3x3",)] + base[1:]
    with active_ops(cell, both):
        mixed = cell(x)
    with active_ops(cell, base):
        a = cell(x)
    with active_ops(cell, conv):
        b = cell(x)
    # node 1 = (skip + conv)/2 of x; it feeds nodes 2 and 3 only through skip edges, so the cell is linear in it
    torch.testing.assert_close(mixed, (a + b) / 2)


@pytest.mark.parametrize("bad,match", [([()] * 6, "at least one"), ([("none",)] * 6, "unknown"), ([("skip_connect",)] * 5, "one set")])
def test_bad_masks(bad, match):
    with pytest.raises(ValueError, match=match):
        check_mask(bad)


def test_batch_ntk_matches_jacobian():
    """TE-NAS's NTK (BatchNorm over the batch) against J Jᵀ from torch.func.jacrev."""
    net = build_supernet(C=2, depth=1, generator=torch.Generator().manual_seed(3))
    x = _images(5, 6)
    tensors = {k: v.detach().clone() for k, v in net.named_parameters()}
    mask = [("skip_connect", "nor_conv_3x3")] + [("nor_conv_1x1",)] * 5
    with active_ops(net, mask):
        theta = _batch_ntk(net, x)
        names = [k for k in tensors if "weight" in k]

        def summed(weights):
            buffers = {k: v.clone() for k, v in net.named_buffers()}  # training-mode BN updates its own copies
            return torch.func.functional_call(net, {**tensors, **weights, **buffers}, (x,)).sum(dim=1)

        jac = torch.func.jacrev(summed)({k: tensors[k] for k in names})
    J = torch.cat([jac[k].reshape(5, -1) for k in names], dim=1).double()
    torch.testing.assert_close(theta, J @ J.T, rtol=1e-4, atol=1e-6)


def test_prune_choices_by_hand():
    # edge 0 has candidates 0, 1, 2; edge 1 has 3, 4
    edges = [0, 0, 0, 1, 1]
    ntk = [0.3, 0.1, 0.3, -0.2, 0.0]  # descending dense ranks: 0, 1, 0, 3, 2
    lr = [0.05, 0.01, 0.02, 0.02, 0.05]  # ascending dense ranks: 2, 0, 1, 1, 2
    ntk_rank, lr_rank, chosen = prune_choices(edges, ntk, lr)
    assert list(ntk_rank) == [0, 1, 0, 3, 2] and list(lr_rank) == [2, 0, 1, 1, 2]
    # sums 2, 1, 1 on edge 0: candidates 1 and 2 tie, 2 has the larger Δκ; edge 1: sums 4, 4, tie, 4 has the larger Δκ
    assert chosen == {0: 2, 1: 4}


def test_pruning_ends_with_one_op_per_edge_and_is_deterministic():
    config = TenasConfig(**SMALL)
    a = tenas_prune(_images(), seed=5, config=config)
    b = tenas_prune(_images(), seed=5, config=config)
    assert [len(ops) for ops in a.masks[0]] == [len(SUPERNET_OPS)] * 6
    for before, after in zip(a.masks, a.masks[1:]):  # one op pruned on every edge each round
        assert all(len(y) == len(x) - 1 and set(y) < set(x) for x, y in zip(before, after))
    assert all(len(ops) == 1 for ops in a.masks[-1]) and len(a.masks) == 4
    assert a.arch == NB201Arch(tuple(ops[0] for ops in a.masks[-1]))
    assert [sum(c.round == r for c in a.candidates) for r in (1, 2, 3)] == [24, 18, 12]
    assert [sum(c.pruned for c in a.candidates if c.round == r) for r in (1, 2, 3)] == [6, 6, 6]
    assert a.arch == b.arch and a.candidates == b.candidates
    assert "none" not in a.arch.ops


def test_strategy_contract_extras():
    s = TENAS(synthetic=True, image_size=8, seed=0, **SMALL)
    assert not s.uses_queries
    assert s.recommend() == s.pruning.arch
    asked = [s.ask() for _ in range(20)]
    assert asked[0] == s.pruning.arch and len(set(asked)) == 20
    survival = s.pruning.survival()
    scores = [sum(survival[(e, op)] for e, op in enumerate(a.ops)) for a in asked]
    assert scores == sorted(scores, reverse=True) and scores[0] == 4 * 6
    again = TENAS(synthetic=True, image_size=8, seed=0, **SMALL)
    assert [again.ask() for _ in range(20)] == asked


def test_strategy_errors():
    with pytest.raises(ValueError, match="NB201 supernet"):
        TENAS(space="tnb101_micro", seed=0)
    with pytest.raises(ValueError, match="unknown dataset"):
        TENAS(dataset="mnist", seed=0)
    with pytest.raises(ValueError, match="ntk_method"):
        TENAS(ntk_method="full", seed=0)
    with pytest.raises(ValueError, match="depth"):
        TenasConfig(depth=0)
    with pytest.raises(ValueError, match="ntk_batch"):
        tenas_prune(_images(4), seed=0, config=TenasConfig(**SMALL))


def test_run_search_queries_nothing(data_dir):
    objective = BenchmarkObjective("cifar10", data_dir=data_dir)
    s = TENAS(synthetic=True, image_size=8, seed=0, **SMALL)  # (the pruning of seed 0 is cached by the test above)
    r = run_search(s, objective, 10)
    assert r.queries == 0 and r.arch == str(s.pruning.arch)
    assert r.test == objective.test_accuracy(r.arch)


def test_cli_tenas(data_dir, monkeypatch, capsys):
    import graf.search.runner as runner

    monkeypatch.setattr(runner, "TENAS", functools.partial(TENAS, synthetic=True, image_size=8, **SMALL))
    assert main(["search", "--data-dir", str(data_dir), "--algorithm", "tenas", "--seeds", "1", "--dataset", "cifar100",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["algorithm"] == "tenas" and out["queries_mean"] == 0 and out["ntk_method"] == "sample"
    assert out["search_seconds_mean"] > 0 and np.isfinite(out["test_acc_mean"])


@pytest.mark.parametrize("argv,match", [
    (["--ntk-method", "full"], "unknown --ntk-method"),
    (["--space", "tnb101_micro"], "NB201 supernet"),
])
def test_cli_tenas_bad_input(data_dir, capsys, argv, match):
    assert main(["search", "--data-dir", str(data_dir), "--algorithm", "tenas", "--seeds", "1", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
