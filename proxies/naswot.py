"""NASWOT (Mellor et al., ICML 2021): log|det K| of the ReLU-code kernel; higher is better.

For every ``nn.ReLU`` of the network, c is the binary code (ReLU input > 0) of each sample,
flattened. ``K = Σ_ReLUs c cᵀ + (1 - c)(1 - c)ᵀ`` (B x B: number of ReLU units minus the
Hamming distance between two samples' codes) and the score is ``log|det K|`` (slogdet).
The network is a training-mode copy (BatchNorm uses batch statistics), as NASLib computed
the NAS-Bench-Suite-Zero ``nwot`` values. See :mod:`proxies._forward`.
"""

from __future__ import annotations

import torch

from proxies._forward import SHARED_NAME, relu_forward, shared_relu_forward
from proxies.registry import SHARED, ProxyError, register

SHARED.setdefault(SHARED_NAME, shared_relu_forward)


def naswot_score(K: torch.Tensor) -> float:
    """``log|det K|`` of a NASWOT kernel; :class:`ProxyError` when K is singular."""
    sign, logabsdet = torch.linalg.slogdet(K.to(torch.float64))
    value = float(logabsdet)
    if sign == 0 or value == float("-inf"):
        raise ProxyError(
            "naswot: the ReLU-code kernel K is singular (log|det K| = -inf): two samples have identical "
            "codes at every ReLU, e.g. because the input never reaches the output"
        )
    return value


@register("naswot", higher_is_better=True, shared_with=SHARED_NAME)
def naswot(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """log|det K| of the ReLU binary-code kernel K (training-mode BN, slogdet)."""
    fwd = shared.get(SHARED_NAME) if shared else None
    if fwd is None or fwd.K is None:
        fwd = relu_forward(net, batch, codes=True, input_grad=False)
    if fwd.relus == 0:
        raise ProxyError("naswot: the network has no nn.ReLU module, so K is undefined")
    return naswot_score(fwd.K)
