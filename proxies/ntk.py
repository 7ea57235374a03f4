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
gradient: the gradients with respect to every convolution's output and BatchNorm's output are
taken in one ``autograd.grad`` call, and the per-sample weight gradients are formed layer by
layer (``δ_i`` times the input patches of sample i), each layer's contribution ``G Gᵀ`` added
to Θ without ever concatenating the 32 x P matrix J. This is the per-sample-gradient
computation ``torch.func.vmap(grad(f))`` would do, without its overhead. Θ is accumulated in
float64 from float32 layer products (TE-NAS works in float32 throughout).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.network import kaiming_normal_tensors, net_seed
from proxies.registry import ProxyError, register

NTK_BATCH = 32
NTK_INITS = 3


class _Recorder:
    """Collects, during one forward pass, what the per-sample weight gradients need."""

    def __init__(self) -> None:
        self.convs: list[tuple[nn.Conv2d, torch.Tensor, torch.Tensor]] = []  # (module, input, output)
        self.norms: list[tuple[torch.Tensor, torch.Tensor]] = []  # (normalised input, output)
        self.linears: list[tuple[nn.Linear, torch.Tensor]] = []  # (module, input)

    def hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            self.convs.append((module, inputs[0], output))
        elif isinstance(module, nn.Linear):
            self.linears.append((module, inputs[0]))

    def clear(self) -> None:
        self.convs.clear()
        self.norms.clear()
        self.linears.clear()


class _PerSampleBatchNorm(nn.Module):
    """BatchNorm2d in training mode applied to each sample as its own batch (stats over H x W).

    Holds the original layer's ``weight`` and ``bias`` under the same names, and no buffers.
    """

    def __init__(self, bn: nn.BatchNorm2d, recorder: _Recorder):
        super().__init__()
        if not bn.affine:
            raise ValueError("the NTK proxy expects affine BatchNorm layers")
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps
        self.recorder = recorder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # group norm with one channel per group = batch norm of each sample on its own
        channels = x.shape[1]
        out = F.group_norm(x, channels, self.weight, self.bias, self.eps)
        with torch.no_grad():
            xhat = F.group_norm(x.detach(), channels, None, None, self.eps)
        self.recorder.norms.append((xhat, out))
        return out


def _per_sample_bn(recorder: _Recorder):
    def replace(module: nn.Module) -> nn.Module | None:
        if isinstance(module, nn.BatchNorm2d):
            return _PerSampleBatchNorm(module, recorder)
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            raise ValueError(f"the NTK proxy supports BatchNorm2d only, found {type(module).__name__}")
        return None

    return replace


def _per_sample_weight_grads(conv: nn.Conv2d, inp: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Per-sample gradients of a convolution's weight, (B, C_out, C_in/groups, k_h, k_w).

    Sample i's gradient is the weight gradient of the convolution of ``inp[i]`` with output
    gradient ``delta[i]``; all samples at once are one grouped convolution backward, the samples
    stacked along the channel axis as the groups (1x1 convolutions: one batched matrix product).
    Both give the same bits for any number of threads (PyTorch's own weight gradient, summed
    over the batch, does not).
    """
    if not isinstance(conv.padding, tuple):
        raise ValueError(f"the NTK proxy needs numeric convolution padding, got {conv.padding!r}")
    n = inp.shape[0]
    c_out = conv.out_channels
    if conv.kernel_size == (1, 1) and conv.stride == (1, 1) and conv.padding == (0, 0) and conv.groups == 1:
        # a 1x1 convolution is a matrix product per sample: (C_out x L) @ (L x C_in)
        d = delta.permute(0, 2, 3, 1).reshape(n, -1, c_out)
        a = inp.permute(0, 2, 3, 1).reshape(n, -1, inp.shape[1])
        return torch.bmm(d.transpose(1, 2), a).reshape(n, c_out, inp.shape[1], 1, 1)
    stacked_in = inp.reshape(1, n * inp.shape[1], *inp.shape[2:])
    stacked_delta = delta.reshape(1, n * delta.shape[1], *delta.shape[2:])
    weight = conv.weight.detach().repeat(n, 1, 1, 1)
    _, grad_weight, _ = torch.ops.aten.convolution_backward(
        stacked_delta,
        stacked_in,
        weight,
        None,
        list(conv.stride),
        list(conv.padding),
        list(conv.dilation),
        False,
        [0, 0],
        n * conv.groups,
        [False, True, False],
    )
    return grad_weight.reshape(n, c_out, *grad_weight.shape[1:])


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
    targets = [out for _, _, out in recorder.convs] + [out for _, out in recorder.norms]
    grads = torch.autograd.grad(logits.sum(), targets, allow_unused=True) if targets else []
    n = x.shape[0]
    theta = torch.zeros(n, n, dtype=torch.float64)
    with torch.no_grad():
        for (conv, inp, out), delta in zip(recorder.convs, grads[: len(recorder.convs)]):
            if delta is not None:
                theta += _gram(_per_sample_weight_grads(conv, inp.detach(), delta))
        for (xhat, _), delta in zip(recorder.norms, grads[len(recorder.convs) :]):
            if delta is not None:
                theta += _gram((delta * xhat).sum(dim=(2, 3)))
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


@register("ntk", higher_is_better=False)
def ntk(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """NTK condition number λ_max/λ_min, mean over 3 Kaiming-normal inits, first 32 samples, per-sample BN."""
    x = batch[:NTK_BATCH]
    if x.shape[0] < 2:
        raise ValueError(f"the NTK proxy needs a batch of at least 2 samples, got {x.shape[0]}")
    arch = getattr(net, "arch", None)
    conds = []
    for i in range(NTK_INITS):
        salt = f"ntk{i}"
        generator = torch.Generator().manual_seed(net_seed(seed, arch, salt) if arch is not None else seed * 1000 + i)
        conds.append(condition_number(ntk_matrix(net, x, kaiming_normal_tensors(net, generator, mode="fan_out"))))
    return sum(conds) / len(conds)
