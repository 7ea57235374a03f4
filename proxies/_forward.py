"""One training-mode forward pass shared by NASWOT, jacov and epe_nas.

The network runs in training mode: BatchNorm uses batch statistics, as when NASLib computed
NAS-Bench-Suite-Zero (through :class:`BatchStatsNorm2d`, which gives the same numbers for any
number of threads and leaves the running statistics alone), in channels-last memory format
(faster on CPU; the same computation). Forward hooks on every ``nn.ReLU`` collect the binary codes of the ReLU
inputs for the NASWOT kernel; the gradient of the summed logits with respect to the input
gives the Jacobian of jacov and epe_nas.

NASWOT kernel, accumulated ReLU by ReLU: with c the (B, D) 0/1 code matrix of one ReLU,
``c cᵀ + (1-c)(1-c)ᵀ = 2 c cᵀ - r 1ᵀ - 1 rᵀ + D`` where ``r = diag(c cᵀ)``. The product
``c cᵀ`` is computed exactly (a float32 GEMM of integers below 2**24) and accumulated in float64. Several ReLUs that read the same tensor (the convolutions that read the same cell
node) add the same term; it is computed once and multiplied by their number.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode

__all__ = ["ReluForward", "BatchStatsNorm2d", "relu_forward", "shared_relu_forward"]

SHARED_NAME = "relu_forward"


@dataclass
class ReluForward:
    """NASWOT kernel ``K`` (float64, B x B) and input Jacobian (float64, B x D); None when not asked."""

    K: torch.Tensor | None
    jacobian: torch.Tensor | None
    relus: int  # number of ReLU modules whose input contributed to K
    outputs: int = 0  # width of the network's output (number of classes)


def _flat(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C*H*W) without copying when ``t`` is channels-last (order is irrelevant)."""
    if t.dim() == 4:
        return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)
    return t.reshape(t.shape[0], -1)


def _code_gram(codes: torch.Tensor) -> torch.Tensor:
    """``c cᵀ`` of a (B, D) bool matrix, exactly: a float32 GEMM, whose every partial sum is an
    integer ≤ D < 2**24 and so exact in any summation order (float64 beyond that). torch's int8
    GEMM is as exact but, on CPUs without AVX-512 VNNI, about 25x slower."""
    c = codes.to(torch.float32 if codes.shape[1] < 2**24 else torch.float64)
    return (c @ c.T).to(torch.float64)


def _code_kernel(t: torch.Tensor) -> torch.Tensor:
    """``c cᵀ + (1-c)(1-c)ᵀ`` for the codes c = (t > 0) of one ReLU input, float64 (B, B)."""
    codes = _flat(t.detach()) > 0  # compare on the flat (contiguous for channels-last) view: faster
    g = _code_gram(codes)
    r = torch.diagonal(g)
    return 2.0 * g - r[:, None] - r[None, :] + float(codes.shape[1])


class _BatchStatsNorm(torch.autograd.Function):
    """Training-mode batch normalisation (batch statistics, biased variance) with thread-invariant sums.

    PyTorch's native CPU batch norm splits its per-channel reductions over (N, H, W) between
    threads, so its results change in the last bits with the number of threads. Here every
    reduction is a per-sample sum over (H, W) (parallel over samples and channels) followed by
    a sum of the small (B, C) result over the batch, which gives the same bits for any thread
    count.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
        n, c, h, w = x.shape
        inv_m = 1.0 / (n * h * w)
        d = x - (channel_sum(x) * inv_m).view(1, c, 1, 1)
        invstd = torch.rsqrt(channel_sum(d * d) * inv_m + eps).view(1, c, 1, 1)
        ctx.save_for_backward(d, invstd, weight.detach())
        # (``out=``: PyTorch's own output allocation makes a broadcast addcmul 4x slower here)
        return torch.addcmul(bias.detach().view(1, c, 1, 1), d, invstd * weight.detach().view(1, c, 1, 1),
                             out=torch.empty_like(d))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        d, invstd, weight = ctx.saved_tensors
        n, c, h, w = grad.shape
        inv_m = 1.0 / (n * h * w)
        mean_g = (channel_sum(grad) * inv_m).view(1, c, 1, 1)
        mean_gd = (channel_sum(grad * d) * inv_m).view(1, c, 1, 1)
        # dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)), xhat = d * invstd
        a = invstd * weight.view(1, c, 1, 1)
        out = torch.addcmul(-a * mean_g, grad, a, out=torch.empty_like(d))
        out.addcmul_(d, -a * invstd * invstd * mean_gd)
        return out, None, None, None


def channel_sum(t: torch.Tensor) -> torch.Tensor:
    """Σ over (N, H, W) per channel: per-sample sums over (H, W), then a (small) sum over the batch."""
    return t.sum(dim=(2, 3)).sum(0)


class BatchNormLike(nn.Module):
    """Base of the modules that stand in for a BatchNorm2d: the original layer's ``weight`` and
    ``bias`` under the same names (ones and zeros for a non-affine layer) and its ``eps``."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        if bn.affine:
            self.weight, self.bias = bn.weight, bn.bias
        else:
            self.register_buffer("weight", torch.ones(bn.num_features))
            self.register_buffer("bias", torch.zeros(bn.num_features))
        self.eps = bn.eps


class BatchStatsNorm2d(BatchNormLike):
    """A BatchNorm2d in training mode (batch statistics, running statistics untouched), thread-invariant.

    Holds the original layer's ``weight`` and ``bias`` under the same names and no buffers.
    Gradients flow to the input only (the proxies never need the BatchNorm parameters' gradients).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"BatchStatsNorm2d expects a 4-d input, got shape {tuple(x.shape)}")
        return _BatchStatsNorm.apply(x, self.weight, self.bias, self.eps)


def batch_stats_norm(module: nn.Module) -> nn.Module | None:
    """For :func:`proxies._stateless.swapped_modules`: BatchNorm2d -> :class:`BatchStatsNorm2d`."""
    if isinstance(module, nn.BatchNorm2d):
        return BatchStatsNorm2d(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        raise ValueError(f"NASWOT and jacov support BatchNorm2d only, found {type(module).__name__}")
    return None


def relu_forward(net: nn.Module, batch: torch.Tensor, *, codes: bool = True, input_grad: bool = True) -> ReluForward:
    """Run ``batch`` through ``net`` in training mode; collect ReLU codes and/or the input Jacobian.

    ``net`` is left unchanged: its BatchNorm layers are swapped for :class:`BatchStatsNorm2d`
    during the call (batch statistics, running statistics not updated) and it runs with
    channels-last copies of its weights.
    """
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', batch)!r}")
    if batch.shape[0] < 2:
        raise ValueError(f"NASWOT and jacov need a batch of at least 2 samples, got {batch.shape[0]}")
    n = batch.shape[0]
    K = torch.zeros(n, n, dtype=torch.float64) if codes else None
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # id -> (tensor kept alive, its kernel)
    count = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal count
        t = inputs[0]
        count += 1
        entry = seen.get(id(t))
        if entry is None or entry[0] is not t:
            entry = (t, _code_kernel(t))
            seen[id(t)] = entry
        K.add_(entry[1])

    x = batch.detach().to(torch.float32).contiguous(memory_format=torch.channels_last)
    if input_grad:
        x = x.clone().requires_grad_(True)
    with swapped_modules(net, batch_stats_norm), training_mode(net, True):
        tensors = {k: _channels_last(v.detach()) for k, v in net.named_parameters()}
        tensors.update({k: v.detach().clone() for k, v in net.named_buffers()})
        relus = [m for m in net.modules() if isinstance(m, nn.ReLU)] if codes else []
        with forward_hooks(relus, hook), torch.set_grad_enabled(input_grad):
            y = call_with(net, tensors, x)
    seen.clear()
    jac = None
    if input_grad:
        if y.requires_grad:
            (g,) = torch.autograd.grad(y.sum(), x)
        else:  # the output does not depend on the input (it never reaches the output)
            g = torch.zeros_like(x)
        jac = g.detach().reshape(n, -1).to(torch.float64)
    return ReluForward(K=K, jacobian=jac, relus=count, outputs=int(y.shape[-1]) if y.dim() > 1 else 1)


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def shared_relu_forward(net: nn.Module, batch: torch.Tensor, names: frozenset[str]) -> ReluForward:
    """The shared pass for the requested proxies: codes if NASWOT is wanted, gradient if jacov or epe_nas is."""
    return relu_forward(net, batch, codes="naswot" in names, input_grad=bool({"jacov", "epe_nas"} & names))
