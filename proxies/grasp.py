"""grasp (Wang et al. ICLR 2020; zero-cost form of Abdelfattah et al. ICLR 2021): Σ −W ⊙ (H g); higher is better.

GraSP's gradient-signal-preservation score summed over the network. With ``L`` the
cross-entropy of the untrained network (training mode, BatchNorm with batch statistics) on
the labelled batch, W the weights of every Conv2d and Linear layer (biases excluded),
``g = ∂L/∂W`` and ``H = ∂²L/∂W²`` (the Hessian with respect to those weights; BatchNorm
parameters held fixed): score = ``Σ −W ⊙ (H g)`` over all elements and layers, with its sign
(NASLib negates GraSP's saliency so that higher is better).

How. NASLib forms the Hessian-vector product ``H g`` by a double backward pass and then its
inner product with W. Only that inner product is needed, and since H is symmetric,

    Σ W ⊙ (H g) = Wᵀ H g = ∂²/∂ε∂η L(W + ε W + η g) at ε = η = 0,

a mixed second directional derivative of the scalar loss, which two nested forward-mode
derivatives (:func:`torch.func.jvp`) give exactly. g is the gradient of :mod:`proxies._loss`
(shared with snip, fisher, grad_norm and plain). Forward-mode derivatives need only forward
operations (convolutions of the tangents, products, per-sample sums), so the score has the
same bits for any number of threads, which a double backward through PyTorch's convolution
weight gradients would not; it is also about twice as fast as a thread-invariant double
backward. Inside the call only, BatchNorm runs as a training-mode normalisation built from
per-sample sums over (H, W) and the 3x3 average pools as PyTorch's own ``avg_pool2d`` (the
network's faster custom pool has no forward-mode derivative); the network's modules,
parameters and buffers are restored on exit.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jvp

from proxies._forward import BatchNormLike
from proxies._loss import check_labels, shared_loss_gradient, weight_layers
from proxies._stateless import swapped_modules, training_mode
from proxies.network import AvgPool3x3
from proxies.registry import LABELS, ProxyError, labels_of, register


class _BatchNorm(BatchNormLike):
    """Training-mode BatchNorm2d (batch statistics) from per-sample sums, differentiable in any mode; no running stats."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        m = n * h * w
        d = x - (x.sum(dim=(2, 3)).sum(0) / m).view(1, c, 1, 1)
        var = (d * d).sum(dim=(2, 3)).sum(0) / m
        return d * (torch.rsqrt(var + self.eps) * self.weight).view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


class _AvgPool(nn.Module):
    """PyTorch's own ``avg_pool2d`` with an AvgPool2d's settings (it has a forward-mode derivative)."""

    def __init__(self, pool: nn.AvgPool2d):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pool
        return F.avg_pool2d(x, p.kernel_size, p.stride, p.padding, p.ceil_mode, p.count_include_pad, p.divisor_override)


def _replace(module: nn.Module) -> nn.Module | None:
    if isinstance(module, nn.BatchNorm2d):
        return _BatchNorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        raise ValueError(f"grasp supports BatchNorm2d only, found {type(module).__name__}")
    if isinstance(module, AvgPool3x3):
        return _AvgPool(module)
    return None


def grasp_score(net: nn.Module, batch: torch.Tensor, labels, grad: dict[str, torch.Tensor] | None = None) -> float:
    """Σ −W ⊙ (H g) over the Conv2d / Linear weights (see the module docstring); ``net`` is unchanged.

    ``grad``: g = ∂L/∂W by weight name (default: computed by :func:`proxies._loss.loss_gradient`).
    """
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    layers = weight_layers(net)
    if not layers:
        raise ProxyError("grasp: the network has no Conv2d or Linear layer")
    if grad is None:
        grad = {layer.name: torch.from_numpy(layer.grad) for layer in shared_loss_gradient(net, batch, {LABELS: labels}).layers}
    x = batch.detach().to(torch.float32)
    names = [name for name, _ in layers]
    params = dict(net.named_parameters())
    weights = {k: params[k].detach() for k in names}
    g = {k: grad[k].to(dtype=weights[k].dtype).reshape(weights[k].shape) for k in names}
    if all(not bool(v.any()) for v in g.values()):
        return 0.0  # no gradient reaches any weight (the input never reaches the output): H g = 0
    with swapped_modules(net, _replace), training_mode(net, True):
        fixed = {k: v.detach() for k, v in net.named_parameters() if k not in weights}
        fixed.update({k: v.detach().clone() for k, v in net.named_buffers()})
        checked: list[torch.Tensor] = []

        def loss(w: dict[str, torch.Tensor]) -> torch.Tensor:
            logits = functional_call(net, {**fixed, **w}, (x,), strict=True)
            if logits.dim() != 2:
                raise ValueError(f"grasp expects (B, classes) logits, got shape {tuple(logits.shape)}")
            if not checked:
                checked.append(check_labels(labels, x, logits.shape[1]))
            return F.cross_entropy(logits, checked[0])

        def along_weights(w: dict[str, torch.Tensor]) -> torch.Tensor:  # ∇L(w) · W, W the network's weights
            return jvp(loss, (w,), (weights,))[1]

        mixed = jvp(along_weights, (weights,), (g,))[1]  # Wᵀ H g
    value = -float(mixed)
    if math.isnan(value):
        raise ProxyError("grasp: the second derivative is NaN")
    return value


@register("grasp", higher_is_better=True, uses_labels=True, iso_invariant=True)
def grasp(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """−Wᵀ H g over Conv2d/Linear weights (g = ∂L/∂W, H the Hessian), cross-entropy, training mode."""
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    labels = labels_of(batch, shared)
    grad = {layer.name: torch.from_numpy(layer.grad) for layer in shared_loss_gradient(net, batch, shared).layers}
    return grasp_score(net, batch, labels, grad)
