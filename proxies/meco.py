"""meco (MeCo, Jiang et al. NeurIPS 2023): minimum eigenvalues of feature-map correlations; higher is better.

One sample, one forward pass. The network runs in training mode (BatchNorm normalises with
the statistics of that one sample over H x W, as a fresh network in the authors' script
does) on the first sample of the batch (the authors' NB201 script: a batch of one CIFAR-10
training image). A forward hook on *every* module (containers included, as the reference
registers on ``named_modules()``) takes the module's output for that sample, a (C, H, W)
map, as C rows of H·W values, and computes the C x C Pearson correlation matrix of the
channels; entries that are NaN or infinite (a constant channel) are set to 0, and the
module adds the smallest eigenvalue of that matrix. The score is the sum over all module
calls. An output with one value per channel (the pooled features, the logits) has an
undefined correlation, set to 0 entirely, and adds 0.

Deviations: the correlations and eigenvalues are computed in float64 with the symmetric
solver (``eigvalsh``) where the reference uses float32 and the general ``linalg.eig`` (real
part); our module tree differs from the foresight NB201 model's in two places (a 3x3 average
pool is one module here, two nested ones there; a ``none`` edge has no module here, a Zero
module there, whose all-zero output adds 0 anyway). MeCo_opt (a random subset of 8 channels
per module, the minimum eigenvalue scaled by C/8) is not implemented.
"""

from __future__ import annotations

import torch
from torch import nn

from proxies._forward import batch_stats_norm
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.registry import register


def min_correlation_eigenvalue(features: torch.Tensor) -> float:
    """Smallest eigenvalue of the correlation matrix of the rows of ``features`` (C x D), NaN/inf entries 0."""
    f = features.detach().reshape(features.shape[0], -1).to(torch.float64)
    if f.shape[1] < 2 or f.shape[0] < 1:
        return 0.0  # one observation per channel: every correlation is undefined, the matrix is 0
    corr = torch.corrcoef(f) if f.shape[0] > 1 else torch.ones(1, 1, dtype=torch.float64)
    corr = torch.where(torch.isfinite(corr), corr, torch.zeros((), dtype=torch.float64))
    return float(torch.linalg.eigvalsh(corr)[0])


def meco_score(net: nn.Module, sample: torch.Tensor) -> float:
    """Σ over every module call of the smallest eigenvalue of its output's channel correlation.

    ``sample``: one input, shape (1, C, H, W). ``net`` is left unchanged.
    """
    if not isinstance(sample, torch.Tensor) or sample.dim() != 4 or sample.shape[0] != 1:
        raise ValueError(f"meco needs one input sample of shape (1, C, H, W), got {getattr(sample, 'shape', sample)!r}")
    seen: dict[int, tuple[torch.Tensor, float]] = {}
    total = 0.0

    def hook(module: nn.Module, inputs: tuple, output) -> None:
        nonlocal total
        if not isinstance(output, torch.Tensor) or output.dim() < 2:
            return
        entry = seen.get(id(output))
        if entry is None or entry[0] is not output:  # several modules return the same tensor: computed once
            entry = (output, min_correlation_eigenvalue(output[0]))
            seen[id(output)] = entry
        total += entry[1]

    x = sample.detach().to(torch.float32)
    with swapped_modules(net, batch_stats_norm), training_mode(net, True), torch.no_grad():
        tensors = {k: v.detach() for k, v in net.named_parameters()}
        tensors.update({k: v.detach().clone() for k, v in net.named_buffers()})
        with forward_hooks(list(net.modules()), hook):
            call_with(net, tensors, x)
    seen.clear()
    return total


@register("meco", higher_is_better=True)
def meco(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ over module outputs of λ_min(channel correlation), first sample of the batch, training mode."""
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4 or batch.shape[0] < 1:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    return meco_score(net, batch[:1])
