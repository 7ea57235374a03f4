"""Running a caller's network without changing it.

Copying a 300-module network (``copy.deepcopy``) costs tens of milliseconds, several times
per network when every proxy copies. The proxies instead run the caller's module tree with
their own parameter and buffer tensors (:func:`torch.func.functional_call`), and change
modes, hooks or submodules only inside context managers that restore them on exit, even on
error. After a proxy returns, the network's parameters, buffers, modes, hooks and submodules
are exactly what they were. (The network must not be used by another thread at the same time.)
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn
from torch.func import functional_call

__all__ = ["training_mode", "swapped_modules", "forward_hooks", "call_with"]


@contextmanager
def training_mode(net: nn.Module, mode: bool) -> Iterator[nn.Module]:
    """``net.train(mode)`` inside the block; every module's own flag is restored afterwards."""
    saved = [(m, m.training) for m in net.modules()]
    try:
        net.train(mode)
        yield net
    finally:
        for m, flag in saved:
            m.training = flag


@contextmanager
def swapped_modules(net: nn.Module, replace: Callable[[nn.Module], nn.Module | None]) -> Iterator[nn.Module]:
    """Every submodule for which ``replace`` returns a module is replaced by it inside the block."""
    swaps: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for parent in list(net.modules()):
            for name, child in list(parent._modules.items()):
                if child is None:
                    continue
                new = replace(child)
                if new is not None:
                    parent._modules[name] = new
                    swaps.append((parent, name, child))
        yield net
    finally:
        for parent, name, child in reversed(swaps):
            parent._modules[name] = child


@contextmanager
def forward_hooks(modules: list[nn.Module], hook: Callable) -> Iterator[None]:
    """``hook`` registered as a forward hook of each module inside the block."""
    handles = []
    try:
        for m in modules:
            handles.append(m.register_forward_hook(hook))
        yield
    finally:
        for h in handles:
            h.remove()


def call_with(net: nn.Module, tensors: dict[str, torch.Tensor], *args: torch.Tensor) -> torch.Tensor:
    """``net(*args)`` with its parameters and buffers replaced by ``tensors`` (names as in ``state_dict``)."""
    return functional_call(net, tensors, args, strict=True)
