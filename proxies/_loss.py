"""The cross-entropy gradient shared by snip, fisher, grad_norm and plain (and grasp's g).

NAS-Bench-Suite-Zero computed these four (NASLib's ``measures/{snip,fisher,grad_norm,plain}.py``,
from Abdelfattah et al.'s foresight) on a copy of the network in training mode (BatchNorm
with batch statistics), with ``L = cross_entropy(net(x), y)`` (mean over the batch) on one
labelled training batch, and read per layer of every ``nn.Conv2d`` and ``nn.Linear``:

* the gradient ``G = ∂L/∂W`` of its weight W (biases are not scored);
* for fisher, the layer's output ``a`` (the activation, before BatchNorm) and its gradient
  ``δ = ∂L/∂a``.

:func:`loss_gradient` computes all of it in one forward and one backward pass. Like the
shared NASWOT / jacov pass it runs the caller's module tree with its own tensors, BatchNorm
swapped for :class:`~proxies._forward.BatchStatsNorm2d` (batch statistics, running
statistics untouched), in channels-last memory format, and every reduction is one whose
bits do not depend on the number of threads: the backward pass only yields ``δ`` for every
layer (the input gradients of convolutions, as jacov's); each weight gradient is then the sum
over the batch of per-sample weight gradients (batched matrix products per sample, as the
NTK proxy forms them), and every final sum is taken in float64 by NumPy. PyTorch's own
convolution weight gradient, which splits its sum over the batch between threads, is never
used. The result is cached in the ``shared`` dict of :func:`proxies.registry.compute_proxies`
so the four proxies (and grasp, which needs g = ∂L/∂W) cost one pass together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from proxies._forward import batch_stats_norm
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.registry import ProxyError, labels_of

__all__ = [
    "LayerGradient",
    "LossGradient",
    "loss_gradient",
    "shared_loss_gradient",
    "check_labels",
    "weight_layers",
    "conv_weight_grad",
    "per_sample_conv_weight_grads",
    "CACHE_KEY",
]

#: key of the cached :class:`LossGradient` in ``shared``
CACHE_KEY = "loss_gradient"
WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)


@dataclass
class LayerGradient:
    """One Conv2d / Linear layer: its weight W, ``G = ∂L/∂W`` and its fisher term, all float64 NumPy."""

    name: str  # the weight's parameter name, e.g. "cells.0.edges.0_1.op.1.weight"
    weight: np.ndarray
    grad: np.ndarray
    fisher: float  # Σ_k |½ mean_n (Σ_hw a δ)²| · (elements of W per output channel)


@dataclass
class LossGradient:
    loss: float
    layers: list[LayerGradient]


def weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(weight parameter name, module)`` of every Conv2d and Linear layer, in module order."""
    return [(f"{prefix}.weight" if prefix else "weight", m) for prefix, m in net.named_modules()
            if isinstance(m, WEIGHT_LAYERS)]


def check_labels(labels, batch: torch.Tensor, classes: int | None = None) -> torch.Tensor:
    """``labels`` as an int64 tensor of shape (B,) that fits ``batch`` (and ``classes`` outputs); else ValueError."""
    if labels is None:
        raise ValueError("the proxy needs the class labels of the batch")
    y = torch.as_tensor(labels)
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.dim() != 1 or y.shape[0] != batch.shape[0]:
        raise ValueError(
            f"labels must be integers of shape ({batch.shape[0]},), one per sample, got {y.dtype} {tuple(y.shape)}"
        )
    y = y.to(torch.int64)
    if y.numel() and (int(y.min()) < 0 or (classes is not None and int(y.max()) >= classes)):
        raise ValueError(f"labels must lie in 0..{'' if classes is None else classes - 1}, got {int(y.min())}..{int(y.max())}")
    return y


def _as_batch(batch) -> torch.Tensor:
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    return batch.detach().to(torch.float32)


def per_sample_conv_weight_grads(conv: nn.Conv2d, inp: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Per-sample gradients of a convolution's weight, (B, C_out, ...) in some fixed element order.

    Sample i's gradient is the weight gradient of the convolution of ``inp[i]`` (B, C_in, H, W)
    with output gradient ``delta[i]``. The element order is the weight's except for ungrouped
    'same' convolutions ((B, C_out, k_h * k_w, C_in), the order the shifted products give):
    the NTK uses only inner products between samples. See :func:`conv_weight_grad`.
    """
    return _conv_weight_grads(conv, inp, delta, summed=False)


def conv_weight_grad(conv: nn.Conv2d, inp: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``∂L/∂W`` of a convolution (shape of its weight) from its input and output gradient ``delta``.

    The sum over the batch of per-sample weight gradients (:func:`per_sample_conv_weight_grads`,
    each one a batched matrix product per sample, summed over the batch dimension). Three
    computations, each giving the same bits for any number of threads (PyTorch's own
    convolution weight gradient splits its sum over the batch between threads):

    * an ungrouped 1x1 convolution (stride 1, no padding): one matrix product per sample;
    * a 'same' convolution (stride 1, output the input's size, ``2 p = d (k - 1)`` for dilation
      d), ungrouped or depthwise (groups = C_in = C_out): with the input zero-padded and
      flattened row by row (row length W + 2p), kernel offset (u, v) is a shift by
      ``d_h u (W + 2p) + d_w v``; the output gradient, laid out on the same rows (zeros in the
      padding columns), meets each shift in one batched matrix product on views (ungrouped) or
      one product and sum over the positions per sample (depthwise), without building the
      patch matrix;
    * anything else (strided, other grouped convolutions): one grouped convolution backward,
      the samples stacked along the channels as groups.
    """
    return _conv_weight_grads(conv, inp, delta, summed=True).reshape(conv.weight.shape)


def _conv_weight_grads(conv: nn.Conv2d, inp: torch.Tensor, delta: torch.Tensor, *, summed: bool) -> torch.Tensor:
    """The per-sample weight gradients (B, ...), or (``summed``) their sum over the batch, in the weight's order."""
    if not isinstance(conv.padding, tuple) or conv.padding_mode != "zeros":
        raise ValueError(
            "the per-sample weight gradients support convolutions with numeric zero padding only, got "
            f"padding={conv.padding!r}, padding_mode={conv.padding_mode!r}"
        )
    n, c_in, h, w = inp.shape
    c_out, groups = conv.out_channels, conv.groups
    (k_h, k_w), (s_h, s_w), (p_h, p_w), (d_h, d_w) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    batch_sum = (lambda t: t.sum(0)) if summed else (lambda t: t)
    d = delta.permute(0, 2, 3, 1)  # (B, H_out, W_out, C_out); a view of a channels-last tensor
    x = inp.permute(0, 2, 3, 1)
    if groups == 1 and (k_h, k_w, s_h, s_w, p_h, p_w) == (1, 1, 1, 1, 0, 0):
        return batch_sum(torch.bmm(d.reshape(n, -1, c_out).transpose(1, 2), x.reshape(n, -1, c_in)))
    same = (s_h, s_w) == (1, 1) and delta.shape[2:] == inp.shape[2:] and (2 * p_h, 2 * p_w) == (
        d_h * (k_h - 1), d_w * (k_w - 1))
    depthwise = groups == c_in == c_out
    if same and (groups == 1 or depthwise):
        row = w + 2 * p_w
        length = h * row
        xp = F.pad(x, (0, 0, p_w, p_w, p_h, p_h + 1)).reshape(n, -1, c_in)
        dp = F.pad(d, (0, 0, 0, 2 * p_w)).reshape(n, length, c_out)
        shifts = [u * d_h * row + v * d_w for u in range(k_h) for v in range(k_w)]
        if groups == 1:  # summed: (C_out, C_in, K), the weight's order; per sample (B, C_out, K, C_in)
            dp = dp.transpose(1, 2)
            return torch.stack([batch_sum(torch.bmm(dp, xp[:, s : s + length])) for s in shifts], dim=2)
        return torch.stack([batch_sum((dp * xp[:, s : s + length]).sum(1)) for s in shifts], dim=-1)  # (B,) C, K
    _, grad_weight, _ = torch.ops.aten.convolution_backward(
        delta.reshape(1, n * c_out, *delta.shape[2:]),
        inp.reshape(1, n * c_in, h, w),
        conv.weight.detach().repeat(n, 1, 1, 1),
        None,
        [s_h, s_w],
        [p_h, p_w],
        [d_h, d_w],
        False,
        [0, 0],
        n * groups,
        [False, True, False],
    )
    return batch_sum(grad_weight.reshape(n, c_out, *grad_weight.shape[1:]))


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def _np64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).contiguous().numpy()


def _fisher_term(act: torch.Tensor, delta: torch.Tensor, per_channel_elements: int) -> float:
    """NASLib's fisher of one layer: Σ_k |½ mean_n g_nk²| · elements, g_nk = Σ_hw a δ (a = the layer's output)."""
    prod = act.detach() * delta
    g = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod  # (B, C_out)
    g = _np64(g)
    return float(np.sum(np.abs(0.5 * np.mean(g * g, axis=0)))) * per_channel_elements


def loss_gradient(net: nn.Module, batch: torch.Tensor, labels) -> LossGradient:
    """Cross-entropy ``L`` of ``net`` (training mode) on ``(batch, labels)`` and, per Conv2d / Linear layer,
    ``∂L/∂W`` and the fisher term. ``net`` is left unchanged."""
    x = _as_batch(batch).contiguous(memory_format=torch.channels_last)
    records: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        records.append((module, inputs[0], output))

    layers = weight_layers(net)
    scored = {name for name, _ in layers}
    with swapped_modules(net, batch_stats_norm), training_mode(net, True):
        tensors = {k: _channels_last(v.detach()).requires_grad_(k in scored) for k, v in net.named_parameters()}
        tensors.update({k: v.detach().clone() for k, v in net.named_buffers()})
        with forward_hooks([m for _, m in layers], hook):
            logits = call_with(net, tensors, x)
    if logits.dim() != 2:
        raise ValueError(f"the loss-gradient proxies expect (B, classes) logits, got shape {tuple(logits.shape)}")
    y = check_labels(labels, x, logits.shape[1])
    loss = F.cross_entropy(logits, y)
    if not torch.isfinite(loss):
        raise ProxyError(f"the cross-entropy loss is {float(loss)}")
    outs = [out for _, _, out in records]
    deltas = torch.autograd.grad(loss, outs, allow_unused=True) if outs and loss.requires_grad else [None] * len(outs)
    grads: dict[int, torch.Tensor] = {}
    fisher: dict[int, float] = {}
    with torch.no_grad():
        for (module, inp, out), delta in zip(records, deltas):
            if delta is None:
                continue
            if isinstance(module, nn.Conv2d):
                g = conv_weight_grad(module, inp.detach(), delta)
            else:  # Linear: Σ_n δ_n ⊗ x_n, as a broadcast product and one sum over the batch
                feats = inp.detach().reshape(-1, module.in_features)
                g = (delta.reshape(-1, module.out_features)[:, :, None] * feats[:, None, :]).sum(0)
            key = id(module)
            grads[key] = g if key not in grads else grads[key] + g
            fisher[key] = fisher.get(key, 0.0) + _fisher_term(out, delta, module.weight[0].numel())
    result = []
    for name, m in layers:
        w = _np64(m.weight)
        g = grads.get(id(m))
        result.append(LayerGradient(name=name, weight=w, grad=np.zeros_like(w) if g is None else _np64(g),
                                    fisher=fisher.get(id(m), 0.0)))
    return LossGradient(loss=float(loss.detach()), layers=result)


def shared_loss_gradient(net: nn.Module, batch: torch.Tensor, shared: dict | None) -> LossGradient:
    """:func:`loss_gradient` with the labels of :func:`proxies.registry.labels_of`, cached in ``shared``.

    A failure is cached too (each proxy that asks re-raises it), so it is computed once.
    """
    cached = shared.get(CACHE_KEY) if shared is not None else None
    if cached is None:
        try:
            cached = loss_gradient(net, batch, labels_of(batch, shared))
        except (ValueError, RuntimeError, ArithmeticError) as exc:
            cached = exc
        if shared is not None:
            shared[CACHE_KEY] = cached
    if isinstance(cached, BaseException):
        raise cached
    return cached
