"""The cell of an NB201-like space read back from the ``onehot`` feature group.

Models that read the cell itself (:mod:`graf.predictor.cellgnn`, :mod:`graf.predictor.latency`)
take a feature DataFrame with the columns ``onehot.<s>-<t>.<op>`` (one per edge and op, nodes
numbered from 0, edges ``s < t``) and ignore every other column.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["cell_from_onehot", "prune_cells"]

_COLUMN = re.compile(r"^onehot\.(\d+)-(\d+)\.(.+)$")


def cell_from_onehot(X: pd.DataFrame, *, reader: str = "the model") -> tuple[list[tuple[int, int]], list[str], np.ndarray]:
    """Decode the ``onehot.<s>-<t>.<op>`` columns of ``X`` into ``(edges, ops, op_index)``.

    ``edges`` are ``(s, t)`` pairs sorted by target then source, ``ops`` the op names in column
    order and ``op_index`` an ``(n_nets, n_edges)`` integer array. Raises ``ValueError`` when
    ``X`` is not a DataFrame, has no such columns, lacks an (edge, op) combination, or a row
    does not set exactly one op per edge; ``reader`` names the model in the messages.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(
            f"{reader} reads the cell from the onehot feature group: pass a pandas DataFrame "
            "with onehot.<s>-<t>.<op> columns (add onehot to --inputs)"
        )
    cols: dict[tuple[int, int], dict[str, str]] = {}
    ops: list[str] = []
    for c in X.columns:
        m = _COLUMN.match(str(c))
        if m is None:
            continue
        s, t, op = int(m.group(1)), int(m.group(2)), m.group(3)
        if s >= t:
            raise ValueError(f"onehot column {c!r}: an edge must go from a lower to a higher node")
        cols.setdefault((s, t), {})[op] = c
        if op not in ops:
            ops.append(op)
    if not cols:
        raise ValueError(f"{reader} needs the onehot feature group (columns onehot.<s>-<t>.<op>); add onehot to --inputs")
    edges = sorted(cols, key=lambda e: (e[1], e[0]))
    for e in edges:
        missing = [op for op in ops if op not in cols[e]]
        if missing:
            raise ValueError(f"onehot columns for edge {e[0]}-{e[1]} lack op(s) {missing}")
    onehot = np.stack([X[[cols[e][op] for op in ops]].to_numpy(dtype=np.float64) for e in edges], axis=1)
    ok = np.isin(onehot, (0.0, 1.0)).all(axis=2) & (onehot.sum(axis=2) == 1)
    if not ok.all():
        row, edge = np.argwhere(~ok)[0]
        s, t = edges[edge]
        raise ValueError(
            f"net {X.index[row]!r}: edge {s}-{t} must have exactly one op set to 1 in its onehot columns"
        )
    return edges, ops, onehot.argmax(axis=2)


def prune_cells(edges: list[tuple[int, int]], op_index: np.ndarray, none_op: int | None) -> np.ndarray:
    """``op_index`` with every edge off all input-to-output paths set to ``none_op``.

    Node 0 is the input and the highest node the output. An edge ``(s, t)`` carrying an op other
    than ``none_op`` stays when ``s`` is reachable from the input and the output is reachable
    from ``t`` over such edges; every other edge becomes ``none_op``. Equivalent cells (a branch
    that never receives the input, or whose result never reaches the output, computes nothing)
    then have the same rows, and a cell whose output receives nothing has only ``none_op``.
    Without a ``none`` op (``none_op`` None) nothing is pruned.
    """
    op_index = np.asarray(op_index)
    if none_op is None:
        return op_index.copy()
    n_nodes = max(t for _, t in edges) + 1
    live = op_index != none_op
    forward = np.zeros((len(op_index), n_nodes), dtype=bool)
    forward[:, 0] = True
    for k, (s, t) in sorted(enumerate(edges), key=lambda e: e[1][0]):  # by source: sources are final first
        forward[:, t] |= forward[:, s] & live[:, k]
    backward = np.zeros_like(forward)
    backward[:, -1] = True
    for k, (s, t) in sorted(enumerate(edges), key=lambda e: -e[1][1]):  # by target, last first
        backward[:, s] |= backward[:, t] & live[:, k]
    keep = live & np.stack([forward[:, s] & backward[:, t] for s, t in edges], axis=1)
    return np.where(keep, op_index, none_op)
