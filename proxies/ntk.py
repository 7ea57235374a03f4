"""NTK condition number (TE-NAS, Chen et al. ICLR 2021): κ = λ_max / λ_min of Θ = J Jᵀ; lower is better.

For each of 3 fresh initialisations (TE-NAS's Kaiming normal, fan_out, ReLU gain; biases 0;
BatchNorm weight 1, bias 0), each drawn from a generator seeded by (seed, architecture,
init index), and the first 32 samples of the batch: J's row i is the gradient of sample i's
summed logits with respect to every weight parameter (parameters whose name contains
``weight``: convolutions, BatchNorm scales, the classifier's weight; biases excluded, as in
TE-NAS), Θ = J Jᵀ (32 x 32), κ = λ_max / λ_min. The score is the mean of κ over the 3 inits.

Training mode, per-sample BatchNorm statistics. TE-NAS runs the whole batch through a
training-mode network, so BatchNorm statistics couple the samples and it needs one backward
pass per sample (32 per init). Here each sample is its own batch: BatchNorm in training mode
normalises each sample's channels over its own H x W positions. The samples are then
independent, so one forward and one backward pass of the batch give every per-sample
gradient: the gradients with respect to every convolution's output come from one
``autograd.grad`` call, the per-sample BatchNorm weight gradients from the BatchNorm layers'
own backward, and the per-sample convolution weight gradients are formed layer by layer
(``δ_i`` against the input of sample i); each layer's contribution ``G Gᵀ`` is added to Θ
without ever concatenating the 32 x P matrix J. This is the per-sample-gradient computation
``torch.func.vmap(grad(f))`` would do, without its overhead (the per-sample weight gradients
are :func:`proxies._loss.per_sample_conv_weight_grads`, shared with the loss-gradient proxies).
Θ is accumulated in float64 from float32 layer products (TE-NAS works in float32 throughout).

Non-affine BatchNorm layers (DARTS's cells) normalise with weight 1 and bias 0 and add nothing
to J. A DARTS (NB301) network's cells end in BatchNorm straight into the global pooling, which
makes Θ zero (per-sample statistics) or singular (batch statistics); TE-NAS's DARTS network has
a last BatchNorm + ReLU before the pooling, so for NB301 networks one is put there during the
call (per-sample, without parameters).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graf.spaces.nb301 import NB301Arch
from proxies._forward import BatchNormLike
from proxies._loss import per_sample_conv_weight_grads
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.network import kaiming_normal_tensors, net_seed
from proxies.registry import ProxyError, register

NTK_BATCH = 32
NTK_INITS = 3


class _Recorder:
    """Collects, during one forward and backward pass, what the per-sample weight gradients need."""

    def __init__(self) -> None:
        self.convs: list[tuple[nn.Conv2d, torch.Tensor, torch.Tensor]] = []  # (module, input, output)
        self.linears: list[tuple[nn.Linear, torch.Tensor]] = []  # (module, input)
        self.norm_grads: list[torch.Tensor] = []  # per-sample BatchNorm weight gradients (B, C), from backward

    def hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            self.convs.append((module, inputs[0], output))
        elif isinstance(module, nn.Linear):
            self.linears.append((module, inputs[0]))

    def clear(self) -> None:
        self.convs.clear()
        self.linears.clear()
        self.norm_grads.clear()


class _PerSampleNorm(torch.autograd.Function):
    """BatchNorm in training mode with each sample its own batch: statistics over (H, W) per sample.

    The backward pass returns the input gradient and records each sample's gradient of the
    BatchNorm weight, ``Σ_hw g * xhat`` (B, C), in the recorder (if any). Every reduction is a
    per-sample sum over (H, W) (parallel over samples and channels, so the same for any
    number of threads); statistics in float32, like PyTorch's own BatchNorm.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, recorder):
        n, c, h, w = x.shape
        inv_m = 1.0 / (h * w)
        d = x - (x.sum(dim=(2, 3), keepdim=True) * inv_m)
        invstd = torch.rsqrt((d * d).sum(dim=(2, 3), keepdim=True) * inv_m + eps)  # (B, C, 1, 1)
        ctx.save_for_backward(d, invstd, weight.detach())
        ctx.recorder = recorder
        # (``out=``: PyTorch's own output allocation makes a broadcast addcmul 4x slower here)
        return torch.addcmul(bias.detach().view(1, c, 1, 1), d, invstd * weight.detach().view(1, c, 1, 1),
                             out=torch.empty_like(d))

    @staticmethod
    def backward(ctx, grad):
        d, invstd, weight = ctx.saved_tensors
        n, c, h, w = grad.shape
        inv_m = 1.0 / (h * w)
        sum_g = grad.sum(dim=(2, 3), keepdim=True)
        sum_gd = (grad * d).sum(dim=(2, 3), keepdim=True)
        if ctx.recorder is not None:  # Σ_hw g * xhat, per sample and channel (affine layers only)
            ctx.recorder.norm_grads.append((sum_gd * invstd).view(n, c))
        # dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)), xhat = d * invstd
        a = invstd * weight.view(1, c, 1, 1)
        out = torch.addcmul(a * sum_g * (-inv_m), grad, a, out=torch.empty_like(d))
        out.addcmul_(d, a * invstd * invstd * sum_gd * (-inv_m))
        return out, None, None, None, None


class _PerSampleBatchNorm(BatchNormLike):
    """BatchNorm2d in training mode applied to each sample as its own batch (stats over H x W).

    Holds the original layer's ``weight`` and ``bias`` under the same names and no other
    buffers; a non-affine layer (DARTS's cell BatchNorms) normalises with weight 1 and bias 0
    (buffers), has no parameters and so adds nothing to J.
    """

    def __init__(self, bn: nn.BatchNorm2d, recorder: _Recorder):
        super().__init__(bn)
        self.recorder = recorder if bn.affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _PerSampleNorm.apply(x, self.weight, self.bias, self.eps, self.recorder)


def _per_sample_bn(recorder: _Recorder):
    def replace(module: nn.Module) -> nn.Module | None:
        if isinstance(module, nn.BatchNorm2d):
            return _PerSampleBatchNorm(module, recorder)
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            raise ValueError(f"the NTK proxy supports BatchNorm2d only, found {type(module).__name__}")
        return None

    return replace


def _gram(g: torch.Tensor) -> torch.Tensor:
    g = g.reshape(g.shape[0], -1)
    return (g @ g.T).to(torch.float64)


def ntk_matrix(net: nn.Module, batch: torch.Tensor, tensors: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Θ = J Jᵀ (float64, B x B) of ``net`` (training mode, per-sample BatchNorm) on ``batch``.

    J's rows are per-sample gradients of the summed logits with respect to every Conv2d weight,
    BatchNorm2d weight and Linear weight. ``tensors`` (name -> value, every parameter) replaces
    the network's parameters; by default its own are used. ``net`` is left unchanged.
    """
    recorder = _Recorder()
    with swapped_modules(net, _per_sample_bn(recorder)), training_mode(net, True):
        source = tensors if tensors is not None else dict(net.named_parameters())
        values = {k: _channels_last(source[k].detach()).requires_grad_(True) for k, _ in net.named_parameters()}
        values.update({k: v.detach().clone() for k, v in net.named_buffers()})
        leaves = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        x = batch.detach().to(torch.float32).contiguous(memory_format=torch.channels_last)
        with forward_hooks(leaves, recorder.hook):
            logits = call_with(net, values, x)
    if logits.dim() != 2:
        raise ValueError(f"the NTK proxy expects (B, classes) logits, got shape {tuple(logits.shape)}")
    targets = [out for _, _, out in recorder.convs]
    grads = torch.autograd.grad(logits.sum(), targets, allow_unused=True) if targets else []
    n = x.shape[0]
    theta = torch.zeros(n, n, dtype=torch.float64)
    with torch.no_grad():
        for (conv, inp, out), delta in zip(recorder.convs, grads[: len(recorder.convs)]):
            if delta is not None:
                theta += _gram(per_sample_conv_weight_grads(conv, inp.detach(), delta))
        for per_sample in recorder.norm_grads:
            theta += _gram(per_sample)
        for linear, feats in recorder.linears:
            # d(sum of sample i's logits)/dW = 1 ⊗ f_i, so <g_i, g_j> = classes * <f_i, f_j>
            theta += linear.out_features * _gram(feats.detach())
    recorder.clear()
    return theta


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def condition_number(theta: torch.Tensor) -> float:
    """λ_max / λ_min of a symmetric matrix; :class:`ProxyError` when λ_min <= 0 (singular NTK)."""
    eig = torch.linalg.eigvalsh(theta.to(torch.float64))
    lo, hi = float(eig[0]), float(eig[-1])
    if not (lo > 0):
        raise ProxyError(
            f"ntk: the NTK is singular (smallest eigenvalue {lo:.3g}, largest {hi:.3g}), so its condition number "
            "is undefined; e.g. the input never reaches the output"
        )
    return hi / lo


@register("ntk", higher_is_better=False, iso_invariant=True)
def ntk(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """NTK condition number λ_max/λ_min, mean over 3 Kaiming-normal inits, first 32 samples, per-sample BN."""
    x = batch[:NTK_BATCH]
    if x.shape[0] < 2:
        raise ValueError(f"the NTK proxy needs a batch of at least 2 samples, got {x.shape[0]}")
    arch = getattr(net, "arch", None)
    conds = []
    with swapped_modules(net, _last_activation if isinstance(arch, NB301Arch) else (lambda m: None)):
        for i in range(NTK_INITS):
            salt = f"ntk{i}"
            generator = torch.Generator().manual_seed(net_seed(seed, arch, salt) if arch is not None else seed * 1000 + i)
            conds.append(condition_number(ntk_matrix(net, x, kaiming_normal_tensors(net, generator, mode="fan_out"))))
    return sum(conds) / len(conds)


def _last_activation(module: nn.Module) -> nn.Module | None:
    """TE-NAS's DARTS network ends in BatchNorm + ReLU before the global pooling: put them in front of it.

    Non-affine (at TE-NAS's init, weight 1 and bias 0, the same function), so no new parameters.
    """
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return _BatchNormReLUPool(module)
    return None


class _BatchNormReLUPool(nn.Module):
    """A lazily sized non-affine BatchNorm2d, ReLU, then the network's own pooling."""

    def __init__(self, pool: nn.AdaptiveAvgPool2d):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(_PerSampleNorm.apply(x, torch.ones(x.shape[1]), torch.zeros(x.shape[1]), 1e-5, None)))
