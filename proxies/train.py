"""Train a net of a search space on a small image-classification dataset: the training objective.

:func:`train_network` builds the space's network (:func:`proxies.network.network_builder`,
NB201's TinyNetwork with width ``C`` and ``N`` cells per stage), trains it for ``epochs``
epochs with SGD (momentum 0.9, Nesterov, weight decay 5e-4, learning rate 0.1 annealed to 0
by a per-step cosine schedule, batch 64, cross-entropy; NAS-Bench-201's recipe at a smaller
batch) and returns the validation and test accuracy (%) and the wall seconds it took.

Datasets (:func:`load_images`), named by :attr:`TrainConfig.data`:

* ``"digits"``: scikit-learn's handwritten digits (1797 grey 8x8 images, 10 classes), which
  ship inside scikit-learn, so it needs no download. The grey value (0..16) is scaled to
  [0, 1] and copied to the three input channels; the images stay 8x8 (``image_size`` resizes
  them), which NB201's two stride-2 reductions take to 4x4 and 2x2.
* a ``.npz`` file with ``x`` (uint8, N x H x W x C, C = 1 or 3) and ``y`` (integer labels),
  optionally ``x_val``/``y_val`` and ``x_test``/``y_test`` (then used as given);
* a folder with one subfolder per class holding PNG/JPEG images, read with Pillow as RGB and
  resized to ``image_size`` x ``image_size`` (default 32) with bilinear filtering.

Labels are mapped to 0..k-1 in sorted order. Without given splits the examples are split
stratified into train / validation / test (``val_fraction``, ``test_fraction``) with
scikit-learn's ``train_test_split`` seeded by ``split_seed``, the same for every net. Inputs
are normalised per channel with the training split's mean and standard deviation.

Determinism: the weights come from :func:`proxies.network.build_network` seeded by
(``seed``, arch), the minibatch order from a :class:`torch.Generator` seeded the same way;
no global random generator or global torch flag is touched. On CPU the same seed gives the
same numbers (at the same number of intra-op threads). A GPU is used when one is present
(``device="auto"``); GPU kernels need not be bitwise reproducible.

Failures are results, not exceptions: a loss that becomes NaN/inf, a network that cannot be
built, or a device out of memory gives NaN accuracies and a message in ``error``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from proxies._checks import check_positive_ints

__all__ = ["TrainConfig", "TrainData", "IMAGE_SUFFIXES", "load_images", "train_network", "train_outcome",
           "DIGITS"]

DIGITS = "digits"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a net's training result depends on besides its architecture."""

    data: str = DIGITS
    epochs: int = 1
    C: int = 8
    N: int = 1
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    image_size: int | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    split_seed: int = 0
    space: str = "nb201"
    device: str = "auto"

    def __post_init__(self) -> None:
        check_positive_ints((n, getattr(self, n)) for n in ("epochs", "C", "N", "batch_size"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if self.image_size is not None and (not isinstance(self.image_size, int) or self.image_size < 4):
            raise ValueError(f"image_size must be an int >= 4 (two stride-2 reductions), got {self.image_size!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {getattr(self, name)!r}")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be below 1")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"device must be auto, cpu or cuda[:i], got {self.device!r}")

    def identity(self) -> dict[str, Any]:
        """The settings that determine the numbers (the data as given; the device is not one of them)."""
        out = asdict(self)
        out.pop("device")
        return out


@dataclass(frozen=True)
class TrainData:
    """Normalised float32 NCHW images and int64 labels of the three splits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    source: str


# --------------------------------------------------------------------------- data
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.repeat((d.images / 16.0).astype(np.float32)[:, None], 3, axis=1)  # N, 3, 8, 8 in [0, 1]
    return x, d.target.astype(np.int64)


def _uint8_nhwc(x: np.ndarray, where: str) -> np.ndarray:
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"{where}: x must be uint8 of shape (N, H, W, 1 or 3), got {x.dtype} {x.shape}")
    x = x.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return np.repeat(x, 3, axis=1) if x.shape[1] == 1 else x


def _npz(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    splits = {}
    for split, (xk, yk) in {"all": ("x", "y"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}.items():
        if xk not in arrays and yk not in arrays:
            continue
        if xk not in arrays or yk not in arrays:
            raise ValueError(f"{path}: needs both {xk!r} and {yk!r}")
        x, y = _uint8_nhwc(arrays[xk], f"{path} {xk!r}"), np.asarray(arrays[yk])
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{path}: {yk!r} must be one label per image ({len(x)}), got shape {y.shape}")
        splits[split] = (x, y)
    if "all" not in splits:
        raise ValueError(f"{path}: needs arrays 'x' (uint8 N x H x W x C) and 'y' (labels); found {', '.join(arrays)}")
    return splits


def _folder(path: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"{path}: needs one subfolder per class (at least 2), found {len(classes)}")
    images, labels = [], []
    for label, folder in enumerate(classes):
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{folder}: no PNG/JPEG image in this class folder")
        for file in files:
            try:
                with Image.open(file) as im:
                    im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
                    images.append(np.asarray(im, dtype=np.uint8))
            except (OSError, UnidentifiedImageError) as exc:
                raise ValueError(f"{file}: cannot read the image ({exc})") from None
            labels.append(label)
    return _uint8_nhwc(np.stack(images), str(path)), np.asarray(labels, dtype=np.int64)


def _resize(x: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or x.shape[-1] == size and x.shape[-2] == size:
        return x
    import torch
    import torch.nn.functional as F

    return F.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear", align_corners=False).numpy()


def _split(x, y, config: TrainConfig, given: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import train_test_split

    out = {"train": (x, y)}
    holdout = [s for s in ("val", "test") if s not in given]
    if holdout:
        frac = {"val": config.val_fraction, "test": config.test_fraction}
        total = sum(frac[s] for s in holdout)
        x_tr, x_ho, y_tr, y_ho = train_test_split(x, y, test_size=total, stratify=y, random_state=config.split_seed)
        out["train"] = (x_tr, y_tr)
        if len(holdout) == 2:
            x_v, x_t, y_v, y_t = train_test_split(x_ho, y_ho, test_size=frac["test"] / total, stratify=y_ho,
                                                  random_state=config.split_seed)
            out["val"], out["test"] = (x_v, y_v), (x_t, y_t)
        else:
            out[holdout[0]] = (x_ho, y_ho)
    out.update(given)
    return out


def load_images(config: TrainConfig) -> TrainData:
    """The dataset of ``config.data`` split, resized and normalised (cached per process)."""
    return _load_images(config.data, config.image_size, config.val_fraction, config.test_fraction, config.split_seed)


@lru_cache(maxsize=4)
def _load_images(data: str, image_size, val_fraction, test_fraction, split_seed) -> TrainData:
    config = TrainConfig(data=data, image_size=image_size, val_fraction=val_fraction, test_fraction=test_fraction,
                         split_seed=split_seed)
    given: dict = {}
    if data == DIGITS:
        x, y = _digits()
        source = "scikit-learn digits (1797 grey 8x8 images)"
    else:
        path = Path(data)
        if path.is_dir():
            x, y = _folder(path, image_size or 32)
            source = f"image folder {path}"
        elif path.suffix == ".npz" and path.is_file():
            splits = _npz(path)
            x, y = splits.pop("all")
            given = splits
            source = f"npz {path}"
        else:
            raise ValueError(f"training data {data!r} is not 'digits', an .npz file or a folder of class subfolders")
    labels = np.unique(np.concatenate([y] + [v[1] for v in given.values()]))
    if len(labels) < 2:
        raise ValueError(f"training data {data!r} has fewer than 2 classes")
    try:
        splits = _split(x, y, config, given)
    except ValueError as exc:  # too few images per class for a stratified split
        raise ValueError(f"training data {data!r}: cannot split it ({exc})") from None
    splits = {k: (_resize(v[0], image_size), np.searchsorted(labels, v[1]).astype(np.int64)) for k, v in splits.items()}
    shapes = {v[0].shape[1:] for v in splits.values()}
    if len(shapes) != 1:
        raise ValueError(f"training data {data!r}: the splits have different image shapes {sorted(shapes)}")
    x_tr = splits["train"][0]
    mean = x_tr.mean(axis=(0, 2, 3), keepdims=True)
    std = x_tr.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    norm = {k: (((v[0] - mean) / std).astype(np.float32), v[1]) for k, v in splits.items()}
    return TrainData(*norm["train"], *norm["val"], *norm["test"], classes=len(labels), source=source)


# --------------------------------------------------------------------------- training
def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _accuracy(net, x, y, batch: int = 512) -> float:
    import torch

    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return 100.0 * correct / len(x)


class TrainingFailed(RuntimeError):
    """Training diverged (a non-finite loss)."""


def train_network(arch, config: TrainConfig) -> dict[str, Any]:
    """Train ``arch`` (any encoding of ``config.space``) and return ``{"val_acc", "test_acc" (%),
    "train_loss" (mean of the last epoch), "seconds" (wall, training + evaluation), "error": ""}``.

    Raises :class:`TrainingFailed` on a non-finite loss; see :func:`train_outcome` for the
    form that records every failure instead.
    """
    import torch
    import torch.nn.functional as F

    from graf.spaces import get_space
    from proxies.network import net_seed, network_builder

    start = time.perf_counter()
    data = load_images(config)
    arch = get_space(config.space).parse(arch)
    device = _device(config.device)
    net = network_builder(config.space)(arch, seed=config.seed, C=config.C, N=config.N, num_classes=data.classes)
    net = net.to(device)
    x = torch.from_numpy(data.x_train).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    steps = math.ceil(len(x) / config.batch_size)
    opt = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum, nesterov=True,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps)
    gen = torch.Generator().manual_seed(net_seed(config.seed, arch, "train-order"))
    loss_sum = 0.0
    for epoch in range(config.epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen).to(device)
        loss_sum = 0.0
        for step in range(steps):
            idx = order[step * config.batch_size:(step + 1) * config.batch_size]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise TrainingFailed(f"the loss became {float(loss.detach())} at epoch {epoch + 1}, step {step + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach())
    val = _accuracy(net, torch.from_numpy(data.x_val).to(device), torch.from_numpy(data.y_val).to(device))
    test = _accuracy(net, torch.from_numpy(data.x_test).to(device), torch.from_numpy(data.y_test).to(device))
    return {"val_acc": val, "test_acc": test, "train_loss": loss_sum / steps, "seconds": time.perf_counter() - start,
            "error": ""}


def train_outcome(arch: str, config: TrainConfig | dict) -> dict[str, Any]:
    """:func:`train_network` that never raises for a failed training: NaN accuracies and the
    reason in ``error`` (a diverged loss, a network that cannot be built, out of memory).

    A dataset that cannot be read still raises ValueError: it is the run's error, not the net's.
    ``config`` may be a dict of :class:`TrainConfig` fields (what crosses process boundaries).
    """
    if isinstance(config, dict):
        config = TrainConfig(**config)
    load_images(config)  # bad data: the caller's error
    start = time.perf_counter()
    try:
        return train_network(arch, config)
    except (TrainingFailed, RuntimeError, MemoryError) as exc:  # torch reports out of memory as RuntimeError
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"val_acc": math.nan, "test_acc": math.nan, "train_loss": math.nan,
                "seconds": time.perf_counter() - start, "error": f"{type(exc).__name__}: {message}"}
