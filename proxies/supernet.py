"""The NB201 supernet of TE-NAS: every operation on every edge, with a per-edge operation mask.

A search cell holds, on each of the 6 edges ``i -> j``, one module per operation of
:data:`SUPERNET_OPS` (NB201's ops without ``none``: TE-NAS removes ``none`` before its first
round). Which operations are active is a *mask*: one tuple of operation names per edge, in
:data:`graf.spaces.nb201.EDGES` order. An edge's output is the mean of its active operations
(TE-NAS weights each by the softmax of its architecture parameters, which are 0 for active
and -1000 for pruned operations, i.e. ``1 / k`` for ``k`` active ones; pruned operations are
not run). A node is the sum of its incoming edges, as in NB201.

Two networks are built from these cells, as TE-NAS's NB201 configurations:

* :func:`build_supernet` (for the NTK): stem Conv3x3(3 -> C, no bias) + BN, then three stages
  of N search cells (C, 2C, 4C) with NB201's residual reduction blocks between them, BN +
  ReLU, global average pooling, Linear(4C -> classes). TE-NAS uses C = 3, N = 1. ``depth``
  keeps the first ``depth`` layers (search cells and reduction blocks) only, as TE-NAS's
  ``depth`` option (a quick test uses 1).
* :func:`build_thin_supernet` (for the linear regions): one search cell with 1 channel, no
  stem, then BN + ReLU (TE-NAS's ``C=1, N=1, depth=1, use_stem=False``).

The mask is set with :func:`active_ops`, a context manager that restores the previous mask on
exit; outside it every operation is active. The modules are built on the ``meta`` device and
initialised from a :class:`torch.Generator` (:func:`proxies.network.init_default`), never from
the global random generator.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
from torch import nn

from graf.spaces.nb201 import EDGES, OPS
from proxies._checks import check_positive_ints
from proxies.network import ResNetBasicBlock, _make_op, _uninitialised_on_cpu, init_default

__all__ = ["SUPERNET_OPS", "Mask", "full_mask", "check_mask", "SearchCell", "SuperNet", "build_supernet",
           "build_thin_supernet", "active_ops"]

#: The operations of the supernet's edges: NB201's without ``none``.
SUPERNET_OPS: tuple[str, ...] = tuple(op for op in OPS if op != "none")

#: One tuple of active operation names per edge, in ``EDGES`` order.
Mask = tuple[tuple[str, ...], ...]


def full_mask() -> Mask:
    """Every operation active on every edge."""
    return tuple(SUPERNET_OPS for _ in EDGES)


def check_mask(mask: Sequence[Sequence[str]]) -> Mask:
    """``mask`` as a :data:`Mask` (ops in :data:`SUPERNET_OPS` order); ValueError unless it has one
    non-empty set of known operations per edge."""
    if len(mask) != len(EDGES):
        raise ValueError(f"a supernet mask needs one set of operations per edge ({len(EDGES)}), got {len(mask)}")
    out = []
    for (i, j), ops in zip(EDGES, mask):
        ops = set(ops)
        unknown = ops - set(SUPERNET_OPS)
        if unknown:
            raise ValueError(f"edge {i}->{j}: unknown supernet operation(s) {sorted(unknown)}; "
                             f"available: {', '.join(SUPERNET_OPS)}")
        if not ops:
            raise ValueError(f"edge {i}->{j}: a supernet mask keeps at least one operation per edge")
        out.append(tuple(op for op in SUPERNET_OPS if op in ops))
    return tuple(out)


class SearchCell(nn.Module):
    """An NB201 cell with every operation of :data:`SUPERNET_OPS` on each edge; runs the active ones."""

    def __init__(self, channels: int, device=None) -> None:
        super().__init__()
        self.edges = nn.ModuleDict(
            {f"{i}_{j}": nn.ModuleDict({op: _make_op(op, channels, device) for op in SUPERNET_OPS}) for i, j in EDGES}
        )
        self.mask: Mask = full_mask()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            total = None
            for (i, jj), ops in zip(EDGES, self.mask):
                if jj != j:
                    continue
                edge = self.edges[f"{i}_{j}"]
                out = edge[ops[0]](nodes[i])
                for op in ops[1:]:
                    out = out + edge[op](nodes[i])
                out = out * (1.0 / len(ops)) if len(ops) > 1 else out
                total = out if total is None else total + out
            nodes.append(total)
        return nodes[3]


class SuperNet(nn.Module):
    """TE-NAS's NB201 supernet (stem, 3 stages of ``N`` search cells, reductions, classifier)."""

    def __init__(self, C: int = 3, N: int = 1, num_classes: int = 10, depth: int | None = None, device=None) -> None:
        super().__init__()
        check_positive_ints((("C", C), ("N", N), ("num_classes", num_classes), ("depth", 1 if depth is None else depth)),
                            "SuperNet")
        self.C, self.N, self.num_classes, self.depth = C, N, num_classes, depth
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False, device=device), nn.BatchNorm2d(C, device=device))
        # (channels, is a reduction block) of each layer; with ``depth`` the first ``depth`` only, as TE-NAS's
        plan = [(C, False)] * N + [(2 * C, True)] + [(2 * C, False)] * N + [(4 * C, True)] + [(4 * C, False)] * N
        layers: list[nn.Module] = []
        channels = C
        for c, reduction in plan[:depth]:
            layers.append(ResNetBasicBlock(channels, c, device=device) if reduction else SearchCell(c, device=device))
            channels = c
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels, device=device), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))


def build_supernet(*, C: int = 3, N: int = 1, num_classes: int = 10, depth: int | None = None,
                   generator: torch.Generator) -> SuperNet:
    """The supernet on the CPU, PyTorch's default initialisation drawn from ``generator``."""
    return init_default(_uninitialised_on_cpu(SuperNet(C, N, num_classes, depth, device="meta")), generator)


def build_thin_supernet(*, generator: torch.Generator) -> nn.Module:
    """TE-NAS's thin supernet for the linear regions: one 1-channel search cell, BN + ReLU."""
    net = nn.Sequential(SearchCell(1, device="meta"), nn.BatchNorm2d(1, device="meta"), nn.ReLU(inplace=False))
    return init_default(_uninitialised_on_cpu(net), generator)


@contextmanager
def active_ops(net: nn.Module, mask: Sequence[Sequence[str]]) -> Iterator[nn.Module]:
    """Inside the block, every search cell of ``net`` runs only the operations of ``mask``."""
    mask = check_mask(mask)
    cells = [m for m in net.modules() if isinstance(m, SearchCell)]
    saved = [c.mask for c in cells]
    try:
        for c in cells:
            c.mask = mask
        yield net
    finally:
        for c, m in zip(cells, saved):
            c.mask = m
