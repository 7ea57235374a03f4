"""Architectures x feature groups -> one pandas DataFrame indexed by ``arch``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from graf.cache import cached_table
from graf.features.groups import get_group

__all__ = ["feature_table", "infer_space"]


def infer_space(archs: Sequence[object], space=None):
    """``space`` as a Space; when None, the registered space whose architecture type ``archs`` have."""
    from graf.spaces import SPACES, get_space

    if space is not None:
        return get_space(space)
    types = {type(a) for a in archs}
    matches = [s for s in SPACES.values() if types and types <= {s.arch_type}]
    if len(matches) != 1:
        raise ValueError("cannot tell the search space of these architectures; pass space=... (e.g. space='nb201')")
    return matches[0]


def feature_table(
    archs: Sequence[object],
    groups: Iterable[str] = ("graf",),
    *,
    space=None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Float feature columns of ``groups`` for ``archs``, one row each, index ``arch``.

    ``space`` (a name or a Space) defaults to the space of the architectures' type; strings
    are parsed with it. The index holds each architecture's canonical string, in the order
    given; an architecture given twice (in any encoding) has one row, and the duplicates are
    reported with a :class:`~graf.spaces.DuplicateArchitecturesWarning`. With ``cache_dir`` the table is stored as parquet under a key made of the
    architectures, the groups and their versions, and reused on the next identical call.

    ``options`` holds the extra inputs some groups declare (e.g. ``{"proxies_file": path}``
    for the ``proxies`` group); each group receives only the options it declares. A file
    path option enters the cache key with the file's size and modification time.
    """
    options = dict(options or {})
    space = infer_space(archs, space)
    archs = space.unique(archs)
    groups = list(dict.fromkeys(groups))
    if not groups:
        raise ValueError("feature_table needs at least one feature group")
    specs = [get_group(g) for g in groups]
    index = pd.Index([str(a) for a in archs], name="arch")
    description = {
        "table": "features",
        "space": space.name,
        "groups": [(g.name, g.version) for g in specs],
        "archs": hashlib.sha256("\n".join(index).encode()).hexdigest(),
        "data_dir": str(data_dir) if any(g.needs_data for g in specs) else None,
    }
    used = {k: _fingerprint(options.get(k)) for g in specs for k in g.options}
    if used:
        description["options"] = used

    def compute() -> pd.DataFrame:
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for group in specs:
            cols, matrix = group.run(space, archs, data_dir, options)
            names.extend(cols)
            blocks.append(np.asarray(matrix, dtype=np.float64))
        return pd.DataFrame(np.concatenate(blocks, axis=1), index=index, columns=names)

    return cached_table(description, compute, cache_dir)


def _fingerprint(value: Any) -> Any:
    """A cache-key form of an option: a file path also records the file's size and mtime."""
    if isinstance(value, (str, os.PathLike)) and Path(value).is_file():
        stat = Path(value).stat()
        return [str(Path(value).resolve()), stat.st_size, stat.st_mtime_ns]
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)
