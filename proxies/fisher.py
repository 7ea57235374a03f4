"""fisher (Theis et al. 2018, Turner et al. 2020; zero-cost form of Abdelfattah et al. ICLR 2021); higher is better.

The Fisher-information estimate of the loss change when a channel's activation is removed,
summed over channels and layers, exactly as NASLib's ``fisher`` sums it. For every Conv2d and
Linear layer, ``a`` is its output (the activation before BatchNorm; a Linear layer's output
includes its bias) and ``δ = ∂L/∂a``, with ``L`` the cross-entropy of the untrained network
(training mode, BatchNorm with batch statistics) on the labelled batch. Per output channel k,
``g_nk = Σ_hw a_nkhw δ_nkhw`` and ``F_k = ½ · mean_n g_nk²``. NASLib then broadcasts ``|F_k|`` to
every weight of channel k before summing, so the score is

    Σ_layers Σ_k |F_k| · (C_in · k_h · k_w)        (in_features for a Linear layer).

See :mod:`proxies._loss` for the shared pass.
"""

from __future__ import annotations

from proxies._loss import shared_loss_gradient
from proxies.registry import register


@register("fisher", higher_is_better=True, uses_labels=True, iso_invariant=True)
def fisher(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ_layers Σ_k ½ mean_n (Σ_hw a δ)² · fan-in, a = Conv2d/Linear output, δ = ∂L/∂a, training mode."""
    grad = shared_loss_gradient(net, batch, shared)
    return float(sum(layer.fisher for layer in grad.layers))
