"""zico (ZiCo, Li et al. ICLR 2023): inverse coefficient of variation of the gradients; higher is better.

ZiCo needs the gradients of several mini-batches. The batch is split into two halves (the
first ⌊B/2⌋ samples and the rest), as the MeCo authors' foresight port of ZiCo does
(``split_data=2``). For each half, the network in training mode (BatchNorm with that half's
batch statistics) gives the cross-entropy ``L`` (mean over the half, the half's labels) and,
for every Conv2d and Linear weight W, ``∂L/∂W`` (:func:`proxies._loss.loss_gradient`, the
same thread-invariant pass as snip's).

As the authors' code (``getzico``) records them, the gradients are *accumulated*: it calls
``loss.backward()`` per batch without zeroing, so the two recorded gradients are
``G1 = g1`` and ``G2 = g1 + g2``. Per layer l, with mean and (population) standard deviation
over the two recorded gradients, element by element,

    score = Σ_l log Σ_{θ in l, σ_θ > 0} mean(|G_θ|) / σ_θ,

where elements with σ_θ = 0 are left out and a layer whose sum is 0 adds nothing (as in the
reference). The paper's Eq. (the same formula over independent per-batch gradients g1, g2)
is :func:`zico_score` with ``accumulate=False``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from proxies._loss import check_labels, loss_gradient
from proxies.registry import labels_of, register


def zico_score(grads: Sequence[Sequence[np.ndarray]], *, accumulate: bool = True) -> float:
    """ZiCo from per-batch gradients: ``grads[b][l]`` is batch b's gradient of layer l's weight.

    ``accumulate``: the recorded gradient of batch b is the sum of the first b+1 (the
    reference code's); otherwise each batch's own gradient (the paper's formula).
    """
    if len(grads) < 2:
        raise ValueError(f"ZiCo needs the gradients of at least 2 batches, got {len(grads)}")
    layers = len(grads[0])
    if any(len(g) != layers for g in grads):
        raise ValueError("every batch must give one gradient per layer")
    score = 0.0
    for layer in range(layers):
        stack = np.stack([np.asarray(g[layer], dtype=np.float64).ravel() for g in grads])
        if accumulate:
            stack = np.cumsum(stack, axis=0)
        std = stack.std(axis=0)
        keep = std > 0
        total = float(np.sum(np.mean(np.abs(stack[:, keep]), axis=0) / std[keep]))
        if total > 0:
            score += math.log(total)
    return score


def half_batch_gradients(net, batch, labels) -> list[list[np.ndarray]]:
    """``∂L/∂W`` of every Conv2d/Linear weight for the two halves of ``batch`` (training mode)."""
    n = batch.shape[0]
    if n < 2:
        raise ValueError(f"zico needs a batch of at least 2 samples (two halves), got {n}")
    y = check_labels(labels, batch)
    cut = n // 2
    return [[layer.grad for layer in loss_gradient(net, batch[a:b], y[a:b]).layers] for a, b in ((0, cut), (cut, n))]


@register("zico", higher_is_better=True, uses_labels=True, iso_invariant=True)
def zico(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ_layers log Σ mean|∇W|/std ∇W over the batch's two halves (accumulated, as the reference code)."""
    return zico_score(half_batch_gradients(net, batch, labels_of(batch, shared)))
