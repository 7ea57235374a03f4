"""epe_nas (Lopes et al. ICANN 2021, "EPE-NAS"): per-class correlation of input Jacobians; higher is better.

J is jacov's Jacobian: the gradient of the summed logits with respect to the input batch, one
flattened row per sample, from the same training-mode pass (BatchNorm with batch
statistics). The samples are grouped by their class label; for each class c present in the
batch, ``C_c = corrcoef(J_c)`` (the rows of that class) and

    s_c = Σ_ij log(|C_c[i, j]| + k),   k = 1e-5.

With at most 100 output classes the score is ``Σ_c |s_c|``. With more (ImageNet16-120),
as EPE-NAS and NASLib do, ``s_c`` is divided by the number of samples of class c and the score
is ``Σ_c Σ_c' |s_c − s_c'| / (number of classes present)``. A class with a single sample has
the 1 x 1 correlation matrix [1] (NASLib's ``corrcoef`` of one row), so it adds ``log(1 + k)``
with at most 100 classes and is left out with more (where NASLib's division by its size
fails and skips it). A sample whose Jacobian is constant (e.g. zero because the input never
reaches the output) makes the score undefined: a failure.
"""

from __future__ import annotations

import numpy as np

from proxies._forward import SHARED_NAME, relu_forward, shared_relu_forward
from proxies._loss import check_labels
from proxies.registry import SHARED, ProxyError, labels_of, register

SHARED.setdefault(SHARED_NAME, shared_relu_forward)

K_EPS = 1e-5
#: above this many output classes, EPE-NAS uses its pairwise-difference form
PAIRWISE_ABOVE = 100


def epe_nas_score(jacobian: np.ndarray, labels: np.ndarray, classes: int, k: float = K_EPS) -> float:
    """The EPE-NAS score of a (B, D) Jacobian with one label per row (see the module docstring)."""
    J = np.asarray(jacobian, dtype=np.float64)
    y = np.asarray(labels)
    if not np.all(np.isfinite(J)):
        raise ProxyError("epe_nas: the input Jacobian has non-finite entries")
    constant = J.std(axis=1) == 0
    if np.any(constant):
        raise ProxyError(
            f"epe_nas: {int(constant.sum())} sample(s) have a constant input Jacobian (e.g. zero because the input "
            "never reaches the output), so their correlation is undefined"
        )
    pairwise = classes > PAIRWISE_ABOVE
    per_class = []
    for c in np.unique(y):
        rows = J[y == c]
        if len(rows) == 1:
            if pairwise:
                continue
            per_class.append(np.log(1.0 + k))
            continue
        s = float(np.sum(np.log(np.abs(np.corrcoef(rows)) + k)))
        per_class.append(s / len(rows) if pairwise else s)
    if not per_class:
        raise ProxyError("epe_nas: no class has two or more samples in the batch")
    s = np.asarray(per_class)
    if pairwise:
        return float(np.sum(np.abs(s[:, None] - s[None, :])) / len(s))
    return float(np.sum(np.abs(s)))


@register("epe_nas", higher_is_better=True, shared_with=SHARED_NAME, uses_labels=True, iso_invariant=True)
def epe_nas(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ_c |Σ_ij log(|corrcoef(J_c)| + 1e-5)| over the classes c, J_c = input Jacobians of class c's samples."""
    fwd = shared.get(SHARED_NAME) if shared else None
    if fwd is None or fwd.jacobian is None:
        fwd = relu_forward(net, batch, codes=False, input_grad=True)
    y = check_labels(labels_of(batch, shared), batch, fwd.outputs or None)
    return epe_nas_score(fwd.jacobian.numpy(), y.numpy(), fwd.outputs)
