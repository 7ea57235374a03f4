"""The NB201 network of the proxies package: structure, parameter counts, initialisation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from graf.data import load_zc_proxies  # noqa: E402
from graf.spaces.nb201 import NB201Arch, valid_archs  # noqa: E402
from proxies.network import TinyNetwork, build_network, net_seed  # noqa: E402
from proxies.params import count_parameters  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_params_of_the_two_reference_nets():
    # DESIGN §2 / the issue: (4,0,3,1,4,3) -> 0.129306 M, (2,4,0,0,3,2) -> 0.587386 M
    assert count_parameters(TinyNetwork((4, 0, 3, 1, 4, 3))) == 129306
    assert count_parameters(TinyNetwork((2, 4, 0, 0, 3, 2))) == 587386


def test_params_of_every_valid_net_equal_the_published_column(data_dir):
    # A net's parameter count depends only on how many 3x3 and 1x1 convolutions its cell has;
    # build one real network per (n3, n1) pair and compare all 9445 published values against it.
    zc = load_zc_proxies(data_dir)
    built: dict[tuple[int, int], int] = {}
    ours = []
    for a in zc.index:
        arch = NB201Arch.parse(a)
        key = (arch.ops.count("nor_conv_3x3"), arch.ops.count("nor_conv_1x1"))
        if key not in built:
            built[key] = count_parameters(TinyNetwork(arch, device="meta"))
        ours.append(built[key] / 1e6)
    assert len(zc) == 9445
    np.testing.assert_array_equal(np.round(ours, 6), np.round(zc["params"].to_numpy(), 6))
    # and the shortcut is right: random nets, counted directly
    for a in np.random.default_rng(0).choice(zc.index.to_numpy(), size=5, replace=False):
        assert round(count_parameters(TinyNetwork(a, device="meta")) / 1e6, 6) == round(zc.loc[a, "params"], 6)


def test_forward_returns_logits_for_any_classes_and_sizes():
    x = torch.randn(3, 3, 32, 32)
    for classes in (10, 100, 120):
        net = build_network("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
                            seed=0, C=4, N=1, num_classes=classes)
        assert net(x).shape == (3, classes)
    small = build_network((2, 2, 2, 2, 2, 2), seed=0, C=8, N=2)
    assert len([m for m in small.modules() if type(m).__name__ == "Cell"]) == 6
    assert small.classifier.in_features == 32
    with pytest.raises(ValueError, match="positive int"):
        TinyNetwork((0, 0, 0, 0, 0, 0), C=0)
    with pytest.raises(ValueError, match=r"\(batch, 3, H, W\)"):
        small(torch.randn(3, 32, 32))


def test_structure_follows_design():
    net = TinyNetwork("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    stem_conv, stem_bn = net.stem
    assert stem_conv.kernel_size == (3, 3) and stem_conv.bias is None and stem_conv.out_channels == 16
    pool = net.cells[0].edges["0_1"]
    assert pool.kernel_size == 3 and pool.stride == 1 and pool.padding == 1 and pool.count_include_pad is False
    assert "1_2" not in net.cells[0].edges  # 'none' has no module
    conv = net.cells[0].edges["1_3"].op
    assert [type(m).__name__ for m in conv] == ["ReLU", "Conv2d", "BatchNorm2d"] and conv[1].bias is None
    reduction = net.cells[5]
    assert reduction.conv_a.op[1].stride == (2, 2) and reduction.downsample[0].kernel_size == 2
    assert net.classifier.in_features == 64 and len(net.cells) == 17


def test_init_depends_only_on_seed_and_arch_and_leaves_global_rng_alone():
    arch = NB201Arch.parse((2, 3, 0, 4, 2, 3))
    state = torch.random.get_rng_state()
    a = build_network(arch, seed=5, C=4, N=1)
    b = build_network(str(arch), seed=5, C=4, N=1)
    assert torch.equal(state, torch.random.get_rng_state())
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), k
    c = build_network(arch, seed=6, C=4, N=1)
    assert not torch.equal(a.stem[0].weight, c.stem[0].weight)
    assert net_seed(5, arch) != net_seed(5, NB201Arch.parse((2, 3, 0, 4, 2, 2)))
    # PyTorch's default init: conv weights within +-1/sqrt(fan_in)
    w = a.stem[0].weight
    w = w.detach()
    assert float(w.abs().max()) <= 1 / np.sqrt(27) + 1e-7 and float(w.std()) > 0.05


def test_unreachable_output_gives_constant_logits():
    net = build_network((1, 1, 1, 1, 1, 1), seed=0, C=4, N=1).eval()
    out = net(torch.randn(4, 3, 32, 32))
    assert torch.allclose(out, out[:1].expand_as(out))
    assert sum(1 for a in valid_archs() if not a.input_reaches_output) >= 1


def test_fast_average_pool_equals_pytorchs():
    from proxies.network import AvgPool3x3

    pool = AvgPool3x3()
    for shape in ((2, 3, 5, 7), (1, 2, 2, 2), (2, 4, 8, 8)):
        x = torch.linspace(-3, 5, int(np.prod(shape)), dtype=torch.float64).reshape(shape).requires_grad_(True)
        ref = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        torch.testing.assert_close(pool(x), ref, rtol=1e-14, atol=1e-14)
        assert torch.autograd.gradcheck(pool, (x,))
    assert isinstance(pool, torch.nn.AvgPool2d) and pool.count_include_pad is False
