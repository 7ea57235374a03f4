"""params: the number of parameters of the network, in millions (not data-dependent).

Every parameter tensor counts (convolutions, BatchNorm affine weights and biases, the
classifier's weight and bias); BatchNorm running statistics are buffers and do not. This is
the ``params`` column of NAS-Bench-Suite-Zero. Higher is better (bigger NB201 nets train to
higher accuracy; Spearman ρ ≈ 0.72 with CIFAR-10 accuracy).
"""

from __future__ import annotations

from torch import nn

from proxies.registry import register


def count_parameters(net: nn.Module) -> int:
    """Number of scalar parameters of ``net`` (each shared tensor once)."""
    return sum(p.numel() for p in net.parameters())


@register("params", higher_is_better=True, uses_batch=False)
def params(net, batch=None, *, seed: int = 0, shared: dict | None = None) -> float:
    """Number of parameters, in millions."""
    return count_parameters(net) / 1e6
