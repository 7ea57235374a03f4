"""NASWOT, jacov, synflow and NTK: hand-computed cases, independent references, published values."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from graf.data import load_zc_proxies  # noqa: E402
from proxies._forward import relu_forward  # noqa: E402
from proxies.batch import CIFAR10_MEAN, cifar10_batch, synthetic_batch  # noqa: E402
from proxies.jacov import jacov_score  # noqa: E402
from proxies.network import build_network, kaiming_normal_tensors  # noqa: E402
from proxies.ntk import condition_number, ntk_matrix  # noqa: E402
from proxies.registry import ProxyError, available, compute_proxies, get_proxy  # noqa: E402
from proxies.synflow import synflow_raw  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


pytestmark = [
    pytest.mark.usefixtures("torch_one_thread"),
    # torch's forward-mode AD (grasp) loads its decompositions with the deprecated torch.jit.script, once
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]


class _ThreeRelus(nn.Module):
    """relu(x) twice on the same tensor and once on -x."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x):
        return (self.a(x) + self.b(x) + self.c(-x)).flatten(1)


def test_naswot_kernel_by_hand():
    # samples (flattened 2x2): codes of x: [1,0,1,0], [1,1,0,1], [0,0,0,0]; codes of -x: [0,1,0,0], [0,0,1,0], [1,1,1,1]
    x = torch.tensor([[1.0, -1, 2, 0], [1, 1, -3, 5], [-1, -1, -1, -1]]).view(3, 1, 2, 2)
    k_x = np.array([[4, 1, 2], [1, 4, 1], [2, 1, 4]])  # agreements of the codes of x (4 units)
    k_negx = np.array([[4, 2, 1], [2, 4, 1], [1, 1, 4]])
    expected = 2 * k_x + k_negx  # two ReLUs read x
    fwd = relu_forward(_ThreeRelus(), x, codes=True, input_grad=False)
    np.testing.assert_array_equal(fwd.K.numpy(), expected)
    assert fwd.relus == 3
    assert round(np.linalg.det(expected)) == 1248
    assert get_proxy("naswot").compute(_ThreeRelus(), x) == pytest.approx(math.log(1248), rel=1e-12)


def test_code_gram_is_the_exact_count_of_shared_ones():
    from proxies._forward import _code_gram

    codes = torch.from_numpy(np.random.default_rng(0).random((7, 5000)) > 0.3)
    c = codes.numpy().astype(np.int64)
    np.testing.assert_array_equal(_code_gram(codes).numpy(), c @ c.T)  # integer arithmetic, exact


def test_naswot_and_jacov_reproduce_the_committed_table(data_dir):
    # the packaged table was computed with an int8 kernel on another CPU; the float32 kernel
    # used now must give naswot's bits (its partial sums are exact integers); jacov is a float
    # log-determinant, the same to the last bits only on the CPU that computed the table
    import pandas as pd

    from graf.data.paths import DEFAULT_PROXIES_FILE

    table = pd.read_parquet(DEFAULT_PROXIES_FILE)
    valid = table.index[table["error"] == ""]
    archs = list(np.random.default_rng(3).choice(valid.to_numpy(), size=3, replace=False))
    x = cifar10_batch(64, 0, data_dir)
    for a in archs:
        got = compute_proxies(build_network(a, seed=0), x, ["naswot", "jacov"], seed=0)
        assert got["naswot"] == table.at[a, "naswot"], a
        assert got["jacov"] == pytest.approx(table.at[a, "jacov"], rel=1e-12, abs=0), a


def test_naswot_singular_kernel_is_a_clear_failure():
    x = torch.ones(3, 1, 2, 2)  # identical samples -> identical codes -> singular K
    with pytest.raises(ProxyError, match="singular"):
        get_proxy("naswot").compute(_ThreeRelus(), x)


class _Linear(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.register_buffer("a", a)

    def forward(self, x):
        return (x * self.a).sum(dim=(1, 2, 3), keepdim=True)


def test_jacov_by_hand():
    # a linear model: every sample's input gradient is the same vector -> corrcoef is all ones,
    # eigenvalues B, 0, ..., 0
    a = torch.arange(1.0, 9.0).view(1, 2, 2, 2)
    x = synthetic_batch(4, 0, size=2)[:, :2]
    fwd = relu_forward(_Linear(a), x, codes=False, input_grad=True)
    np.testing.assert_allclose(fwd.jacobian.numpy(), np.tile(a.flatten().numpy(), (4, 1)))
    k = 1e-5
    expected = -((math.log(4 + k) + 1 / (4 + k)) + 3 * (math.log(k) + 1 / k))
    assert jacov_score(fwd.jacobian.numpy()) == pytest.approx(expected, rel=1e-6)
    # uncorrelated rows: corrcoef = identity, eigenvalues 1
    J = np.array([[1.0, -1, 0, 0], [0, 0, 1, -1], [1, 1, -1, -1]])
    assert jacov_score(J) == pytest.approx(-3 * (math.log(1 + k) + 1 / (1 + k)), rel=1e-9)
    with pytest.raises(ProxyError, match="constant input Jacobian"):
        jacov_score(np.zeros((3, 4)))


def test_synflow_by_hand():
    # ones(1,1,1,1) -> conv 1x1 (w) -> BN (disabled) -> linear (v, bias b): R = |v||w| + |b|,
    # score = |w| dR/d|w| + |v| dR/d|v| = 2 |w v|
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.fill_(-1.5)
        net[1].weight.fill_(7.0)  # would change R if BN were not disabled
        net[1].running_var.fill_(0.25)
        net[3].weight.fill_(0.5)
        net[3].bias.fill_(-3.0)
    assert synflow_raw(net, (1, 1, 1)) == pytest.approx(2 * 1.5 * 0.5, rel=1e-15)
    assert isinstance(net[1], nn.BatchNorm2d) and float(net[0].weight.detach()) == -1.5  # unchanged


def _synflow_reference(net):
    """Independent: NASLib's recipe on a deep copy (abs state, BN forward -> identity, double)."""
    work = copy.deepcopy(net).double()
    for m in work.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.forward = lambda x: x
    with torch.no_grad():
        for p in work.state_dict().values():
            p.abs_()
    work.zero_grad()
    work(torch.ones(1, 3, 32, 32, dtype=torch.float64)).sum().backward()
    return sum(
        float((m.weight * m.weight.grad).abs().sum().detach())
        for m in work.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None
    )


def test_synflow_matches_the_naslib_recipe():
    net = build_network(ARCH, seed=3, C=4, N=1)
    ours = get_proxy("synflow").compute(net, synthetic_batch(2, 0))
    assert ours == pytest.approx(math.log(_synflow_reference(net)), rel=1e-12)


def _ntk_reference(net, x):
    """Independent: each sample alone through a training-mode copy, one backward per sample."""
    work = copy.deepcopy(net).train()
    weights = [p for name, p in work.named_parameters() if "weight" in name]
    rows = []
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(work(x[i : i + 1]).sum(), weights, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(w)).flatten() for g, w in zip(grads, weights)]))
    J = torch.stack(rows).double()
    return J @ J.T


@pytest.mark.parametrize(
    "arch",
    [ARCH, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|skip_connect~2|"],
)
def test_ntk_matrix_matches_per_sample_backward_passes(arch):
    net = build_network(arch, seed=0, C=4, N=1)
    x = synthetic_batch(5, 1)
    values = kaiming_normal_tensors(net, torch.Generator().manual_seed(4))
    fresh = copy.deepcopy(net)
    with torch.no_grad():
        for name, p in fresh.named_parameters():
            p.copy_(values[name])
    theta = ntk_matrix(net, x, values)
    ref = _ntk_reference(fresh, x)
    torch.testing.assert_close(theta, ref, rtol=2e-5, atol=1e-6 * float(ref.abs().max()))
    assert condition_number(theta) == pytest.approx(condition_number(ref), rel=1e-3)


def test_condition_number_by_hand():
    assert condition_number(torch.diag(torch.tensor([2.0, 8.0, 4.0]))) == pytest.approx(4.0)
    with pytest.raises(ProxyError, match="singular"):
        condition_number(torch.zeros(3, 3))


def test_registry_metadata_and_errors():
    assert available()[:6] == ["naswot", "synflow", "jacov", "ntk", "params", "flops"]  # the NB-Suite-Zero eight follow
    assert get_proxy("ntk").higher_is_better is False
    assert all(get_proxy(n).higher_is_better for n in ("naswot", "synflow", "jacov", "params", "flops"))
    with pytest.raises(ValueError, match="available: naswot, synflow, jacov, ntk, params, flops, snip"):
        get_proxy("nope")
    with pytest.raises(ValueError, match="needs an input batch"):
        get_proxy("naswot").compute(build_network(ARCH, seed=0, C=4, N=1))


def _snapshot(net):
    return (
        {k: v.clone() for k, v in net.state_dict().items()},
        [(type(m), m.training, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in net.modules()],
        [p.requires_grad for p in net.parameters()],
    )


@pytest.mark.parametrize("train", [True, False])
def test_no_proxy_changes_the_callers_network(train):
    net = build_network(ARCH, seed=1, C=4, N=1).train(train)
    before = _snapshot(net)
    x = synthetic_batch(8, 0)
    results = compute_proxies(net, x, available(), seed=0)
    assert all(isinstance(v, float) and math.isfinite(v) for v in results.values()), results
    for name in available():  # and each alone (no shared pass)
        get_proxy(name).compute(net, x, seed=0)
    after = _snapshot(net)
    assert before[1] == after[1] and before[2] == after[2]
    for k, v in before[0].items():
        assert torch.equal(v, after[0][k]), k


def test_same_seed_same_numbers_and_shared_pass_equals_separate():
    x = synthetic_batch(8, 2)
    a = compute_proxies(build_network(ARCH, seed=7, C=4, N=1), x, ["naswot", "jacov", "ntk", "synflow"], seed=7)
    b = compute_proxies(build_network(ARCH, seed=7, C=4, N=1), x, ["naswot", "jacov", "ntk", "synflow"], seed=7)
    assert a == b
    net = build_network(ARCH, seed=7, C=4, N=1)
    assert get_proxy("naswot").compute(net, x) == a["naswot"]
    assert get_proxy("jacov").compute(net, x) == a["jacov"]
    assert get_proxy("ntk").compute(net, x, seed=8) != a["ntk"]  # other inits


def test_unreachable_output_fails_clearly_per_proxy():
    net = build_network((1, 1, 1, 1, 1, 1), seed=0, C=4, N=1)
    res = compute_proxies(net, synthetic_batch(6, 0), available(), seed=0)
    for name in ("naswot", "jacov", "synflow", "ntk"):
        assert isinstance(res[name], ProxyError), (name, res[name])
    assert "singular" in str(res["naswot"]) and "constant input Jacobian" in str(res["jacov"])
    assert "score is 0" in str(res["synflow"]) and "NTK is singular" in str(res["ntk"])
    assert res["params"] == pytest.approx(sum(p.numel() for p in net.parameters()) / 1e6)


def test_batch_is_seeded_real_cifar10(data_dir):
    x = cifar10_batch(16, 3, data_dir)
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    assert torch.equal(x, cifar10_batch(16, 3, data_dir)) and not torch.equal(x, cifar10_batch(16, 4, data_dir))
    assert torch.equal(cifar10_batch(8, 3, data_dir), x[:8])
    # normalised: roughly zero mean per channel; pixel 0 recovers the uint8 value
    assert abs(float(x.mean())) < 0.5
    from proxies.batch import CIFAR10_STD, cifar10_indices, load_cifar10_images

    img = load_cifar10_images(data_dir)[cifar10_indices(16, 3, data_dir)[0]]
    assert float(x[0, 0, 0, 0]) * CIFAR10_STD[0] + CIFAR10_MEAN[0] == pytest.approx(img[0, 0, 0] / 255, abs=1e-6)
    with pytest.raises(ValueError, match="exceeds the 932"):
        cifar10_batch(933, 0, data_dir)


def test_scores_agree_with_published_values(data_dir):
    # 12 valid nets, batch 64, real images: rank agreement with NAS-Bench-Suite-Zero (which used
    # other random weights and an augmented batch, so the values differ but the ranking holds)
    from scipy.stats import spearmanr

    zc = load_zc_proxies(data_dir)
    archs = list(np.random.default_rng(1).choice(zc.index.to_numpy(), size=12, replace=False))
    x = cifar10_batch(64, 0, data_dir)
    rows = [compute_proxies(build_network(a, seed=0), x, ["naswot", "jacov", "synflow"], seed=0) for a in archs]
    ours = {k: [r[k] for r in rows] for k in ("naswot", "jacov", "synflow")}
    pub = zc.loc[archs]
    assert spearmanr(ours["naswot"], pub["nwot"]).statistic > 0.9
    assert spearmanr(ours["synflow"], pub["synflow"]).statistic > 0.95
    assert spearmanr(ours["jacov"], pub["jacov"]).statistic > 0.7


def test_batch_stats_norm_equals_training_mode_batchnorm():
    from proxies._forward import BatchStatsNorm2d

    bn = nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 2, 5))
        bn.bias.copy_(torch.linspace(-1, 1, 5))
    x = (synthetic_batch(6, 0, size=4)[:, :3].repeat(1, 2, 1, 1)[:, :5] * 3 + 1).requires_grad_(True)
    g = synthetic_batch(6, 1, size=4)[:, :3].repeat(1, 2, 1, 1)[:, :5]
    ours = BatchStatsNorm2d(bn)(x)
    (gx_ours,) = torch.autograd.grad(ours, x, g)
    ref = copy.deepcopy(bn).train()(x)
    (gx_ref,) = torch.autograd.grad(ref, x, g)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gx_ours, gx_ref, rtol=1e-4, atol=1e-5)
    assert float(bn.running_mean.abs().sum()) == 0.0  # running statistics untouched


# --------------------------------------------------------------------------- NB101 and NB301 (DARTS) networks
NB101_ARCH = "01010-00101-00001-00001-00000|conv3x3,conv1x1,maxpool3x3"
# every DARTS op in both cells; the reduction cell's stride-2 ops include skip (FactorizedReduce), sep and dil
NB301_ARCH = ("[[(0, 3), (1, 4), (0, 5), (1, 6), (0, 0), (2, 2), (2, 3), (3, 1)], "
              "[(0, 2), (1, 5), (0, 6), (1, 3), (0, 1), (2, 4), (1, 2), (3, 0)]]")


def _small_net(space: str, seed: int = 0):
    from proxies.network import network_builder

    return network_builder(space)(NB101_ARCH if space == "nb101" else NB301_ARCH, seed=seed, C=4, N=1)


@pytest.mark.parametrize("space", ["nb101", "nb301"])
def test_ntk_matrix_of_nb101_and_darts_networks_matches_per_sample_backward_passes(space):
    # DARTS: depthwise 3x3 / 5x5 convs, dilated ones, stride-2 ones, non-affine BatchNorms, and
    # TE-NAS's last BatchNorm + ReLU before the pooling (without it every cell's output, which ends in
    # BatchNorm, has zero mean per sample over (H, W): the pooling averages it away and Θ is 0)
    from proxies._stateless import swapped_modules
    from proxies.ntk import _last_activation

    net = _small_net(space)
    x = synthetic_batch(4, 1)
    values = kaiming_normal_tensors(net, torch.Generator().manual_seed(4))
    fresh = copy.deepcopy(net)
    with torch.no_grad():
        for name, p in fresh.named_parameters():
            p.copy_(values[name])
    if space == "nb301":
        c = fresh.classifier.in_features
        fresh.global_pooling = nn.Sequential(nn.BatchNorm2d(c, affine=False), nn.ReLU(), fresh.global_pooling)
        with swapped_modules(net, _last_activation):
            theta = ntk_matrix(net, x, values)
        bare = ntk_matrix(net, x, values)  # no last activation: Θ = 0 up to rounding
        assert float(bare.abs().max()) < 1e-6 * float(theta.abs().max())
    else:
        theta = ntk_matrix(net, x, values)
    ref = _ntk_reference(fresh, x)
    torch.testing.assert_close(theta, ref, rtol=2e-5, atol=1e-6 * float(ref.abs().max()))
    assert math.isfinite(condition_number(theta))


@pytest.mark.parametrize("space", ["nb101", "nb301"])
def test_every_registered_proxy_runs_on_nb101_and_nb301(space):
    net = _small_net(space)
    x = synthetic_batch(8, 0)
    res = compute_proxies(net, x, available(), seed=0, labels=torch.arange(8) % 10)
    assert set(res) == set(available())
    bad = {k: v for k, v in res.items() if not (isinstance(v, float) and math.isfinite(v))}
    assert not bad, bad
