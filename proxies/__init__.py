"""Zero-cost proxies of NAS-Bench-201 networks (needs torch; ``graf`` never imports this package).

>>> from proxies import build_network, cifar10_batch, compute_proxies  # doctest: +SKIP
>>> net = build_network((2, 4, 0, 0, 3, 2), seed=0)  # doctest: +SKIP
>>> compute_proxies(net, cifar10_batch(64, 0), ["naswot", "ntk"], seed=0)  # doctest: +SKIP

Definitions: ``docs/proxies.md``. Tables of many networks: :func:`proxies.runner.run_proxies`
and ``graf proxies``.
"""

from proxies.batch import cifar10_batch, synthetic_batch
from proxies.network import NETWORK_BUILDERS, TinyNetwork, build_network, network_builder
from proxies.registry import PROXIES, Proxy, ProxyError, available, compute_proxies, get_proxy

__all__ = [
    "PROXIES",
    "Proxy",
    "ProxyError",
    "TinyNetwork",
    "available",
    "build_network",
    "network_builder",
    "NETWORK_BUILDERS",
    "cifar10_batch",
    "compute_proxies",
    "get_proxy",
    "synthetic_batch",
]
