"""Architectures x feature groups -> one pandas DataFrame indexed by ``arch``."""

from __future__ import annotations

import hashlib
import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from graf.cache import cached_table
from graf.features.groups import get_group

__all__ = ["feature_table"]


def feature_table(
    archs: Sequence[object],
    groups: Iterable[str] = ("graf",),
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Float feature columns of ``groups`` for ``archs``, one row each, index ``arch``.

    The index holds each architecture's canonical string (``str(arch)``), in the order
    given. With ``cache_dir`` the table is stored as parquet under a key made of the
    architectures, the groups and their versions, and reused on the next identical call.
    """
    groups = list(dict.fromkeys(groups))
    if not groups:
        raise ValueError("feature_table needs at least one feature group")
    specs = [get_group(g) for g in groups]
    index = pd.Index([str(a) for a in archs], name="arch")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"architectures must be unique; {dup} appears more than once")
    description = {
        "table": "features",
        "groups": [(g.name, g.version) for g in specs],
        "archs": hashlib.sha256("\n".join(index).encode()).hexdigest(),
        "data_dir": str(data_dir) if any(g.needs_data for g in specs) else None,
    }

    def compute() -> pd.DataFrame:
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for group in specs:
            cols, matrix = group.compute(archs, data_dir)
            names.extend(cols)
            blocks.append(np.asarray(matrix, dtype=np.float64))
        return pd.DataFrame(np.concatenate(blocks, axis=1), index=index, columns=names)

    return cached_table(description, compute, cache_dir)
