"""The NB301 / DARTS network as NAS-Bench-Suite-Zero built it (NASLib's ``NasBench301SearchSpace``).

Layout (C = 32, N = 2 by default; NASLib's channels 32 / 64 / 128 and 8 cells)::

    stem: Conv3x3(3 -> 3C, no bias) + BN
    N normal cells (C) -> reduction cell (2C) -> N normal cells (2C) -> reduction cell (4C)
    -> N normal cells (4C) -> global average pooling -> Linear(4 * 4C -> classes)

A cell reads the outputs of the two previous cells (the stem counts for both before the
first cell), each through a preprocessing ``ReLU -> Conv1x1 -> BN`` to the cell's C, or a
``FactorizedReduce`` when the cell two back has twice the resolution (the cell after a
reduction). Intermediate node ``k`` sums its two ops; the output concatenates the four
intermediate nodes (4C channels). In a reduction cell the ops on the two input nodes have
stride 2 (``skip_connect`` is then a ``FactorizedReduce``). Ops, as NASLib's primitives:
pools are ``MaxPool2d`` / ``AvgPool2d(count_include_pad=False)`` (3x3, padding 1) followed by
a non-affine BatchNorm; ``sep_conv_kxk`` is (ReLU, depthwise kxk, 1x1, BN) twice;
``dil_conv_kxk`` is ReLU, depthwise kxk with dilation 2, 1x1, BN; every BatchNorm inside a
cell is non-affine, the stem's and the preprocessing ones are affine. No auxiliary head (NASLib
adds it only in ``prepare_evaluation``, which the zero-cost benchmark does not call) and no
drop path. The parameter count equals the ``params`` of every net of ``zc_nasbench301.json``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from graf.spaces.nb301 import CELLS, NUM_NODES, OPS, NB301Arch
from proxies._checks import check_positive_ints
from proxies.network import _uninitialised_on_cpu, initialised

__all__ = ["DartsNetwork", "DilConv", "FactorizedReduce", "SepConv", "build_darts_network", "thin_darts_network"]


class FactorizedReduce(nn.Module):
    """ReLU, two 1x1 stride-2 convolutions (the second on the input shifted by one pixel), concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True, device=None):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False, device=device)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False, device=device)
        self.bn = nn.BatchNorm2d(c_out, affine=affine, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def _relu_conv_bn(c_in: int, c_out: int, device=None) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False, device=device),
        nn.BatchNorm2d(c_out, device=device),
    )


class SepConv(nn.Sequential):
    """DARTS's separable convolution: (ReLU, depthwise kxk, pointwise 1x1, BN) twice, the first with ``stride``."""

    def __init__(self, c: int, kernel_size: int, stride: int, device=None):
        pad = kernel_size // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel_size, stride=stride, padding=pad, groups=c, bias=False, device=device),
            nn.Conv2d(c, c, 1, padding=0, bias=False, device=device),
            nn.BatchNorm2d(c, affine=False, device=device),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel_size, stride=1, padding=pad, groups=c, bias=False, device=device),
            nn.Conv2d(c, c, 1, padding=0, bias=False, device=device),
            nn.BatchNorm2d(c, affine=False, device=device),
        )


class DilConv(nn.Sequential):
    """DARTS's dilated separable convolution: ReLU, depthwise kxk (dilation 2), pointwise 1x1, BN."""

    def __init__(self, c: int, kernel_size: int, stride: int, device=None):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel_size, stride=stride, padding=kernel_size - 1, dilation=2, groups=c, bias=False,
                      device=device),
            nn.Conv2d(c, c, 1, padding=0, bias=False, device=device),
            nn.BatchNorm2d(c, affine=False, device=device),
        )


def _make_op(name: str, c: int, stride: int, device=None) -> nn.Module:
    if name == "max_pool_3x3":
        return nn.Sequential(nn.MaxPool2d(3, stride=stride, padding=1), nn.BatchNorm2d(c, affine=False, device=device))
    if name == "avg_pool_3x3":
        return nn.Sequential(
            nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False), nn.BatchNorm2d(c, affine=False, device=device)
        )
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine=False, device=device)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        return SepConv(c, int(name[-1]), stride, device=device)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return DilConv(c, int(name[-1]), stride, device=device)
    raise ValueError(f"unknown DARTS op {name!r}")  # pragma: no cover - NB301Arch validates ops


class DartsCell(nn.Module):
    """One DARTS cell: preprocessing of the two inputs, four intermediate nodes, concatenation."""

    def __init__(self, pairs, c_prev_prev: int, c_prev: int, c: int, *, reduction: bool, reduction_prev: bool,
                 device=None):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c, device=device) if reduction_prev
                            else _relu_conv_bn(c_prev_prev, c, device=device))
        self.preprocess1 = _relu_conv_bn(c_prev, c, device=device)
        self.inputs = [int(i) for i, _ in pairs]
        self.ops = nn.ModuleList(
            _make_op(OPS[op], c, 2 if reduction and inp < 2 else 1, device=device) for inp, op in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(NUM_NODES):
            a, b = 2 * k, 2 * k + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat(states[2:], dim=1)


class DartsNetwork(nn.Module):
    """The NB301 network of one genotype; ``forward`` returns logits."""

    def __init__(self, arch: Any, C: int = 32, N: int = 2, num_classes: int = 10, device=None):
        super().__init__()
        arch = NB301Arch.parse(arch)
        check_positive_ints((("C", C), ("N", N), ("num_classes", num_classes)), "DartsNetwork")
        if C % 2:
            raise ValueError(f"DartsNetwork: C must be even (FactorizedReduce halves it), got {C}")
        self.arch, self.C, self.N, self.num_classes = arch, C, N, num_classes
        stem = 3 * C
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, padding=1, bias=False, device=device), nn.BatchNorm2d(stem, device=device)
        )
        c_pp, c_p, c = stem, stem, C
        cells = []
        reduction_prev = False
        for stage in range(3):
            if stage:
                c *= 2
                cells.append(DartsCell(arch.cell(CELLS[1]), c_pp, c_p, c, reduction=True, reduction_prev=reduction_prev,
                                       device=device))
                c_pp, c_p, reduction_prev = c_p, NUM_NODES * c, True
            for _ in range(N):
                cells.append(DartsCell(arch.cell(CELLS[0]), c_pp, c_p, c, reduction=False, reduction_prev=reduction_prev,
                                       device=device))
                c_pp, c_p, reduction_prev = c_p, NUM_NODES * c, False
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"DartsNetwork expects an input of shape (batch, 3, H, W), got {tuple(x.shape)}")
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def extra_repr(self) -> str:
        return f"arch={str(self.arch)!r}, C={self.C}, N={self.N}, num_classes={self.num_classes}"


def build_darts_network(
    arch: Any, *, seed: int, C: int = 32, N: int = 2, num_classes: int = 10, init: str = "default"
) -> DartsNetwork:
    """A freshly initialised :class:`DartsNetwork` whose weights depend only on (``seed``, ``arch``).

    ``init`` is ``"default"`` (PyTorch's default) or ``"kaiming_normal"``; the global random
    generator is neither read nor advanced.
    """
    arch = NB301Arch.parse(arch)
    return initialised(DartsNetwork(arch, C=C, N=N, num_classes=num_classes, device="meta"), seed, arch, init)


class _ThinDarts(nn.Module):
    """One normal cell reading the input as both of its inputs, then BatchNorm2d + ReLU."""

    def __init__(self, arch: NB301Arch, device=None):
        super().__init__()
        self.arch = arch
        self.cell = DartsCell(arch.cell(CELLS[0]), 1, 1, 1, reduction=False, reduction_prev=False, device=device)
        self.bn = nn.BatchNorm2d(NUM_NODES, device=device)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.cell(x, x)))


def thin_darts_network(arch: Any) -> nn.Module:
    """The TE-NAS-style thin network of a genotype (for linear_regions), uninitialised.

    TE-NAS's thin DARTS network (``C=1, N=1, depth=1, use_stem=False``) keeps only the first
    cell: here the normal cell at C = 1 on a 1-channel input, which is both of the cell's
    inputs (no stem: each through its ReLU-Conv1x1-BN preprocessing, 1 -> 1), the four
    intermediate nodes at 1 channel, their concatenation (4 channels), then BatchNorm2d + ReLU.
    The reduction cell does not enter it.
    """
    return _uninitialised_on_cpu(_ThinDarts(NB301Arch.parse(arch), device="meta"))
