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

Labels. The loss-based proxies (snip, grasp, fisher, grad_norm, plain) and epe_nas need the
class labels of the batch. :func:`cifar10_labels` gives the true labels of the images of
:func:`cifar10_batch` with the same ``(batch_size, seed)`` (the file's ``labels`` array, in
the same order); :func:`synthetic_labels` gives seeded uniform labels for
:func:`synthetic_batch`. Both batch functions also attach their labels to the tensor they
return, as its attribute ``labels`` (int64, shape ``(B,)``), so that a batch carries its own
labels wherever it goes (``graf proxies`` passes the batch alone); :func:`batch_labels`
reads them back. Any tensor derived from the batch (a slice, ``.to()``, ...) does not carry
them: pass labels explicitly then (``compute_proxies(..., labels=y)``).
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
    "load_cifar10_labels",
    "cifar10_indices",
    "cifar10_batch",
    "synthetic_batch",
    "input_batch",
    "cifar10_labels",
    "synthetic_labels",
    "batch_labels",
    "LABELS_ATTRIBUTE",
    "SYNTHETIC_CLASSES",
]

CIFAR10_FILE = "cifar10/cifar10_data_batch_1_first932.npz"
#: Per-channel mean and standard deviation of the CIFAR-10 training set (R, G, B).
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)
NUM_IMAGES = 932
#: Name of the tensor attribute in which :func:`cifar10_batch` and :func:`synthetic_batch` put the labels.
LABELS_ATTRIBUTE = "labels"
#: Number of classes of :func:`synthetic_labels` (valid for the 10-, 100- and 120-class networks).
SYNTHETIC_CLASSES = 10


def load_cifar10_images(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """All 932 training images as a read-only uint8 array of shape (932, 3, 32, 32)."""
    return _load(resolve_data_dir(data_dir))


@lru_cache(maxsize=4)
def _load(root: Path) -> np.ndarray:
    path, data = _npz_array(root, "data")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}")
    images = data.reshape(-1, 3, 32, 32)
    images.setflags(write=False)
    return images


def _npz_array(root: Path, key: str) -> tuple[Path, np.ndarray]:
    """``(path, array)``: the array ``key`` of the CIFAR-10 file under ``root``, or one clear error."""
    path = data_file(CIFAR10_FILE, root)
    try:
        with np.load(path) as npz:
            return path, npz[key]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not a CIFAR-10 .npz file with a '{key}' array: {exc}") from exc


def load_cifar10_labels(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """The class labels (0..9) of the 932 training images, a read-only int64 array of shape (932,)."""
    return _load_labels(resolve_data_dir(data_dir))


@lru_cache(maxsize=4)
def _load_labels(root: Path) -> np.ndarray:
    path, labels = _npz_array(root, "labels")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(_load(root)),) or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: 'labels' must be one class 0..9 per image, got shape {labels.shape}")
    labels.setflags(write=False)
    return labels


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
    x = ((x - mean) / std).contiguous()
    setattr(x, LABELS_ATTRIBUTE, cifar10_labels(batch_size, seed, data_dir))
    return x


def cifar10_labels(batch_size: int, seed: int, data_dir: str | os.PathLike | None = None) -> "torch.Tensor":
    """The true labels (int64, (B,)) of the images of ``cifar10_batch(batch_size, seed)``, in the same order."""
    import torch

    order = cifar10_indices(batch_size, seed, data_dir)
    return torch.from_numpy(load_cifar10_labels(data_dir)[order].copy())


def synthetic_batch(batch_size: int, seed: int, size: int = 32) -> "torch.Tensor":
    """A standard-normal float32 batch (B, 3, size, size) drawn from a generator seeded with ``seed``.

    Its attribute ``labels`` holds :func:`synthetic_labels` of the same ``(batch_size, seed)``.
    """
    import torch

    _check_batch_args(batch_size, seed)
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.randn(batch_size, 3, size, size, generator=generator)
    setattr(x, LABELS_ATTRIBUTE, synthetic_labels(batch_size, seed))
    return x


def synthetic_labels(batch_size: int, seed: int, num_classes: int = SYNTHETIC_CLASSES) -> "torch.Tensor":
    """Seeded labels for :func:`synthetic_batch`: int64 (B,), uniform on 0..num_classes-1.

    Drawn with ``numpy.random.default_rng((seed, 1))``, independently of the images.
    """
    import torch

    _check_batch_args(batch_size, seed)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    labels = np.random.default_rng((int(seed), 1)).integers(0, int(num_classes), size=int(batch_size))
    return torch.from_numpy(labels.astype(np.int64))


def batch_labels(batch: "torch.Tensor") -> "torch.Tensor | None":
    """The labels a batch of :func:`cifar10_batch` / :func:`synthetic_batch` carries, or None."""
    return getattr(batch, LABELS_ATTRIBUTE, None)


def input_batch(
    batch_size: int, seed: int, *, data_dir: str | os.PathLike | None = None, synthetic: bool = False
) -> "torch.Tensor":
    """:func:`synthetic_batch` if ``synthetic`` else :func:`cifar10_batch`."""
    if synthetic:
        return synthetic_batch(batch_size, seed)
    return cifar10_batch(batch_size, seed, data_dir)
