"""TE-NAS's training-free pruning search on NB201 (Chen, Gong, Wang, ICLR 2021, Algorithm 1).

Start from the supernet with every operation but ``none`` on every edge
(:mod:`proxies.supernet`). Each round, for every edge that still has more than one operation
and every operation ``o`` on it, the candidate is the supernet without ``o``; for each of
``repeats`` draws (fresh weights, a fresh NTK batch, fresh crops):

* ``Δκ = (κ(supernet) − κ(candidate)) / κ(supernet)``, κ the NTK condition number of the
  :func:`~proxies.supernet.build_supernet` network (C = 3, N = 1) on ``ntk_batch`` = 72 images;
* ``ΔR = (R(supernet) − R(candidate)) / R(supernet)``, R the number of linear regions of the
  thin supernet (one 1-channel cell, BN + ReLU) over 3 batches of 1000 random 3 x 3 crops
  (:func:`proxies.linear_regions.count_regions`);

each rounded to ``precision`` = 3 decimals and averaged over the draws. Removing an operation
that lowers κ (a large Δκ) or barely lowers R (a small ΔR) does little harm, so candidates
are ranked by Δκ descending and by ΔR ascending (dense ranks: equal values share a rank), and
on every edge the operation with the smallest sum of its two ranks is pruned (ties: the
larger Δκ, then the operation order). Rounds go on until one operation is left on each edge
(3 rounds on NB201: 24, 18 and 12 candidates).

Randomness: every draw's weights, batch and crops come from generators seeded with a hash of
(``seed``, round, draw); within a round all candidates and the supernet share the draw's
weights and inputs (common random numbers: the comparison of two candidates is not blurred
by different weights). Same seed, same pruning; the global random generators are neither
read nor advanced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from graf.spaces.nb201 import EDGES, NB201Arch
from proxies._checks import check_positive_ints
from proxies._stateless import training_mode
from proxies.linear_regions import count_regions, crop_inputs
from proxies.network import init_default, init_kaiming_normal, kaiming_normal_tensors
from proxies.ntk import condition_number, ntk_matrix
from proxies.supernet import Mask, active_ops, build_supernet, build_thin_supernet, full_mask

__all__ = ["TenasConfig", "TenasResult", "Candidate", "tenas_prune", "prune_choices", "DATASET_CLASSES", "NTK_METHODS", "INITS"]

#: dataset -> classes of the supernet's classifier (the images are CIFAR-10's for every dataset)
DATASET_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
#: ``batch``: TE-NAS's NTK (BatchNorm statistics over the whole batch, one backward pass per
#: sample); ``sample``: :func:`proxies.ntk.ntk_matrix` (each sample its own BatchNorm batch)
NTK_METHODS = ("batch", "sample")
#: ``default``: PyTorch's default initialisation for both networks (what TE-NAS's released code
#: runs); ``kaiming_normal``: NTK weights Kaiming normal fan_out, thin-net weights fan_in (what
#: its launch script asks for)
INITS = ("default", "kaiming_normal")


@dataclass(frozen=True)
class TenasConfig:
    """TE-NAS's NB201 settings (its ``prune_launch.py``, with the initialisation its code runs),
    except ``ntk_method`` (``batch`` is TE-NAS's NTK, about 25 times slower here); smaller values
    make a quick test."""

    channels: int = 3  # supernet C
    cells: int = 1  # supernet N (cells per stage)
    depth: int | None = None  # the supernet's first ``depth`` layers only (None: all)
    ntk_batch: int = 72
    repeats: int = 3
    lr_batches: int = 3
    lr_batch_size: int = 1000
    lr_patch: int = 3
    precision: int = 3
    ntk_method: str = "sample"
    init: str = "default"

    def __post_init__(self) -> None:
        check_positive_ints(((n, getattr(self, n)) for n in ("channels", "cells", "ntk_batch", "repeats", "lr_batches",
                                                             "lr_batch_size", "lr_patch")), "TE-NAS")
        if self.depth is not None and (isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1):
            raise ValueError(f"TE-NAS: depth must be a positive int or None, got {self.depth!r}")
        if self.ntk_batch < 2:
            raise ValueError(f"TE-NAS: ntk_batch must be >= 2, got {self.ntk_batch}")
        if isinstance(self.precision, bool) or not isinstance(self.precision, int) or self.precision < 0:
            raise ValueError(f"TE-NAS: precision must be an int >= 0, got {self.precision!r}")
        if self.ntk_method not in NTK_METHODS:
            raise ValueError(f"TE-NAS: unknown ntk_method {self.ntk_method!r}; available: {', '.join(NTK_METHODS)}")
        if self.init not in INITS:
            raise ValueError(f"TE-NAS: unknown init {self.init!r}; available: {', '.join(INITS)}")


@dataclass(frozen=True)
class Candidate:
    """One operation considered for pruning in one round, with its measured changes and ranks."""

    round: int
    edge: int  # index into EDGES
    op: str
    ntk_change: float  # mean Δκ (higher: prune first)
    lr_change: float  # mean ΔR (lower: prune first)
    ntk_rank: int
    lr_rank: int
    pruned: bool


@dataclass
class TenasResult:
    arch: NB201Arch
    masks: list[Mask]  # the mask before round 1, after round 1, ..., the last one has one op per edge
    candidates: list[Candidate] = field(default_factory=list)
    pruned_round: dict[tuple[int, str], int] = field(default_factory=dict)  # (edge, op) -> round it was pruned

    def survival(self) -> dict[tuple[int, str], int]:
        """(edge, op) -> how long the op stayed: the round it was pruned in, rounds + 1 for the kept op;
        ``none`` (removed before the first round) 0."""
        last = len(self.masks)
        out = {(e, op): r for (e, op), r in self.pruned_round.items()}
        for e, ops in enumerate(self.masks[-1]):
            for op in ops:
                out[(e, op)] = last
        for e in range(len(EDGES)):
            out[(e, "none")] = 0
        return out


def _sub_seed(seed: int, *parts: object) -> int:
    text = "|".join(str(p) for p in (int(seed), "tenas", *parts)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


# --------------------------------------------------------------------------- NTK
def _weight_names(net: nn.Module) -> list[str]:
    return [name for name, _ in net.named_parameters() if "weight" in name]


def _batch_ntk(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Θ = J Jᵀ (float64) of ``net``'s own weights, BatchNorm statistics over the whole batch (TE-NAS's ``get_ntk_n``).

    J's row i: the gradient of sample i's summed logits with respect to every parameter whose
    name contains ``weight`` (pruned operations' weights get none and drop out); one backward
    pass per sample, since the batch statistics couple the samples. ``net`` runs in training
    mode (its BatchNorm running statistics move; the pruning's own supernet only).
    """
    leaves = [p for name, p in net.named_parameters() if "weight" in name]
    with training_mode(net, True):
        per_sample = net(x.detach()).sum(dim=1)
    n = x.shape[0]
    rows: list[list[torch.Tensor]] = []
    for i in range(n):
        grads = torch.autograd.grad(per_sample[i], leaves, retain_graph=i < n - 1, allow_unused=True)
        rows.append([g.reshape(-1) for g in grads if g is not None])
    theta = torch.zeros(n, n, dtype=torch.float64)
    for k in range(len(rows[0])):
        g = torch.stack([r[k] for r in rows])
        theta += (g @ g.T).to(torch.float64)
    return theta


def _ntk_condition(net: nn.Module, mask: Mask, x: torch.Tensor, method: str) -> float:
    with active_ops(net, mask):
        theta = _batch_ntk(net, x) if method == "batch" else ntk_matrix(net, x)
    return condition_number(theta)


@torch.no_grad()
def _load(net: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    for name, p in net.named_parameters():
        p.copy_(tensors[name])


# --------------------------------------------------------------------------- the search
@dataclass
class _Draw:
    """One draw of a round: the NTK weights and batch, the thin net and its crops."""

    tensors: dict[str, torch.Tensor]
    batch: torch.Tensor
    thin: nn.Module
    crops: list[torch.Tensor]


def _draw(net: nn.Module, images: torch.Tensor, seed: int, round_: int, repeat: int, config: TenasConfig) -> _Draw:
    gen = torch.Generator().manual_seed(_sub_seed(seed, round_, repeat, "ntk_init"))
    if config.init == "kaiming_normal":
        tensors = kaiming_normal_tensors(net, gen, mode="fan_out")
    else:
        tensors = {k: v.detach().clone() for k, v in init_default(net, gen).named_parameters()}
    rng = np.random.default_rng(_sub_seed(seed, round_, repeat, "ntk_batch"))
    batch = images[torch.as_tensor(rng.choice(len(images), size=config.ntk_batch, replace=False))]
    thin = build_thin_supernet(generator=torch.Generator().manual_seed(_sub_seed(seed, round_, repeat, "thin_init")))
    if config.init == "kaiming_normal":
        init_kaiming_normal(thin, torch.Generator().manual_seed(_sub_seed(seed, round_, repeat, "thin_init")),
                            mode="fan_in")
    crops = crop_inputs(images, _sub_seed(seed, round_, repeat, "crops"), batches=config.lr_batches,
                        size=config.lr_batch_size, patch=config.lr_patch)
    return _Draw(tensors, batch, thin, crops)


def _regions(thin: nn.Module, mask: Mask, crops: list[torch.Tensor]) -> int:
    with active_ops(thin, mask):
        return count_regions(thin, crops)


def prune_choices(edges: list[int], ntk_change: list[float], lr_change: list[float]):
    """``(ntk_rank, lr_rank, chosen)`` for one round's candidates (candidate i removes an op of ``edges[i]``).

    Dense ranks from 0 (equal values share a rank): by Δκ descending and by ΔR ascending;
    ``chosen``: edge -> the candidate pruned on it, the smallest rank sum (ties: the larger
    Δκ, then the earlier candidate).
    """
    ntk_rank = rankdata(-np.asarray(ntk_change, dtype=float), method="dense").astype(int) - 1
    lr_rank = rankdata(np.asarray(lr_change, dtype=float), method="dense").astype(int) - 1
    order = sorted(range(len(edges)), key=lambda i: (ntk_rank[i] + lr_rank[i], -ntk_change[i], i))
    chosen: dict[int, int] = {}
    for i in order:
        chosen.setdefault(edges[i], i)
    return ntk_rank, lr_rank, chosen


def tenas_prune(images: torch.Tensor, *, seed: int, num_classes: int = 10, config: TenasConfig = TenasConfig(),
                progress=None) -> TenasResult:
    """Prune the supernet until one operation is left per edge; the resulting NB201 cell and the history.

    ``images``: normalised images (N, 3, H, W), N >= ``config.ntk_batch``, from which every
    draw takes its NTK batch and its crops. ``progress``: called with the number of candidates
    evaluated after each one (for a progress bar).
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"TE-NAS needs a (N, 3, H, W) image tensor, got {getattr(images, 'shape', images)!r}")
    if images.shape[0] < config.ntk_batch:
        raise ValueError(f"TE-NAS needs at least ntk_batch={config.ntk_batch} images, got {images.shape[0]}")
    images = images.detach().to(torch.float32)
    net = build_supernet(C=config.channels, N=config.cells, num_classes=num_classes, depth=config.depth,
                         generator=torch.Generator().manual_seed(_sub_seed(seed, "supernet")))
    mask = full_mask()
    result = TenasResult(arch=None, masks=[mask])  # type: ignore[arg-type]
    done = 0
    round_ = 0
    while any(len(ops) > 1 for ops in mask):
        round_ += 1
        draws = [_draw(net, images, seed, round_, r, config) for r in range(config.repeats)]
        cands = [(e, op) for e, ops in enumerate(mask) if len(ops) > 1 for op in ops]
        dk = np.zeros((len(cands), len(draws)))
        dr = np.zeros((len(cands), len(draws)))
        for r, d in enumerate(draws):
            _load(net, d.tensors)
            ntk0 = _ntk_condition(net, mask, d.batch, config.ntk_method)
            regions0 = _regions(d.thin, mask, d.crops)
            for i, (e, op) in enumerate(cands):
                pruned = tuple(tuple(o for o in m if not (k == e and o == op)) for k, m in enumerate(mask))
                dk[i, r] = round((ntk0 - _ntk_condition(net, pruned, d.batch, config.ntk_method)) / ntk0, config.precision)
                dr[i, r] = round((regions0 - _regions(d.thin, pruned, d.crops)) / regions0, config.precision)
                done += 1
                if progress is not None:
                    progress(done)
        ntk_change = [float(v) for v in dk.mean(axis=1)]
        lr_change = [float(v) for v in dr.mean(axis=1)]
        ntk_rank, lr_rank, chosen = prune_choices([e for e, _ in cands], ntk_change, lr_change)
        for i, (e, op) in enumerate(cands):
            result.candidates.append(Candidate(round_, e, op, ntk_change[i], lr_change[i], int(ntk_rank[i]),
                                               int(lr_rank[i]), chosen.get(e) == i))
        for e, i in chosen.items():
            result.pruned_round[(e, cands[i][1])] = round_
        mask = tuple(tuple(o for o in ops if (e, o) not in result.pruned_round) for e, ops in enumerate(mask))
        result.masks.append(mask)
    result.arch = NB201Arch(tuple(ops[0] for ops in mask))
    return result
