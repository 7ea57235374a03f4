"""The NAS-Bench-201 network ("TinyNetwork"), exactly as DESIGN §2 describes it.

Layout (C = 16, N = 5 by default)::

    stem: Conv3x3(3 -> C, no bias) + BN
    N cells (C)  -> ResNet reduction block (C -> 2C, stride 2)
    N cells (2C) -> ResNet reduction block (2C -> 4C, stride 2)
    N cells (4C) -> BN + ReLU -> global average pooling -> Linear(4C -> classes)

A cell is a DAG on nodes 0..3; node ``j`` is the sum of ``op(node_i)`` over its input edges
``i -> j``. Operations: ``none`` (no contribution), ``skip_connect`` (identity),
``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU -> Conv(no bias) -> BN), ``avg_pool_3x3``
(stride 1, padding 1, ``count_include_pad=False``). A node whose every input edge is
``none`` holds zeros, and the operations reading it still run (as in the reference
implementations, whose "zero" operation outputs zeros): a proxy that looks at ReLU inputs
sees them. The reduction block is ``ReLUConvBN(3x3, stride 2) -> ReLUConvBN(3x3)`` plus the
shortcut ``AvgPool2d(2, 2) -> Conv1x1(no bias)``. BatchNorm layers are affine with running
statistics (PyTorch defaults).

Parameters are initialised explicitly from a :class:`torch.Generator`, never from the global
random generator: :func:`build_network` builds the modules on the ``meta`` device (which
draws no random numbers) and then fills them with :func:`init_default` (PyTorch's own default
initialisation) or :func:`init_kaiming_normal`.
"""

from __future__ import annotations

import hashlib
import math
from typing import Callable, Sequence

import torch
from torch import nn

from graf.spaces.nb201 import EDGES, NB201Arch

__all__ = [
    "AvgPool3x3",
    "ReLUConvBN",
    "ResNetBasicBlock",
    "Cell",
    "TinyNetwork",
    "build_network",
    "init_default",
    "init_kaiming_normal",
    "init_foresight",
    "initialised",
    "kaiming_normal_tensors",
    "net_seed",
    "network_builder",
    "network_defaults",
    "NETWORK_BUILDERS",
    "NETWORK_DEFAULTS",
]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0, device=None):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False, device=device),
            nn.BatchNorm2d(c_out, device=device),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class ResNetBasicBlock(nn.Module):
    """NB201's residual reduction block (stride 2)."""

    def __init__(self, c_in: int, c_out: int, device=None):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2, padding=1, device=device)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1, padding=1, device=device)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False, device=device),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class _BoxAverage3x3(torch.autograd.Function):
    """3x3 average over the valid positions (stride 1, zero padding 1, ``count_include_pad=False``).

    A separable box sum (two shifted additions per axis) times the reciprocal of the number
    of valid positions; the backward pass is the same box sum of ``grad * reciprocal``. The
    same result as ``F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` up to the order of
    the nine additions, about twice as fast on CPU (forward and backward).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        inv = _inverse_counts(x.shape[-2], x.shape[-1], x.dtype, x.device)
        ctx.save_for_backward(inv)
        return _box_sum(x) * inv

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (inv,) = ctx.saved_tensors
        return _box_sum(grad * inv)


def _box_sum(x: torch.Tensor) -> torch.Tensor:
    s = x.clone()
    s[..., :, 1:] += x[..., :, :-1]
    s[..., :, :-1] += x[..., :, 1:]
    t = s.clone()
    t[..., 1:, :] += s[..., :-1, :]
    t[..., :-1, :] += s[..., 1:, :]
    return t


def _inverse_counts(h: int, w: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    rows = torch.full((h,), 3.0, dtype=torch.float64)
    cols = torch.full((w,), 3.0, dtype=torch.float64)
    rows[0] -= 1
    rows[-1] -= 1
    cols[0] -= 1
    cols[-1] -= 1
    return (1.0 / (rows[:, None] * cols[None, :])).to(dtype=dtype, device=device)


class AvgPool3x3(nn.AvgPool2d):
    """``nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)`` with a faster CPU forward/backward."""

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] < 2 or x.shape[-2] < 2 or x.device.type == "meta":
            return super().forward(x)
        return _BoxAverage3x3.apply(x)


def _make_op(name: str, channels: int, device=None) -> nn.Module | None:
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, padding=0, device=device)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, padding=1, device=device)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"unknown NB201 op {name!r}")  # pragma: no cover - NB201Arch validates ops


class Cell(nn.Module):
    """One NB201 cell with ``channels`` channels in and out."""

    def __init__(self, arch: NB201Arch, channels: int, device=None):
        super().__init__()
        self.arch = arch
        # ModuleDict keys are edge names "i_j"; ``none`` edges have no module.
        self.edges = nn.ModuleDict()
        for (i, j), op in zip(EDGES, arch.ops):
            module = _make_op(op, channels, device)
            if module is not None:
                self.edges[f"{i}_{j}"] = module
        self._inputs: list[list[tuple[int, str]]] = [
            [(i, f"{i}_{j}") for (i, jj) in EDGES if jj == j and f"{i}_{jj}" in self.edges] for j in range(4)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            total = None
            for i, key in self._inputs[j]:
                out = self.edges[key](nodes[i])
                total = out if total is None else total + out
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[3]


class TinyNetwork(nn.Module):
    """The NB201 network of one cell architecture; ``forward`` returns logits."""

    def __init__(
        self,
        arch: NB201Arch | str | Sequence[int],
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        arch = NB201Arch.parse(arch)
        for name, value in (("C", C), ("N", N), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TinyNetwork: {name} must be a positive int, got {value!r}")
        self.arch, self.C, self.N, self.num_classes = arch, C, N, num_classes
        self.stem = nn.Sequential(
            nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False, device=device), nn.BatchNorm2d(C, device=device)
        )
        layers: list[nn.Module] = []
        channels = C
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(channels, 2 * channels, device=device))
                channels *= 2
            layers.extend(Cell(arch, channels, device=device) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels, device=device), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"TinyNetwork expects an input of shape (batch, 3, H, W), got {tuple(x.shape)}")
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))

    def extra_repr(self) -> str:
        return f"arch={self.arch.to_str()!r}, C={self.C}, N={self.N}, num_classes={self.num_classes}"


# --------------------------------------------------------------------------- initialisation
def _fan_in(weight: torch.Tensor) -> int:
    return weight.shape[1] * math.prod(weight.shape[2:])


@torch.no_grad()
def init_default(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default initialisation, drawn from ``generator`` (in module order).

    Conv2d / Linear: weight ~ kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm: weight 1, bias 0, fresh running stats.
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                bound = 1.0 / math.sqrt(_fan_in(m.weight)) if _fan_in(m.weight) > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
    return net


def kaiming_normal_tensors(net: nn.Module, generator: torch.Generator, mode: str = "fan_out") -> dict[str, torch.Tensor]:
    """New parameter values for ``net`` with TE-NAS's initialisation, drawn from ``generator`` in module order.

    Conv2d / Linear weights ~ kaiming_normal(mode, nonlinearity="relu"), their biases 0;
    BatchNorm weight 1, bias 0. Returns name -> tensor for every parameter (the net is not changed).
    """
    out: dict[str, torch.Tensor] = {}
    for prefix, m in net.named_modules():
        dot = f"{prefix}." if prefix else ""
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = torch.empty_like(m.weight, requires_grad=False)
            nn.init.kaiming_normal_(w, mode=mode, nonlinearity="relu", generator=generator)
            out[dot + "weight"] = w
            if m.bias is not None:
                out[dot + "bias"] = torch.zeros_like(m.bias, requires_grad=False)
        elif isinstance(m, nn.modules.batchnorm._NormBase) and m.affine:
            out[dot + "weight"] = torch.ones_like(m.weight, requires_grad=False)
            out[dot + "bias"] = torch.zeros_like(m.bias, requires_grad=False)
    missing = [k for k, _ in net.named_parameters() if k not in out]
    if missing:
        raise ValueError(f"kaiming_normal init does not know how to initialise {', '.join(missing[:5])}")
    return out


@torch.no_grad()
def init_kaiming_normal(net: nn.Module, generator: torch.Generator, mode: str = "fan_out") -> nn.Module:
    """TE-NAS's initialisation in place (see :func:`kaiming_normal_tensors`); BN running stats reset."""
    values = kaiming_normal_tensors(net, generator, mode)
    for name, p in net.named_parameters():
        p.copy_(values[name])
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    return net


@torch.no_grad()
def init_foresight(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """The initialisation of the NB101 network that foresight and NASLib (hence NAS-Bench-Suite-Zero's
    NB101 values) build, drawn from ``generator`` in module order.

    Conv2d weight ~ N(0, 2 / (k_h k_w C_out)) (Kaiming normal, fan_out, ReLU gain), Linear weight
    ~ N(0, 0.01²), every bias 0; BatchNorm weight 1, bias 0, fresh running stats.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
        elif isinstance(m, nn.Linear):
            m.weight.normal_(0.0, 0.01, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            m.bias.zero_()
    return net


#: name -> initialisation, for :func:`initialised`
INITS = {"default": init_default, "kaiming_normal": init_kaiming_normal, "foresight": init_foresight}


def _uninitialised_on_cpu(net: nn.Module) -> nn.Module:
    """Every parameter and buffer of a ``meta``-device ``net`` replaced by an uninitialised CPU tensor.

    What ``net.to_empty(device="cpu")`` does, without its ``empty_like`` on meta tensors, whose
    first call imports ``torch.fx.experimental.symbolic_shapes`` (and sympy): 0.5 s per process.
    """
    for m in net.modules():
        for name, p in list(m.named_parameters(recurse=False)):
            m.register_parameter(name, nn.Parameter(torch.empty(p.shape, dtype=p.dtype), requires_grad=p.requires_grad))
        for name, b in list(m.named_buffers(recurse=False)):
            m.register_buffer(name, torch.empty(b.shape, dtype=b.dtype))
    return net


def net_seed(seed: int, arch: NB201Arch | str, salt: str = "") -> int:
    """A 63-bit seed that depends only on (``seed``, canonical ``arch``, ``salt``), stable across runs.

    ``arch`` is an architecture object of any space (its ``str`` is canonical) or an NB201 encoding.
    """
    # exact types: an architecture that is a tuple subclass (nb101's NB101Arch) is an object, not an encoding
    canonical = NB201Arch.parse(arch).to_str() if type(arch) in (str, tuple, list) else str(arch)
    text = f"{int(seed)}|{canonical}|{salt}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


#: space name -> network builder ``(arch, *, seed, C, N, num_classes, init) -> nn.Module``.
NETWORK_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
#: space name -> the builder's ``C`` and ``N`` for the benchmark's own network (what ``C=None`` / ``N=None`` mean)
NETWORK_DEFAULTS: dict[str, dict[str, int]] = {"nb201": {"C": 16, "N": 5}}


def network_defaults(space: str) -> dict[str, int]:
    """``{"C": ..., "N": ...}`` of the benchmark network of ``space`` (a name or a Space)."""
    name = getattr(space, "name", space)
    network_builder(name)
    return dict(NETWORK_DEFAULTS[name])


def network_builder(space: str) -> Callable[..., nn.Module]:
    """The network builder of ``space`` (a name or a Space), or one clear error."""
    name = getattr(space, "name", space)
    try:
        return NETWORK_BUILDERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"no network is registered for space {name!r}, so its proxies cannot be computed; "
            f"spaces with a network: {', '.join(sorted(NETWORK_BUILDERS))}"
        ) from None


def build_network(
    arch: NB201Arch | str | Sequence[int],
    *,
    seed: int,
    C: int = 16,
    N: int = 5,
    num_classes: int = 10,
    init: str = "default",
) -> TinyNetwork:
    """A freshly initialised :class:`TinyNetwork` whose weights depend only on (``seed``, ``arch``).

    ``init`` is ``"default"`` (PyTorch's default) or ``"kaiming_normal"`` (TE-NAS, fan_out).
    The global random generator is neither read nor advanced.
    """
    arch = NB201Arch.parse(arch)
    return initialised(TinyNetwork(arch, C=C, N=N, num_classes=num_classes, device="meta"), seed, arch, init)


def initialised(meta_net: nn.Module, seed: int, arch, init: str = "default") -> nn.Module:
    """``meta_net`` (built on the ``meta`` device) on the CPU with weights drawn from a generator
    seeded by (``seed``, ``arch``, ``init``): ``init`` is ``"default"`` (PyTorch's default),
    ``"kaiming_normal"`` (TE-NAS, fan_out) or ``"foresight"`` (:func:`init_foresight`). The global
    random generator is neither read nor advanced."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(map(repr, INITS))}")
    net = _uninitialised_on_cpu(meta_net)
    generator = torch.Generator().manual_seed(net_seed(seed, arch, init))
    return INITS[init](net, generator)


NETWORK_BUILDERS["nb201"] = build_network

from proxies.darts_network import build_darts_network  # noqa: E402  (imports this module's helpers)

NETWORK_BUILDERS["nb301"] = build_darts_network
NETWORK_DEFAULTS["nb301"] = {"C": 32, "N": 2}  # NASLib's NB301 model: channels 32/64/128, 8 cells

from proxies.nb101_network import build_nb101_network  # noqa: E402  (imports this module's helpers)

NETWORK_BUILDERS["nb101"] = build_nb101_network
NETWORK_DEFAULTS["nb101"] = {"C": 128, "N": 3}  # NB101's model: stem 128 channels, 3 stacks of 3 cells
