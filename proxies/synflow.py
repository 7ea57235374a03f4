"""Synflow (Tanaka et al. 2020; zero-cost form of Abdelfattah et al. 2021): log of Σ|θ ⊙ ∂R/∂θ|.

The network runs with every parameter replaced by its absolute value, its BatchNorm layers
disabled (replaced by identities, as NASLib's ``bn=False`` copy does), in float64. One all-ones input of the data's shape (1, 3, 32, 32) goes through it, R = Σ output,
and the score is ``log Σ |θ ⊙ ∂R/∂θ|`` over the weights θ of every Conv2d and Linear layer
(biases are not scored). The log is taken because raw values reach 1e60 (NASLib reports the
same log). Higher is better.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from proxies._stateless import call_with, swapped_modules, training_mode
from proxies.registry import ProxyError, register


def _identity_for_batchnorm(module: nn.Module) -> nn.Module | None:
    return nn.Identity() if isinstance(module, nn.modules.batchnorm._BatchNorm) else None


def synflow_raw(net: nn.Module, input_shape: tuple[int, ...] = (3, 32, 32)) -> float:
    """Σ |θ ⊙ ∂R/∂θ| (not logged) of ``net`` with |θ|, BatchNorm disabled, in float64.

    ``net`` is left unchanged: its BatchNorm layers are swapped for identities only during
    the call, and it runs with float64 absolute-valued copies of its parameters.
    """
    with swapped_modules(net, _identity_for_batchnorm), training_mode(net, False):
        scored = {f"{name}.weight" if name else "weight" for name, m in net.named_modules()
                  if isinstance(m, (nn.Conv2d, nn.Linear))}
        tensors = {
            k: v.detach().abs().to(torch.float64).requires_grad_(k in scored) for k, v in net.named_parameters()
        }
        if not scored:
            raise ProxyError("synflow: the network has no Conv2d or Linear weight")
        tensors.update({k: v.detach().to(torch.float64) if v.is_floating_point() else v.detach().clone()
                        for k, v in net.named_buffers()})
        x = torch.ones((1, *input_shape), dtype=torch.float64)
        out = call_with(net, tensors, x)
    weights = [tensors[k] for k in sorted(scored)]
    grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
    total = torch.zeros((), dtype=torch.float64)
    for w, g in zip(weights, grads):
        if g is not None:
            total += (w.detach() * g).abs().sum()
    return float(total)


@register("synflow", higher_is_better=True, uses_batch=False, iso_invariant=True)
def synflow(net, batch=None, *, seed: int = 0, shared: dict | None = None) -> float:
    """log Σ|θ ⊙ ∂R/∂θ| over Conv/Linear weights, |θ| copy without BN, float64, all-ones input."""
    shape = tuple(batch.shape[1:]) if batch is not None else (3, 32, 32)
    raw = synflow_raw(net, shape)
    if raw == 0.0:
        raise ProxyError("synflow: the score is 0 (no weighted path from input to output), its log is undefined")
    if not math.isfinite(raw):
        raise ProxyError(f"synflow: the raw score overflowed float64 ({raw})")
    return math.log(raw)
