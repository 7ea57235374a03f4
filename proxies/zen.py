"""zen (Zen-NAS, Lin et al. ICCV 2021, as NASLib computes it): log of the feature-map change plus BN scaling.

The network gets Zen-NAS's Gaussian initialisation (every Conv2d and Linear weight ~ N(0, 1),
their biases 0, BatchNorm weight 1 and bias 0), drawn from a generator seeded by (seed,
architecture), and runs in training mode (BatchNorm with batch statistics) on Gaussian
inputs of the batch's shape (only its shape is used): x ~ N(0, 1) and ε ~ N(0, 1) from the
same generator. With f the feature map entering the global average pooling (after the last
BatchNorm + ReLU), ``Δ = mean_n Σ_chw |f(x) − f(x + 0.01 ε)|`` and

    score = log Δ + Σ over BatchNorm2d layers of log sqrt(mean_c running_var_c),

where running_var is each layer's running variance after the two forward passes (PyTorch's
update with the layer's momentum and the unbiased batch variance, starting from the
network's own running_var), as NASLib reads it. Computed under ``torch.no_grad``; the
network's buffers are not touched (the updates are computed on the side). Batch statistics
use per-sample sums over (H, W) then sums over the batch, so the bits do not depend on the
number of threads. Higher is better. Δ = 0 (the input never reaches the output) is a failure.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from proxies._forward import BatchNormLike, channel_sum
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.network import net_seed
from proxies.registry import ProxyError, register

MIXUP_GAMMA = 1e-2


def gaussian_tensors(net: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Zen-NAS's initialisation as new parameter values, drawn in module order (the net is not changed).

    Conv2d / Linear weights ~ N(0, 1), their biases 0; BatchNorm / GroupNorm weight 1, bias 0.
    """
    out: dict[str, torch.Tensor] = {}
    for prefix, m in net.named_modules():
        dot = f"{prefix}." if prefix else ""
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            out[dot + "weight"] = torch.randn(m.weight.shape, generator=generator, dtype=m.weight.dtype)
            if m.bias is not None:
                out[dot + "bias"] = torch.zeros_like(m.bias, requires_grad=False)
        elif isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm)) and getattr(m, "weight", None) is not None:
            out[dot + "weight"] = torch.ones_like(m.weight, requires_grad=False)
            out[dot + "bias"] = torch.zeros_like(m.bias, requires_grad=False)
    missing = [k for k, _ in net.named_parameters() if k not in out]
    if missing:
        raise ValueError(f"zen's Gaussian init does not know how to initialise {', '.join(missing[:5])}")
    return out


class _RecordingNorm(BatchNormLike):
    """Training-mode BatchNorm2d (batch statistics) that records each call's unbiased batch variance.

    Holds the original layer's ``weight`` and ``bias`` under the same names and no buffers.
    """

    def __init__(self, bn: nn.BatchNorm2d, record: list):
        super().__init__(bn)
        self.record = record

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        m = n * h * w
        mean = (channel_sum(x) / m).view(1, c, 1, 1)
        d = x - mean
        ss = channel_sum(d * d)
        self.record.append((ss / max(m - 1, 1)).to(torch.float64))  # unbiased, as PyTorch's running_var update
        invstd = torch.rsqrt(ss / m + self.eps).view(1, c, 1, 1)
        return d * (invstd * self.weight.view(1, c, 1, 1)) + self.bias.view(1, c, 1, 1)


def zen_score(net: nn.Module, shape: tuple[int, ...], generator: torch.Generator) -> float:
    """The Zen score of ``net`` (see the module docstring) for inputs of ``shape``; ``net`` is unchanged."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        if not isinstance(m, nn.BatchNorm2d):
            raise ValueError(f"zen supports BatchNorm2d only, found {type(m).__name__}")
        if m.running_var is None or m.momentum is None:
            raise ValueError("zen needs BatchNorm layers with running statistics and a momentum")
    records: dict[int, list] = {id(m): [] for m in norms}
    swap = {id(m): _RecordingNorm(m, records[id(m)]) for m in norms}
    pools = [m for m in net.modules()
             if isinstance(m, nn.AdaptiveAvgPool2d) or getattr(type(m), "GLOBAL_POOLING", False)]
    if len(pools) != 1:
        raise ValueError(
            "zen needs exactly one global pooling (nn.AdaptiveAvgPool2d, or a module class with GLOBAL_POOLING = True), "
            f"found {len(pools)}"
        )
    features: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        features.append(inputs[0])

    with torch.no_grad():
        values = gaussian_tensors(net, generator)
        x = torch.randn(shape, generator=generator)
        noise = torch.randn(shape, generator=generator)
        mixed = x + MIXUP_GAMMA * noise
        with swapped_modules(net, lambda m: swap.get(id(m))), training_mode(net, True), forward_hooks(pools, hook):
            tensors = dict(values)
            tensors.update({k: v.detach().clone() for k, v in net.named_buffers()})
            call_with(net, tensors, x)
            call_with(net, tensors, mixed)
        f1, f2 = features
        delta = float((f1 - f2).abs().sum(dim=tuple(range(1, f1.dim()))).to(torch.float64).mean())
    if not delta > 0 or not math.isfinite(delta):
        raise ProxyError(
            f"zen: the feature map does not change with the input (Δ = {delta}), e.g. because the input never "
            "reaches the output, so log Δ is undefined"
        )
    log_bn = 0.0
    for m in norms:
        rv = m.running_var.detach().to(torch.float64).clone()
        for var in records[id(m)]:
            rv = (1.0 - m.momentum) * rv + m.momentum * var
        log_bn += 0.5 * math.log(float(np.mean(rv.numpy())))
    return math.log(delta) + log_bn


@register("zen", higher_is_better=True)
def zen(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """log mean_n Σ|f(x) − f(x + 0.01ε)| + Σ_BN log √mean(running_var); Gaussian init and inputs, train mode."""
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    arch = getattr(net, "arch", None)
    generator = torch.Generator().manual_seed(net_seed(seed, arch, "zen") if arch is not None else seed)
    return zen_score(net, tuple(batch.shape), generator)
