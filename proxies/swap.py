"""swap and reg_swap (SWAP-NAS, Peng et al. ICLR 2024): distinct sample-wise activation patterns; higher is better.

SWAP-Score. The network gets SWAP's Gaussian initialisation (every Conv2d and Linear weight
~ N(0, 1), biases 0, BatchNorm weight 1 and bias 0; the network's own weights are ignored),
drawn from a generator seeded by (seed, architecture, init index), and runs in training
mode (BatchNorm with batch statistics) without gradients on the first :data:`SWAP_SAMPLES`
samples of the batch (the reference script's ``input_samples`` default). For every
``nn.ReLU`` whose input is 4-d, each output unit (channel x position) has a binary pattern
over the samples: ``sign(ReLU output)``, i.e. 1 where the unit is active. The score is the
number of *distinct* patterns among all units of all those ReLUs (the reference transposes
the samples x units matrix and counts its unique rows). It is averaged over
:data:`SWAP_INITS` initialisations (the reference averages 32 repeats of the Gaussian init;
fewer here, for time). ReLUs that read the same tensor give the same patterns and are counted
once, which does not change the count of distinct patterns.

reg-SWAP multiplies the score by ``exp(−(P − μ)² / σ)`` with P the network's parameter count
in thousands (the reference's ``count_parameters``). The SWAP paper does not publish its
NB201 values of μ and σ in its code; :data:`REG_MU` and :data:`REG_SIGMA` are our choice
(see ``docs/proxies.md``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from proxies._forward import batch_stats_norm
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.network import net_seed
from proxies.registry import ProxyError, register
from proxies.zen import gaussian_tensors

#: samples of the batch used (the first ones): the reference script's default
SWAP_SAMPLES = 16
#: Gaussian initialisations averaged
SWAP_INITS = 2
#: reg-SWAP's centre μ and width σ, parameters in thousands (our choice for NB201: the largest net has 1532 K)
REG_MU = 1500.0
REG_SIGMA = 1.0e6


def distinct_patterns(codes: list[torch.Tensor]) -> int:
    """Number of distinct columns among the (B, D_i) boolean matrices ``codes`` (one column per unit)."""
    if not codes:
        return 0
    packed = [np.packbits(c.reshape(c.shape[0], -1).T.contiguous().numpy(), axis=1) for c in codes]
    rows = np.ascontiguousarray(np.concatenate(packed, axis=0))
    as_void = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    return int(np.unique(as_void).size)


def swap_count(net: nn.Module, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> int:
    """Distinct activation patterns of the ReLUs of ``net`` (training mode, parameters ``tensors``) on ``x``."""
    codes: list[torch.Tensor] = []
    seen: set[int] = set()
    keep: list[torch.Tensor] = []  # inputs kept alive so that their ids stay unique during the pass

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        t = inputs[0]
        if t.dim() != 4 or id(t) in seen:
            return
        seen.add(id(t))
        keep.append(t)
        codes.append(output.detach() > 0)

    with swapped_modules(net, batch_stats_norm), training_mode(net, True), torch.no_grad():
        values = dict(tensors)
        values.update({k: v.detach().clone() for k, v in net.named_buffers()})
        relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
        with forward_hooks(relus, hook):
            call_with(net, values, x.detach().to(torch.float32))
    keep.clear()
    return distinct_patterns(codes)


def swap_score(net: nn.Module, batch: torch.Tensor, *, seed: int, samples: int = SWAP_SAMPLES,
               inits: int = SWAP_INITS) -> float:
    """Mean over ``inits`` Gaussian initialisations of :func:`swap_count` on the first ``samples`` of ``batch``."""
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4 or batch.shape[0] < 2:
        raise ValueError(f"swap needs a (B, C, H, W) batch of at least 2 samples, got {getattr(batch, 'shape', batch)!r}")
    x = batch[:samples]
    arch = getattr(net, "arch", None)
    counts = []
    for i in range(inits):
        salt = f"swap{i}"
        generator = torch.Generator().manual_seed(net_seed(seed, arch, salt) if arch is not None else seed * 1000 + i)
        counts.append(swap_count(net, x, gaussian_tensors(net, generator)))
    if not any(counts):
        raise ProxyError("swap: the network has no ReLU with a 4-d input, so it has no activation pattern")
    return float(np.mean(counts))


def regular_factor(net: nn.Module, mu: float = REG_MU, sigma: float = REG_SIGMA) -> float:
    """reg-SWAP's size factor ``exp(−(P − μ)² / σ)``, P = number of parameters in thousands."""
    p = sum(t.numel() for t in net.parameters()) / 1e3
    return math.exp(-((p - mu) ** 2) / sigma)


#: key of the cached SWAP-Score in ``shared`` (swap and reg_swap computed together cost one pass)
CACHE_KEY = "swap_score"


def _shared_swap(net, batch, seed: int, shared: dict | None) -> float:
    if shared is not None and shared.get(CACHE_KEY) is not None and shared[CACHE_KEY][0] == seed:
        return shared[CACHE_KEY][1]
    value = swap_score(net, batch, seed=seed)
    if shared is not None:
        shared[CACHE_KEY] = (seed, value)
    return value


@register("swap", higher_is_better=True)
def swap(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Distinct sample-wise ReLU activation patterns, first 16 samples, Gaussian init (mean of 2), train mode."""
    return _shared_swap(net, batch, seed, shared)


@register("reg_swap", higher_is_better=True)
def reg_swap(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """swap × exp(−(params_K − μ)²/σ), μ = 1500, σ = 1e6 (parameters in thousands)."""
    return _shared_swap(net, batch, seed, shared) * regular_factor(net)
