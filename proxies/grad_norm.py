"""grad_norm (Abdelfattah et al. ICLR 2021): Σ over layers of ‖∂L/∂W‖₂; higher is better.

For every Conv2d and Linear weight W (biases excluded), the Euclidean (Frobenius) norm of the
gradient ``∂L/∂W`` of the cross-entropy ``L`` of the untrained network (training mode,
BatchNorm with batch statistics) on the labelled batch; the score is the *sum of the
per-layer norms* (NASLib's ``grad_norm``), not the norm of the whole gradient. See
:mod:`proxies._loss` for the shared gradient.
"""

from __future__ import annotations

import numpy as np

from proxies._loss import shared_loss_gradient
from proxies.registry import register


@register("grad_norm", higher_is_better=True, uses_labels=True, iso_invariant=True)
def grad_norm(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ over Conv2d/Linear layers of ‖∂L/∂W‖₂, cross-entropy on the labelled batch, training mode."""
    grad = shared_loss_gradient(net, batch, shared)
    return float(sum(np.sqrt(np.sum(layer.grad * layer.grad)) for layer in grad.layers))
