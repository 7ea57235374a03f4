"""plain (Mozer & Smolensky 1989, as in Abdelfattah et al. ICLR 2021): Σ W ⊙ ∂L/∂W, signed; *lower* is better.

The first-order Taylor term of the loss: for every Conv2d and Linear weight W (biases
excluded), ``W ⊙ ∂L/∂W`` summed over all elements and layers *with its sign* (snip is the same
sum of absolute values), ``L`` the cross-entropy of the untrained network (training mode,
BatchNorm with batch statistics) on the labelled batch. Positive and negative terms largely
cancel, so the score is small and noisy: two random initialisations rank the same nets very
differently (see docs/proxies.md). On NB201 it correlates *negatively* with accuracy (Kendall
τ −0.24 over the 9445 valid nets with the published values), hence ``higher_is_better=False``;
the score itself is not sign-flipped. See :mod:`proxies._loss` for the shared gradient.
"""

from __future__ import annotations

import numpy as np

from proxies._loss import shared_loss_gradient
from proxies.registry import register


@register("plain", higher_is_better=False, uses_labels=True, iso_invariant=True)
def plain(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ W ⊙ ∂L/∂W (signed) over Conv2d/Linear weights, cross-entropy on the labelled batch, training mode."""
    grad = shared_loss_gradient(net, batch, shared)
    return float(sum(np.sum(layer.weight * layer.grad) for layer in grad.layers))
