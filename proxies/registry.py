"""The proxy registry: one :class:`Proxy` per name, registered by a decorator in its own module.

A proxy function has the signature ``fn(net, batch, *, seed, shared) -> float``:

* ``net``: a freshly initialised network; the proxy must not change it (it works on a copy);
* ``batch``: the input minibatch, float32 ``(B, 3, H, W)`` (ignored by params, flops and l2_norm);
* ``seed``: the run's seed, for proxies that draw their own initialisations (NTK, zen);
* ``shared``: a dict of results shared between proxies computed on the same ``(net, batch)``
  (NASWOT, jacov and epe_nas share one forward pass; snip, grasp, fisher, grad_norm and plain
  share one loss gradient, cached there by the first of them); ``None`` when the proxy is computed
  alone. It may hold the batch's class labels under :data:`LABELS`.

Labels. Proxies registered with ``uses_labels=True`` (the loss-based snip, grasp, fisher,
grad_norm, plain, and epe_nas) need the class labels of the batch: ``shared[LABELS]`` when
given (``compute_proxies(..., labels=y)`` puts them there), else the ``labels`` attribute that
the batches of :mod:`proxies.batch` carry (see :func:`labels_of`).

:meth:`Proxy.compute` wraps the function: it returns one finite Python float, or raises
:class:`ProxyError` explaining why the score does not exist (NaN or infinite values are never
returned silently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "Proxy", "ProxyError", "register", "get_proxy", "available", "PROXIES", "compute_proxies", "LABELS", "labels_of",
]  # fmt: skip

#: key of the batch's class labels in ``shared``
LABELS = "labels"


def labels_of(batch: Any, shared: Mapping | None = None) -> Any:
    """The class labels of ``batch``: ``shared[LABELS]`` if given, else the batch's ``labels`` attribute, else None."""
    if shared is not None and shared.get(LABELS) is not None:
        return shared[LABELS]
    return getattr(batch, "labels", None)


class ProxyError(ValueError):
    """A proxy has no finite value for this network (the message says why)."""


ProxyFn = Callable[..., float]


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy.

    ``higher_is_better`` is metadata: scores are raw, never sign-flipped. ``uses_batch`` says
    whether the score depends on the input batch; ``uses_labels`` whether it also needs the
    batch's class labels (see :func:`labels_of`); ``shared_with`` names the shared computation
    (see :data:`SHARED`) the proxy can reuse, if any. ``iso_invariant``: the score does not
    depend on modules whose output never reaches the network's output (their presence or
    their weights), so cells with equal ``iso_key`` (the same function) get values that differ
    only through their random initialisations; ``graf proxies --one-per-class`` computes such
    proxies once per class (tests check the property on a cell with a dead convolution).
    """

    name: str
    higher_is_better: bool
    fn: ProxyFn = field(repr=False)
    uses_batch: bool = True
    shared_with: str | None = None
    description: str = ""
    uses_labels: bool = False
    iso_invariant: bool = False

    def compute(self, net: Any, batch: Any = None, *, seed: int = 0, shared: dict | None = None) -> float:
        """The proxy's score of ``net`` on ``batch``: a finite float, else :class:`ProxyError`."""
        if self.uses_batch and batch is None:
            raise ValueError(f"proxy {self.name!r} needs an input batch")
        if self.uses_labels and labels_of(batch, shared) is None:
            raise ValueError(
                f"proxy {self.name!r} needs the class labels of the batch: use a batch of proxies.batch (it carries "
                "them as its 'labels' attribute) or pass them (compute_proxies(..., labels=y), or shared={'labels': y})"
            )
        value = self.fn(net, batch, seed=seed, shared=shared)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ProxyError(f"{self.name} returned a non-number {value!r}") from None
        if not math.isfinite(value):
            raise ProxyError(f"{self.name} is {value} (not finite)")
        return value


#: name -> Proxy, filled by the proxy modules' ``@register`` decorators (see :func:`load_all`).
PROXIES: dict[str, Proxy] = {}
#: shared computation name -> fn(net, batch, names) -> dict stored in ``shared``.
SHARED: dict[str, Callable[[Any, Any, frozenset[str]], dict]] = {}

_PROXY_MODULES = (
    "naswot", "synflow", "jacov", "ntk", "params", "flops",
    "snip", "grasp", "fisher", "grad_norm", "l2_norm", "plain", "epe_nas", "zen",
    "zico", "meco", "swap", "linear_regions",  # module swap also registers reg_swap (listed last)
)  # fmt: skip


def register(
    name: str,
    *,
    higher_is_better: bool,
    uses_batch: bool = True,
    shared_with: str | None = None,
    uses_labels: bool = False,
    iso_invariant: bool = False,
) -> Callable[[ProxyFn], ProxyFn]:
    """Register ``fn`` as proxy ``name`` (decorator). The docstring's first line is its description."""

    def decorate(fn: ProxyFn) -> ProxyFn:
        if name in PROXIES:
            raise KeyError(f"proxy {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        PROXIES[name] = Proxy(
            name=name,
            higher_is_better=higher_is_better,
            fn=fn,
            uses_batch=uses_batch,
            shared_with=shared_with,
            description=doc[0] if doc else "",
            uses_labels=uses_labels,
            iso_invariant=iso_invariant,
        )
        return fn

    return decorate


def load_all() -> None:
    """Import every proxy module so that all proxies are registered."""
    import importlib

    for module in _PROXY_MODULES:
        importlib.import_module(f"proxies.{module}")


def available() -> list[str]:
    """The registered proxy names, in the order of :data:`_PROXY_MODULES`."""
    load_all()
    first = [n for n in _PROXY_MODULES if n in PROXIES]
    return first + [n for n in PROXIES if n not in first]


def get_proxy(name: str) -> Proxy:
    """The proxy registered as ``name``; a ValueError listing the valid names otherwise."""
    load_all()
    try:
        return PROXIES[name]
    except KeyError:
        raise ValueError(f"unknown proxy {name!r}; available: {', '.join(available())}") from None


def compute_proxies(
    net: Any, batch: Any, names: Iterable[str], *, seed: int = 0, labels: Any = None
) -> Mapping[str, float | ProxyError | Exception]:
    """Every proxy of ``names`` on one ``(net, batch)``, sharing work where proxies allow it.

    ``labels``: the batch's class labels (int64, ``(B,)``) for the proxies that use them; by
    default those the batch carries (:func:`labels_of`).

    Returns name -> score, or name -> the exception that proxy raised (so that one failing proxy
    does not lose the others). Exceptions other than :class:`ProxyError`, ValueError and
    RuntimeError (e.g. KeyboardInterrupt, MemoryError) propagate.
    """
    names = list(dict.fromkeys(names))
    proxies = [get_proxy(n) for n in names]
    shared: dict = {} if labels is None else {LABELS: labels}
    wanted = frozenset(names)
    results: dict[str, float | Exception] = {}
    for proxy in proxies:
        try:
            key = proxy.shared_with
            if key is not None and key not in shared:
                try:
                    shared[key] = SHARED[key](net, batch, wanted)
                except _CAUGHT as exc:  # every proxy sharing it fails the same way, computed once
                    shared[key] = exc
            if key is not None and isinstance(shared[key], Exception):
                raise shared[key]
            results[proxy.name] = proxy.compute(net, batch, seed=seed, shared=shared)
        except _CAUGHT as exc:
            results[proxy.name] = exc
    return results


_CAUGHT = (ValueError, RuntimeError, ArithmeticError)
