"""The input minibatch of the data-dependent proxies: real CIFAR-10 images, chosen with a seed.

Images: the 932 CIFAR-10 training images of ``cifar10/cifar10_data_batch_1_first932.npz``
in the data directory (uint8, official layout: R, G, B planes of 32x32, row-major). A batch
of ``batch_size`` distinct images is drawn with ``numpy.random.default_rng(seed)``
(a permutation of the 932, first ``batch_size`` taken), scaled to [0, 1] and normalised per
channel with the usual CIFAR-10 statistics :data:`CIFAR10_MEAN` / :data:`CIFAR10_STD`
(those NASLib uses for NAS-Bench-Suite-Zero). No augmentation (NAS-Bench-Suite-Zero took its
batch from an augmented training loader: random crop with padding 4 and horizontal flip).

:func:`synthetic_batch` gives a standard-normal batch of the same shape for tests that must
not depend on the data directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from graf.data.paths import data_file, resolve_data_dir

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "CIFAR10_FILE",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "NUM_IMAGES",
    "load_cifar10_images",
    "cifar10_indices",
    "cifar10_batch",
    "synthetic_batch",
    "input_batch",
]

CIFAR10_FILE = "cifar10/cifar10_data_batch_1_first932.npz"
#: Per-channel mean and standard deviation of the CIFAR-10 training set (R, G, B).
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
NUM_IMAGES = 932


def load_cifar10_images(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """All 932 training images as a read-only uint8 array of shape (932, 3, 32, 32)."""
    return _load(resolve_data_dir(data_dir))


@lru_cache(maxsize=4)
def _load(root: Path) -> np.ndarray:
    path = data_file(CIFAR10_FILE, root)
    try:
        with np.load(path) as npz:
            data = npz["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not a CIFAR-10 .npz file with a 'data' array: {exc}") from exc
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}")
    images = data.reshape(-1, 3, 32, 32)
    images.setflags(write=False)
    return images


def _check_batch_args(batch_size: int, seed: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch size must be a positive int, got {batch_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def cifar10_indices(batch_size: int, seed: int, data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Indices (into the 932 images) of the batch of ``batch_size`` images drawn with ``seed``."""
    _check_batch_args(batch_size, seed)
    images = load_cifar10_images(data_dir)
    if batch_size > len(images):
        raise ValueError(f"batch size {batch_size} exceeds the {len(images)} CIFAR-10 images available")
    return np.random.default_rng(int(seed)).permutation(len(images))[:batch_size]


def cifar10_batch(batch_size: int, seed: int, data_dir: str | os.PathLike | None = None) -> "torch.Tensor":
    """``batch_size`` distinct normalised CIFAR-10 training images, float32 (B, 3, 32, 32)."""
    import torch

    order = cifar10_indices(batch_size, seed, data_dir)
    images = load_cifar10_images(data_dir)
    x = torch.from_numpy(images[order].astype(np.float32) / 255.0)
    mean = torch.tensor(CIFAR10_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def synthetic_batch(batch_size: int, seed: int, size: int = 32) -> "torch.Tensor":
    """A standard-normal float32 batch (B, 3, size, size) drawn from a generator seeded with ``seed``."""
    import torch

    _check_batch_args(batch_size, seed)
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(batch_size, 3, size, size, generator=generator)


def input_batch(
    batch_size: int, seed: int, *, data_dir: str | os.PathLike | None = None, synthetic: bool = False
) -> "torch.Tensor":
    """:func:`synthetic_batch` if ``synthetic`` else :func:`cifar10_batch`."""
    if synthetic:
        return synthetic_batch(batch_size, seed)
    return cifar10_batch(batch_size, seed, data_dir)
