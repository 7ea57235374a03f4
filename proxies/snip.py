"""snip (Lee et al. ICLR 2019; zero-cost form of Abdelfattah et al. ICLR 2021): Σ |W ⊙ ∂L/∂W|; higher is better.

The saliency of SNIP's connection sensitivity summed over the network: for every Conv2d and
Linear weight W (biases excluded), ``|W ⊙ ∂L/∂W|`` summed over all elements and layers, with
``L`` the cross-entropy of the untrained network (training mode, BatchNorm with batch
statistics) on the labelled batch. NASLib obtains ``∂L/∂(W ⊙ m)`` at a mask ``m = 1``, which is
the same number. See :mod:`proxies._loss` for the shared gradient.
"""

from __future__ import annotations

import numpy as np

from proxies._loss import shared_loss_gradient
from proxies.registry import register


@register("snip", higher_is_better=True, uses_labels=True, iso_invariant=True)
def snip(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ |W ⊙ ∂L/∂W| over Conv2d/Linear weights, cross-entropy on the labelled batch, training mode."""
    grad = shared_loss_gradient(net, batch, shared)
    return float(sum(np.sum(np.abs(layer.weight * layer.grad)) for layer in grad.layers))
