"""params and flops proxies: exact agreement with NAS-Bench-Suite-Zero, hand-counted cases."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from graf.data import load_zc_proxies  # noqa: E402
from graf.spaces.nb201 import NB201Arch  # noqa: E402
from proxies.flops import count_flops  # noqa: E402
from proxies.network import build_network  # noqa: E402
from proxies.registry import get_proxy  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_flops_of_every_valid_net_equal_the_published_column(data_dir):
    # FLOPs depend only on the numbers of 3x3 convs, 1x1 convs and pools in the cell: count one
    # real network per combination and compare all 9445 published values.
    zc = load_zc_proxies(data_dir)
    built: dict[tuple[int, int, int], int] = {}
    ours = []
    for a in zc.index:
        ops = NB201Arch.parse(a).ops
        key = (ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1"), ops.count("avg_pool_3x3"))
        if key not in built:
            built[key] = count_flops(build_network(a, seed=0))
        ours.append(built[key] / 1e6)
    np.testing.assert_array_equal(np.round(ours, 6), np.round(zc["flops"].to_numpy(), 6))


def test_flops_by_hand_for_the_all_skip_network():
    # convolutions (multiply-adds): stem 3*9*16*32*32, two reduction blocks (3x3 a, 3x3 b, 1x1 shortcut)
    convs = 3 * 9 * 16 * 1024 + (16 * 9 * 32 * 256 + 32 * 9 * 32 * 256 + 16 * 32 * 256) + (
        32 * 9 * 64 * 64 + 64 * 9 * 64 * 64 + 32 * 64 * 64
    )
    bn = 2 * (16 * 1024 + 2 * 32 * 256 + 2 * 64 * 64 + 64 * 64)  # affine: 2 per element
    relu = 16 * 1024 + 32 * 256 + 32 * 256 + 64 * 64 + 64 * 64  # reduction blocks' ReLUs + last ReLU
    pools = 16 * 256 * 4 + 32 * 64 * 4  # shortcut 2x2 average pools
    gap = 64 * 9 * 9  # torchstat's adaptive pool rule counts (8+1) x (8+1) per channel
    linear = 64 * 10
    net = build_network((0, 0, 0, 0, 0, 0), seed=0)
    assert count_flops(net) == convs + bn + relu + pools + gap + linear == 7_943_872
    assert get_proxy("flops").compute(net) == pytest.approx(7.943872, abs=1e-12)


def test_params_proxy_matches_reference_values():
    params = get_proxy("params")
    assert params.compute(build_network((4, 0, 3, 1, 4, 3), seed=0)) == pytest.approx(0.129306, abs=1e-12)
    assert params.compute(build_network((2, 4, 0, 0, 3, 2), seed=1)) == pytest.approx(0.587386, abs=1e-12)
    assert params.higher_is_better and not params.uses_batch


def test_flops_of_a_pool_counts_kernel_times_output():
    net = torch.nn.Sequential(torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
    assert count_flops(net, (2, 5, 5)) == 2 * 5 * 5 * 9
