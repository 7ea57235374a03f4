"""flops: forward FLOPs of the network for one 3x32x32 input, in millions (not data-dependent).

Counted the way NAS-Bench-Suite-Zero's ``flops`` column was (NASLib uses tensorwatch's
ModelStats, whose per-layer rules come from torchstat), which this reproduces exactly:
one forward pass of a single input in eval mode, summing over leaf modules

* Conv2d: ``k_h * k_w * C_in * C_out / groups * H_out * W_out`` multiply-adds (+ ``C_out * H_out * W_out``
  with a bias);
* BatchNorm2d: the input's element count, doubled when affine;
* ReLU: the input's element count;
* AvgPool2d / MaxPool2d: ``C * H_out * W_out * k_h * k_w``;
* AdaptiveAvgPool2d: per output cell, ``C * (y_end - y_start + 1) * (x_end - x_start + 1)`` (torchstat's rule,
  which counts one row and one column more than the window: 81 per channel for an 8x8 input);
* Linear: ``in_features * out_features`` (the bias is not counted);
* anything else (identities, additions of cell nodes): 0.

A module called several times in one forward pass counts once, with its last call (as
tensorwatch's per-module statistics). Higher is better (ρ ≈ 0.69 with CIFAR-10 accuracy).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from proxies._stateless import forward_hooks, training_mode
from proxies.registry import register


def _pool_flops(module: nn.Module, inp: torch.Tensor) -> int:
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)

    k, s, p = pair(module.kernel_size), pair(module.stride), pair(module.padding)
    n, c, h, w = inp.shape
    out_w = math.floor((w + 2 * p[0] - k[0]) / float(s[0]) + 1)
    out_h = math.floor((h + 2 * p[1] - k[1]) / float(s[0]) + 1)
    return n * c * out_w * out_h * k[0] * k[1]


def _adaptive_pool_flops(inp: torch.Tensor, out: torch.Tensor) -> int:
    n, c, h, w = inp.shape
    oh, ow = out.shape[2], out.shape[3]
    total = 0
    for i in range(oh):
        y0, y1 = math.floor(i * h / oh), math.ceil((i + 1) * h / oh)
        for j in range(ow):
            x0, x1 = math.floor(j * w / ow), math.ceil((j + 1) * w / ow)
            total += n * c * (y1 - y0 + 1) * (x1 - x0 + 1)
    return total


def module_flops(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """FLOPs of one call of a leaf module, by the rules in this module's docstring."""
    if isinstance(module, nn.Conv2d):
        n, c_in = inp.shape[:2]
        c_out, h_out, w_out = out.shape[1:]
        k_h, k_w = module.kernel_size
        active = n * h_out * w_out
        flops = k_h * k_w * c_in * (c_out // module.groups) * active
        return flops + (c_out * active if module.bias is not None else 0)
    if isinstance(module, nn.BatchNorm2d):
        return inp.numel() * (2 if module.affine else 1)
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        return _pool_flops(module, inp)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return _adaptive_pool_flops(inp, out)
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU)):
        return inp.numel()
    if isinstance(module, nn.Linear):
        return inp.shape[0] * inp.shape[1] * out.shape[1]
    return 0


def count_flops(net: nn.Module, input_shape: tuple[int, ...] = (3, 32, 32)) -> int:
    """Forward FLOPs of ``net`` for one input of ``input_shape`` (an eval-mode, no-grad pass; ``net`` unchanged).

    Only shapes matter: a network on the ``meta`` device is counted without computing anything.
    """
    per_module: dict[nn.Module, int] = {}

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        per_module[module] = module_flops(module, inputs[0], output)

    leaves = [m for m in net.modules() if not m._modules]
    param = next(net.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    with training_mode(net, False), forward_hooks(leaves, hook), torch.no_grad():
        net(torch.zeros((1, *input_shape), dtype=dtype, device=device))
    return sum(per_module.values())


@register("flops", higher_is_better=True, uses_batch=False)
def flops(net, batch=None, *, seed: int = 0, shared: dict | None = None) -> float:
    """Forward FLOPs (M) for one 3x32x32 input, counted as NAS-Bench-Suite-Zero (tensorwatch)."""
    shape = tuple(batch.shape[1:]) if batch is not None else (3, 32, 32)
    return count_flops(net, shape) / 1e6
