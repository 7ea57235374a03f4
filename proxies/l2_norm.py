"""l2_norm (NAS-Bench-Suite-Zero, Krishnakumar et al. NeurIPS 2022): Σ over layers of ‖W‖₂; higher is better.

For every Conv2d and Linear weight W of the freshly initialised network (biases and BatchNorm
excluded), the Euclidean (Frobenius) norm, summed over the layers (NASLib's ``l2_norm``). No
data: the score depends on the layer shapes and on the random initialisation only.
"""

from __future__ import annotations

import numpy as np

from proxies._loss import weight_layers
from proxies.registry import ProxyError, register


@register("l2_norm", higher_is_better=True, uses_batch=False)
def l2_norm(net, batch=None, *, seed: int = 0, shared: dict | None = None) -> float:
    """Σ over Conv2d/Linear layers of the Frobenius norm ‖W‖₂ of the initial weights (no data)."""
    layers = weight_layers(net)
    if not layers:
        raise ProxyError("l2_norm: the network has no Conv2d or Linear layer")
    total = 0.0
    for _, m in layers:
        w = m.weight.detach().cpu().numpy().astype(np.float64)
        total += float(np.sqrt(np.sum(w * w)))
    return total
