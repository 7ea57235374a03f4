"""linear_regions (TE-NAS, Chen et al. ICLR 2021): number of linear regions of a thin network; higher is better.

TE-NAS counts the linear regions of a *thin* version of the network, not of the full one:
one cell with C = 1 channel, no stem, followed by BatchNorm + ReLU (its ``model_config_thin``:
``C=1, N=1, depth=1, use_stem=False``), on inputs of shape 1 x 3 x 3 (its
``Linear_Region_Collector(input_size=(1000, 1, 3, 3), sample_batch=3)``): 3 batches of 1000
random 3 x 3 crops of one randomly chosen channel of normalised CIFAR images. A linear region
is one activation pattern: for each input, the signs of the outputs of every ``nn.ReLU``
whose input is 4-d (the ReLUs of the cell's convolutions and the last one), concatenated;
the count is the number of distinct patterns among the 3000 inputs (TE-NAS's ``calc_LR``
sums, over the inputs, 1 / the number of inputs with the same pattern, which is that
number).

Here: the thin network is built from the architecture of the network given (``net.arch``: an
NB201 cell, :class:`proxies.network.Cell` with 1 channel, then BatchNorm2d(1) + ReLU; NB101
and NB301 architectures, :func:`proxies.nb101_network.thin_nb101_network` and
:func:`proxies.darts_network.thin_darts_network`), in
training mode (each batch of 1000 normalised with its own statistics, as TE-NAS's
``network_thin.train()``), with PyTorch's default initialisation drawn from a generator
seeded by (seed, architecture, init index) — TE-NAS's launch script asks for
``kaiming_normal``, which its ``init_model`` does not recognise for the forward pass, so its
thin networks keep PyTorch's default initialisation. Inputs: 3 batches of 1000 crops drawn
(with a generator seeded by the run's seed only, so every network sees the same inputs) from
the images of the given batch: image, channel and top-left corner uniformly at random; TE-NAS
draws them from the whole training set. The score is the mean count over
:data:`LR_INITS` initialisations (TE-NAS repeats 3 times).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

from graf.spaces.nb101 import NB101Arch
from graf.spaces.nb201 import NB201Arch
from graf.spaces.nb301 import NB301Arch
from proxies._forward import batch_stats_norm
from proxies._stateless import call_with, forward_hooks, swapped_modules, training_mode
from proxies.darts_network import thin_darts_network
from proxies.nb101_network import thin_nb101_network
from proxies.network import Cell, _uninitialised_on_cpu, init_default, net_seed
from proxies.registry import register

#: TE-NAS's setting: 3 batches of 1000 inputs of 1 x 3 x 3, repeated over 3 initialisations
LR_BATCHES = 3
LR_BATCH_SIZE = 1000
LR_PATCH = 3
LR_INITS = 3

#: the architectures with a thin network
ThinArch = NB201Arch | NB101Arch | NB301Arch


def thin_network(arch: ThinArch | str) -> nn.Module:
    """TE-NAS's thin network of an architecture (one cell, 1 channel, no stem, BN + ReLU), uninitialised.

    NB201 (an :class:`NB201Arch` or its encodings): one NB201 cell at C = 1. NB101 and NB301
    (their architecture objects): :func:`proxies.nb101_network.thin_nb101_network`,
    :func:`proxies.darts_network.thin_darts_network`.
    """
    if isinstance(arch, NB101Arch):
        return thin_nb101_network(arch)
    if isinstance(arch, NB301Arch):
        return thin_darts_network(arch)
    arch = NB201Arch.parse(arch)
    net = nn.Sequential(Cell(arch, 1, device="meta"), nn.BatchNorm2d(1, device="meta"), nn.ReLU(inplace=False))
    return _uninitialised_on_cpu(net)


def _space_arch(arch: ThinArch | str) -> ThinArch:
    return arch if isinstance(arch, (NB101Arch, NB301Arch)) else NB201Arch.parse(arch)


def crop_inputs(images: torch.Tensor, seed: int, *, batches: int = LR_BATCHES, size: int = LR_BATCH_SIZE,
                patch: int = LR_PATCH) -> list[torch.Tensor]:
    """``batches`` tensors of ``size`` random ``patch`` x ``patch`` crops of one channel of ``images`` (B, C, H, W)."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"the input batch must be a (B, C, H, W) tensor, got {getattr(images, 'shape', images)!r}")
    n, c, h, w = images.shape
    if h < patch or w < patch:
        raise ValueError(f"linear_regions needs images of at least {patch}x{patch}, got {h}x{w}")
    digest = hashlib.sha256(f"{int(seed)}|linear_regions_inputs".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    total = batches * size
    img, ch = rng.integers(0, n, total), rng.integers(0, c, total)
    top, left = rng.integers(0, h - patch + 1, total), rng.integers(0, w - patch + 1, total)
    rows = torch.as_tensor(top[:, None] + np.arange(patch)[None, :])  # (total, patch)
    cols = torch.as_tensor(left[:, None] + np.arange(patch)[None, :])
    x = images.detach().to(torch.float32)[torch.as_tensor(img)[:, None, None], torch.as_tensor(ch)[:, None, None],
                                          rows[:, :, None], cols[:, None, :]]  # (total, patch, patch)
    return list(x.unsqueeze(1).split(size))


def count_regions(net: nn.Module, inputs: list[torch.Tensor]) -> int:
    """Distinct activation patterns (signs of every ReLU output with a 4-d input) of ``net`` over all ``inputs``.

    Training mode: each tensor of ``inputs`` is one batch (BatchNorm with its statistics).
    """
    patterns: list[torch.Tensor] = []
    current: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if args[0].dim() == 4:
            current.append((output.detach() > 0).reshape(output.shape[0], -1))

    with swapped_modules(net, batch_stats_norm), training_mode(net, True), torch.no_grad():
        tensors = {k: v.detach() for k, v in net.named_parameters()}
        tensors.update({k: v.detach().clone() for k, v in net.named_buffers()})
        relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
        with forward_hooks(relus, hook):
            for x in inputs:
                current.clear()
                call_with(net, tensors, x)
                patterns.append(torch.cat(current, dim=1) if current else torch.zeros(x.shape[0], 0, dtype=torch.bool))
    codes = torch.cat(patterns).numpy()
    if codes.shape[1] == 0:
        return 1
    packed = np.ascontiguousarray(np.packbits(codes, axis=1))
    return int(np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel()).size)


def linear_regions_score(arch: ThinArch | str, images: torch.Tensor, *, seed: int, inits: int = LR_INITS) -> float:
    """Mean over ``inits`` default initialisations of the thin network's number of linear regions."""
    arch = _space_arch(arch)
    inputs = crop_inputs(images, seed)
    counts = []
    for i in range(inits):
        net = thin_network(arch)
        init_default(net, torch.Generator().manual_seed(net_seed(seed, arch, f"linear_regions{i}")))
        counts.append(count_regions(net, inputs))
    return float(np.mean(counts))


@register("linear_regions", higher_is_better=True)
def linear_regions(net, batch, *, seed: int = 0, shared: dict | None = None) -> float:
    """Distinct ReLU patterns of TE-NAS's thin net (1 cell, C=1) over 3000 3x3 crops, mean of 3 inits."""
    arch = getattr(net, "arch", None)
    if not isinstance(arch, (NB201Arch, NB101Arch, NB301Arch)):  # a ValueError: compute_proxies records it
        raise ValueError(  # noqa: TRY004
            "linear_regions builds TE-NAS's thin network of the network's cell: the network must be an NB201, "
            f"NB101 or NB301 network (with its .arch), got {type(net).__name__}"
        )
    return linear_regions_score(arch, batch, seed=seed)
