"""jacov (Mellor et al., NASWOT v1): score of the correlation of input Jacobians; higher is better.

J is the gradient of the summed logits with respect to the input batch, one flattened row
per sample (the network is a training-mode copy, so BatchNorm couples the samples, exactly as
NASLib computed the NAS-Bench-Suite-Zero ``jacov`` values). ``C = corrcoef(J)`` (B x B),
``v`` its eigenvalues, and the score is ``-Σ (log(v + k) + 1 / (v + k))`` with ``k = 1e-5``.
"""

from __future__ import annotations

import numpy as np

from proxies._forward import SHARED_NAME, relu_forward, shared_relu_forward
from proxies.registry import SHARED, ProxyError, register

SHARED.setdefault(SHARED_NAME, shared_relu_forward)

K_EPS = 1e-5


def jacov_score(jacobian: np.ndarray, k: float = K_EPS) -> float:
    """``-Σ (log(v + k) + 1/(v + k))`` over the eigenvalues v of ``corrcoef(jacobian)``."""
    J = np.asarray(jacobian, dtype=np.float64)
    std = J.std(axis=1)
    if not np.all(np.isfinite(J)):
        raise ProxyError("jacov: the input Jacobian has non-finite entries")
    if np.any(std == 0):
        raise ProxyError(
            f"jacov: {int(np.sum(std == 0))} sample(s) have a constant input Jacobian (e.g. zero because the "
            "input never reaches the output), so their correlation is undefined"
        )
    corr = np.corrcoef(J)
    v = np.linalg.eigvalsh(corr)
    if np.any(v + k <= 0):
        raise ProxyError(f"jacov: eigenvalue {v.min():.3g} + k <= 0, the log is undefined")
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


@register("jacov", higher_is_better=True, shared_with=SHARED_NAME, iso_invariant=True)
def jacov(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """-Σ(log(v+k) + 1/(v+k)) over eigenvalues v of corrcoef of per-sample input gradients, k=1e-5."""
    fwd = shared.get(SHARED_NAME) if shared else None
    if fwd is None or fwd.jacobian is None:
        fwd = relu_forward(net, batch, codes=False, input_grad=True)
    return jacov_score(fwd.jacobian.numpy())
