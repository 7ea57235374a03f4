"""The NAS-Bench-101 network, as the benchmark (and NASLib's PyTorch port) builds it.

Layout (C = 128, N = 3 by default)::

    stem: Conv3x3(3 -> C, no bias) + BN + ReLU
    N cells (C) -> MaxPool 2x2 stride 2 -> N cells (2C) -> MaxPool -> N cells (4C)
    global average pooling (a mean over H, W) -> Linear(4C -> classes)

The first cell of a stack takes the previous stack's channels and outputs the stack's. A cell
(pruned spec: adjacency ``m`` on nodes 0..V-1, input 0, output V-1):

* **vertex channels** (NB101's ``compute_vertex_channels``): the output's channels are split
  among the interior nodes that feed it, ``C // k`` each and one more for the first
  ``C % k`` of them in node order; every other interior node gets the largest channel count of
  the interior nodes it feeds;
* an interior node sums its inputs: the input node through a 1x1 projection
  (Conv1x1-BN-ReLU to the node's channels), interior nodes truncated to the node's channels
  (their first channels), and applies its op at its channel count: ``conv3x3-bn-relu`` /
  ``conv1x1-bn-relu`` (Conv, no bias, BN, ReLU) or ``maxpool3x3`` (stride 1, padding 1);
* the output concatenates the interior nodes that feed it and adds a projection of the input
  when the input feeds it (with no interior node feeding it, the output is that projection).

Because of the channel split the parameter count depends on the node order when ``C % k != 0``
(as in NB101 and NASLib, which build the spec in the order given): :class:`NB101Network`
takes a spec in any node order; :func:`build_nb101_network` builds the canonical cell's order.
BatchNorm layers are affine with running statistics; weights come from a seeded generator.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from graf.spaces.nb101 import OPS, NB101Arch
from proxies.network import _uninitialised_on_cpu, initialised

__all__ = ["ConvBnRelu", "GlobalAvgPool", "NB101Cell", "NB101Network", "vertex_channels", "build_nb101_network", "thin_nb101_network"]


class ConvBnRelu(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, padding: int = 0, device=None):
        super().__init__()
        self.op = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size, padding=padding, bias=False, device=device),
            nn.BatchNorm2d(c_out, device=device),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class GlobalAvgPool(nn.Module):
    """The global average pooling of NB101's network: ``x.mean((2, 3))``, (B, C, H, W) -> (B, C).

    A module of its own (zen reads its input: ``GLOBAL_POOLING``), not ``nn.AdaptiveAvgPool2d``:
    NB101's (and NASLib's) network takes a plain mean, which the FLOPs rules do not count.
    """

    GLOBAL_POOLING = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every node of a pruned spec (NB101's rule, see the module docstring)."""
    m = np.asarray(matrix, dtype=bool)
    v_count = len(m)
    channels = [0] * v_count
    channels[0], channels[-1] = c_in, c_out
    if v_count == 2:
        return channels
    feeders = [v for v in range(1, v_count - 1) if m[v, -1]]
    base, extra = divmod(c_out, len(feeders))
    for i, v in enumerate(feeders):
        channels[v] = base + (1 if i < extra else 0)
    for v in range(v_count - 3, 0, -1):
        if not m[v, -1]:
            channels[v] = max(channels[w] for w in range(v + 1, v_count - 1) if m[v, w])
    return channels


def _vertex_op(op: str, channels: int, device=None) -> nn.Module:
    if op == "conv3x3-bn-relu":
        return ConvBnRelu(channels, channels, 3, padding=1, device=device)
    if op == "conv1x1-bn-relu":
        return ConvBnRelu(channels, channels, 1, device=device)
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 op {op!r}")  # pragma: no cover - specs are validated


class NB101Cell(nn.Module):
    """One NB101 cell of a pruned spec (``matrix`` upper-triangular, ``ops`` interior op names)."""

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], c_in: int, c_out: int, device=None):
        super().__init__()
        self.matrix = np.asarray(matrix, dtype=bool)
        v_count = len(self.matrix)
        self.channels = vertex_channels(c_in, c_out, self.matrix)
        self.vertex_ops = nn.ModuleList(
            [_vertex_op(op, self.channels[v], device) for v, op in enumerate(ops, start=1)]
        )
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(c_in, self.channels[t], 1, device=device) for t in range(1, v_count) if self.matrix[0, t]}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, v_count = self.matrix, len(self.matrix)
        tensors = [x]
        for t in range(1, v_count - 1):
            c = self.channels[t]
            fan_in = [tensors[s][:, :c] for s in range(1, t) if m[s, t]]
            if m[0, t]:
                fan_in.append(self.projections[str(t)](x))
            total = fan_in[0]
            for extra in fan_in[1:]:
                total = total + extra
            tensors.append(self.vertex_ops[t - 1](total))
        feeders = [tensors[t] for t in range(1, v_count - 1) if m[t, -1]]
        if not feeders:
            return self.projections[str(v_count - 1)](x)
        out = feeders[0] if len(feeders) == 1 else torch.cat(feeders, dim=1)
        if m[0, -1]:
            out = out + self.projections[str(v_count - 1)](x)
        return out


class NB101Network(nn.Module):
    """The NB101 network of one spec; ``forward`` returns logits.

    ``spec`` is an :class:`~graf.spaces.nb101.NB101Arch` (anything it parses: built in the
    canonical node order) or a pair ``(matrix, ops)`` of a pruned spec in its own node order
    (``ops`` the interior op names).
    """

    def __init__(self, spec: Any, C: int = 128, N: int = 3, num_classes: int = 10, device=None):
        super().__init__()
        for name, value in (("C", C), ("N", N), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NB101Network: {name} must be a positive int, got {value!r}")
        if isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec, NB101Arch):
            matrix, ops = np.asarray(spec[0], dtype=bool), list(spec[1])
            self.arch = NB101Arch.from_spec(matrix, [OPS.index(o) for o in ops])
        else:
            self.arch = NB101Arch.parse(spec)
            matrix, ops = self.arch.matrix.astype(bool), list(self.arch.ops[1:-1])
        self.C, self.N, self.num_classes = C, N, num_classes
        self.stem = ConvBnRelu(3, C, 3, padding=1, device=device)
        layers: list[nn.Module] = []
        c_in = c_out = C
        for stack in range(3):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(N):
                layers.append(NB101Cell(matrix, ops, c_in, c_out, device=device))
                c_in = c_out
        self.cells = nn.Sequential(*layers)
        self.global_pooling = GlobalAvgPool()
        self.classifier = nn.Linear(c_out, num_classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"NB101Network expects an input of shape (batch, 3, H, W), got {tuple(x.shape)}")
        out = self.cells(self.stem(x))
        return self.classifier(self.global_pooling(out))

    def extra_repr(self) -> str:
        return f"arch={str(self.arch)!r}, C={self.C}, N={self.N}, num_classes={self.num_classes}"


def build_nb101_network(
    arch: Any, *, seed: int, C: int = 128, N: int = 3, num_classes: int = 10, init: str = "foresight"
) -> NB101Network:
    """A freshly initialised :class:`NB101Network` whose weights depend only on (``seed``, ``arch``).

    ``arch`` as :class:`NB101Network` takes it. ``init`` is ``"foresight"`` (the default: the
    initialisation of the NB101 model NAS-Bench-Suite-Zero computed its proxies on, see
    :func:`proxies.network.init_foresight`), ``"default"`` (PyTorch's) or ``"kaiming_normal"``; the
    global random generator is neither read nor advanced.
    """
    net = NB101Network(arch, C=C, N=N, num_classes=num_classes, device="meta")
    return initialised(net, seed, net.arch, init)


def thin_nb101_network(arch: Any) -> nn.Module:
    """The TE-NAS-style thin network of an NB101 cell (for linear_regions), uninitialised.

    One cell of the canonical spec on a 1-channel input, no stem, every node at 1 channel: the
    output has one channel per interior node that feeds it (at least 1), so the channel split
    gives each of them 1 and every other interior node 1; then BatchNorm2d + ReLU over the
    output's channels (TE-NAS's thin NB201 network: one cell, C = 1, BN + ReLU).
    """
    arch = NB101Arch.parse(arch)
    matrix, ops = arch.matrix.astype(bool), list(arch.ops[1:-1])
    c_out = max(1, int(matrix[1:-1, -1].sum()))
    net = nn.Sequential(NB101Cell(matrix, ops, 1, c_out, device="meta"), nn.BatchNorm2d(c_out, device="meta"),
                        nn.ReLU(inplace=False))
    net.arch = arch
    return _uninitialised_on_cpu(net)
