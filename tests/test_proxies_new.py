"""The recent proxies of issue 16: zico, meco, swap / reg_swap, linear_regions.

Hand-computed cases on tiny models and arrays, the registry contract (finite float,
deterministic, network unchanged, same bits for 1 and 2 threads) and properties (bounds,
what each score depends on).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn

from proxies.batch import synthetic_batch
from proxies.linear_regions import (
    LR_BATCH_SIZE,
    LR_BATCHES,
    count_regions,
    crop_inputs,
    thin_network,
)
from proxies.meco import meco_score, min_correlation_eigenvalue
from proxies.network import build_network
from proxies.registry import LABELS, available, compute_proxies, get_proxy
from proxies.swap import (
    REG_MU,
    REG_SIGMA,
    SWAP_SAMPLES,
    distinct_patterns,
    regular_factor,
    swap_count,
)
from proxies.zico import half_batch_gradients, zico_score

NEW = ("zico", "meco", "swap", "reg_swap", "linear_regions")
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _snapshot(net):
    return (
        {k: v.clone() for k, v in net.state_dict().items()},
        [(type(m), m.training, len(m._forward_hooks), len(m._forward_pre_hooks)) for m in net.modules()],
        [(name, type(m)) for name, m in net.named_modules()],
    )


# --------------------------------------------------------------------------- contract
def test_registered_with_metadata():
    names = available()
    assert names[14:] == ["zico", "meco", "swap", "linear_regions", "reg_swap"]
    for name in NEW:
        proxy = get_proxy(name)
        assert proxy.higher_is_better and proxy.uses_batch
        assert proxy.uses_labels is (name == "zico")


def test_finite_deterministic_network_unchanged_and_shared_equals_alone():
    net = build_network(ARCH, seed=1, C=4, N=1)
    before = _snapshot(net)
    x = synthetic_batch(16, 0)
    together = compute_proxies(net, x, NEW, seed=0)
    alone = {name: get_proxy(name).compute(net, x, seed=0) for name in NEW}
    after = _snapshot(net)
    assert before[1:] == after[1:] and all(torch.equal(v, after[0][k]) for k, v in before[0].items())
    assert all(isinstance(v, float) and math.isfinite(v) for v in together.values()), together
    assert together == alone
    assert compute_proxies(build_network(ARCH, seed=1, C=4, N=1), synthetic_batch(16, 0), NEW, seed=0) == together
    assert together["reg_swap"] == pytest.approx(together["swap"] * regular_factor(net), rel=1e-12)
    # swap and linear_regions draw their own weights from (seed, arch); zico and meco use the net's
    other = compute_proxies(build_network(ARCH, seed=2, C=4, N=1), x, NEW, seed=0)
    assert other["zico"] != together["zico"] and other["meco"] != together["meco"]
    assert other["swap"] == together["swap"] and other["linear_regions"] == together["linear_regions"]
    reseeded = compute_proxies(net, x, ["swap", "linear_regions"], seed=1)
    assert reseeded["swap"] != together["swap"] and reseeded["linear_regions"] != together["linear_regions"]


def test_same_bits_for_one_and_two_threads():
    # zico splits the batch in halves: 16 samples each (some small shapes, e.g. C = 8 with a batch of 8,
    # vary with the thread count inside PyTorch's convolution input gradient; see test_proxies_suite)
    net = build_network("(2, 3, 0, 4, 2, 3)", seed=0, C=8, N=1)
    x = synthetic_batch(32, 1)
    one, two = (_with_threads(n, lambda: compute_proxies(net, x, NEW, seed=0)) for n in (1, 2))
    assert one == two


def _with_threads(threads: int, fn):
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(saved)


def test_dead_network():
    # all-none cell: no gradient reaches any weight (ZiCo's reference adds nothing: 0), one activation pattern
    net = build_network((1, 1, 1, 1, 1, 1), seed=0, C=4, N=1)
    res = compute_proxies(net, synthetic_batch(16, 0), NEW, seed=0)
    assert res["zico"] == 0.0 and res["swap"] == 1.0 and res["linear_regions"] == 1.0
    assert math.isfinite(res["meco"])


# --------------------------------------------------------------------------- zico
def test_zico_score_by_hand():
    layer = [np.array([1.0, 2.0, 0.0]), np.array([3.0, 2.0, 0.0])]  # two batches of one layer
    dead = [np.zeros(2), np.zeros(2)]  # σ = 0 everywhere: the layer adds nothing
    grads = [[layer[0], dead[0]], [layer[1], dead[1]]]
    # accumulated (reference code): G = [1,2,0], [4,4,0]; mean|G| = [2.5,3,0], σ = [1.5,1,0]
    assert zico_score(grads) == pytest.approx(math.log(2.5 / 1.5 + 3.0 / 1.0), rel=1e-12)
    # independent batches (paper's formula): mean|g| = [2,2,0], σ = [1,0,0]
    assert zico_score(grads, accumulate=False) == pytest.approx(math.log(2.0), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 batches"):
        zico_score(grads[:1])


def test_zico_half_batch_gradients_of_a_linear_model_by_hand():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 1, 2, 2, generator=g)
    y = torch.tensor([0, 2, 1, 2, 2, 0])
    w, b = torch.randn(3, 4, generator=g), torch.randn(3, generator=g)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))  # logits z = x Wᵀ + b
    with torch.no_grad():
        net[1].weight.copy_(w)
        net[1].bias.copy_(b)

    def by_hand(rows):  # ∂/∂W of the mean cross-entropy over the rows
        X = x[rows].flatten(1).double().numpy()
        Z = X @ w.double().numpy().T + b.double().numpy()
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        return ((P - np.eye(3)[y[rows].numpy()]) / len(X)).T @ X

    halves = half_batch_gradients(net, x, y)
    for got, rows in zip(halves, (slice(0, 3), slice(3, 6))):
        np.testing.assert_allclose(got[0], by_hand(rows), rtol=1e-5, atol=1e-8)
    score = get_proxy("zico").compute(net, x, shared={LABELS: y})
    assert score == pytest.approx(zico_score([[by_hand(slice(0, 3))], [by_hand(slice(3, 6))]]), rel=1e-4)


# --------------------------------------------------------------------------- meco
def test_min_correlation_eigenvalue_by_hand():
    f = torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])  # r = 0.5: eigenvalues 0.5 and 1.5
    assert min_correlation_eigenvalue(f) == pytest.approx(0.5, abs=1e-12)
    assert min_correlation_eigenvalue(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])) == pytest.approx(0.0, abs=1e-12)
    # a constant channel: its NaN row and column are set to 0, so 0 is an eigenvalue
    assert min_correlation_eigenvalue(torch.tensor([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])) == pytest.approx(0.0, abs=1e-12)
    assert min_correlation_eigenvalue(torch.tensor([[1.0], [2.0]])) == 0.0  # one value per channel


def test_meco_hooks_every_module_by_hand():
    # a 1x1 convolution with identity weights inside a Sequential: the conv and the Sequential both
    # return the map, whose two channels have r = 0.5; each call adds λ_min = 0.5
    net = nn.Sequential(nn.Conv2d(2, 2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]]).view(1, 2, 1, 3)
    assert meco_score(net, x) == pytest.approx(1.0, abs=1e-12)


def test_meco_uses_only_the_first_sample():
    net = build_network(ARCH, seed=0, C=4, N=1)
    x = synthetic_batch(8, 0)
    y = x.clone()
    y[1:] = synthetic_batch(8, 5)[1:]
    assert get_proxy("meco").compute(net, x) == get_proxy("meco").compute(net, y)
    assert get_proxy("meco").compute(net, x) == meco_score(net, x[:1])


# --------------------------------------------------------------------------- swap
def test_distinct_patterns_by_hand():
    a = torch.tensor([[1, 1, 0, 1], [0, 0, 0, 1], [1, 1, 0, 1]], dtype=torch.bool)  # columns: 101, 101, 000, 111
    b = torch.tensor([[1], [1], [1]], dtype=torch.bool)  # 111 again
    assert distinct_patterns([a]) == 3 and distinct_patterns([a, b]) == 3 and distinct_patterns([]) == 0
    wide = torch.zeros(10, 2, dtype=torch.bool)
    wide[9, 1] = True  # the patterns differ in the 10th sample only (the second packed byte)
    assert distinct_patterns([wide]) == 2


def test_swap_count_of_a_tiny_model_by_hand():
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.ReLU())
    tensors = {"0.weight": torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)}
    # channel 0 = x, channel 1 = -x; units' patterns over the 2 samples
    x = torch.tensor([[1.0, -1.0], [2.0, 3.0]]).view(2, 1, 1, 2)  # 11, 01, 00, 10: four patterns
    assert swap_count(net, x, tensors) == 4
    x = torch.tensor([[1.0, -1.0], [2.0, -3.0]]).view(2, 1, 1, 2)  # 11, 00, 00, 11: two
    assert swap_count(net, x, tensors) == 2


def test_swap_bounded_by_the_number_of_sample_patterns():
    net = build_network("(2, 3, 3, 3, 2, 3)", seed=0, C=8, N=1)
    value = get_proxy("swap").compute(net, synthetic_batch(16, 0))
    assert 1 < value <= 2 ** SWAP_SAMPLES
    assert get_proxy("swap").compute(net, synthetic_batch(4, 0)) <= 2 ** 4


def test_regular_factor_by_hand():
    net = nn.Linear(999, 1)  # 1000 parameters = 1 thousand
    assert regular_factor(net) == pytest.approx(math.exp(-((1.0 - REG_MU) ** 2) / REG_SIGMA), rel=1e-12)
    assert regular_factor(net, mu=1.0, sigma=5.0) == 1.0


# --------------------------------------------------------------------------- linear_regions
def test_count_regions_by_hand():
    net = nn.Sequential(nn.ReLU())
    pts = torch.tensor([[1.0, 2.0], [-1.0, 2.0], [1.0, 3.0], [-1.0, -1.0]]).view(4, 1, 1, 2)  # 11, 01, 11, 00
    assert count_regions(net, [pts]) == 3
    assert count_regions(net, [pts[:2], pts[2:]]) == 3  # across batches too


def test_thin_network_is_tenas_one_cell_one_channel():
    net = thin_network("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    # 6 convolutions 1->1 of 3x3 (9 weights) with BatchNorm (2 each), then BatchNorm(1): 6 * 11 + 2
    assert sum(p.numel() for p in net.parameters()) == 68
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 7


def test_crop_inputs_are_crops_of_the_images():
    images = synthetic_batch(4, 0)
    crops = crop_inputs(images, 0)
    assert len(crops) == LR_BATCHES and all(c.shape == (LR_BATCH_SIZE, 1, 3, 3) for c in crops)
    windows = images.unfold(2, 3, 1).unfold(3, 3, 1).reshape(-1, 3, 3)  # every 3x3 window of every channel
    for crop in crops[0][:20, 0]:
        assert (windows - crop).abs().amax(dim=(1, 2)).min() == 0
    assert all(torch.equal(a, b) for a, b in zip(crops, crop_inputs(images, 0)))
    assert not torch.equal(crops[0], crop_inputs(images, 1)[0])


def test_linear_regions_bounds_and_input_checks():
    x = synthetic_batch(8, 0)
    skip = build_network("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
                         seed=0, C=4, N=1)
    assert 1 < get_proxy("linear_regions").compute(skip, x) <= 2 ** 9  # only the last ReLU: 9 units
    full = build_network("(3, 3, 3, 3, 3, 3)", seed=0, C=4, N=1)
    assert get_proxy("linear_regions").compute(full, x) <= LR_BATCHES * LR_BATCH_SIZE
    with pytest.raises(ValueError, match="NB201"):
        get_proxy("linear_regions").compute(nn.Sequential(nn.ReLU()), x)


NB101_ARCH = "01010-00101-00001-00001-00000|conv3x3,conv1x1,maxpool3x3"
NB301_ARCH = ("[[(0, 3), (1, 4), (0, 5), (1, 6), (0, 0), (2, 2), (2, 3), (3, 1)], "
              "[(0, 2), (1, 5), (0, 6), (1, 3), (0, 1), (2, 4), (1, 2), (3, 0)]]")


def test_thin_networks_of_nb101_and_nb301_cells():
    from graf.spaces.nb101 import NB101Arch
    from graf.spaces.nb301 import NB301Arch

    # NB101: nodes 1..3 feed the output, so 3 output channels, every node 1: projections 1x1 to nodes 1
    # and 3 (1 + BN 2 each), conv3x3 (9 + 2), conv1x1 (1 + 2), maxpool, then BatchNorm(3)
    net = thin_network(NB101Arch.parse(NB101_ARCH))
    assert sum(p.numel() for p in net.parameters()) == 2 * 3 + 11 + 3 + 6
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 5
    assert net(torch.zeros(2, 1, 3, 3)).shape == (2, 3, 3, 3)
    # NB301: the normal cell at C = 1: preprocessing 2 x (1 + BN 2), sep 3x3 twice (2 x (9 + 1)), sep 5x5
    # (2 x (25 + 1)), dil 3x3 (9 + 1), dil 5x5 (25 + 1), pools and skip (no weights), then BatchNorm(4)
    net = thin_network(NB301Arch.parse(NB301_ARCH))
    assert sum(p.numel() for p in net.parameters()) == 6 + 2 * 20 + 52 + 10 + 26 + 8
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 2 + 2 * 2 + 2 + 1 + 1 + 1
    assert net(torch.zeros(2, 1, 3, 3)).shape == (2, 4, 3, 3)


@pytest.mark.parametrize("space", ["nb101", "nb301"])
def test_linear_regions_of_nb101_and_nb301_networks(space):
    from proxies.network import network_builder

    net = network_builder(space)(NB101_ARCH if space == "nb101" else NB301_ARCH, seed=0, C=4, N=1)
    x = synthetic_batch(8, 0)
    score = get_proxy("linear_regions").compute(net, x)
    assert 1 < score <= LR_BATCHES * LR_BATCH_SIZE
    assert get_proxy("linear_regions").compute(net, x) == score
    assert get_proxy("linear_regions").compute(net, x, seed=1) != score
