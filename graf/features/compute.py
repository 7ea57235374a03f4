"""Evaluate feature specs: directly on one graph, or vectorised over many cells of a space.

In a cell space every graph has the same skeleton (nodes and possible edges), so a graph
restricted to an op subset is determined by which skeleton edges survive: a bit mask.
:func:`cell_feature_matrix` evaluates each family once per mask (at most ``2**edges``
graphs, memoised) and then gathers the values for every cell and subset with numpy. It is
exactly :func:`graph_features` (a test checks this), only faster.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import networkx as nx
import numpy as np

from graf.features.config import FeatureSpec, column_name
from graf.spaces.base import CellShape
from graf.features.families import restrict

__all__ = ["CellSkeleton", "graph_features", "cell_feature_matrix", "skeleton_graph"]


#: The fixed shape of a cell space (nodes, possible edges in encoding order, input, output).
CellSkeleton = CellShape


def skeleton_graph(skeleton: CellShape, edge_mask: int) -> nx.DiGraph:
    """The graph of ``skeleton`` with the edges whose bit is set in ``edge_mask``."""
    g = nx.DiGraph(input=skeleton.input, output=skeleton.output)
    g.add_nodes_from(skeleton.nodes)
    g.add_edges_from(e for i, e in enumerate(skeleton.edges) if edge_mask >> i & 1)
    return g


def graph_features(graph: nx.DiGraph, specs: Sequence[FeatureSpec]) -> dict[str, float]:
    """All features of one graph, by applying each family to each restricted graph."""
    out: dict[str, float] = {}
    for spec in specs:
        for subset in spec.subsets:
            values = spec.fn(restrict(graph, subset))
            for stat, value in values.items():
                out[column_name(spec.family, stat, subset)] = float(value)
    return out


@lru_cache(maxsize=None)
def _mask_table(spec: FeatureSpec, skeleton: CellSkeleton) -> tuple[tuple[str, ...], np.ndarray]:
    """Stats of ``spec.fn`` for every edge mask of ``skeleton``: names and a (2**E, stats) array."""
    rows = [spec.fn(skeleton_graph(skeleton, mask)) for mask in range(1 << len(skeleton.edges))]
    stats = tuple(rows[0])
    table = np.array([[row[s] for s in stats] for row in rows], dtype=np.float64)
    table.setflags(write=False)
    return stats, table


def cell_feature_matrix(
    op_indices: np.ndarray, ops: Sequence[str], skeleton: CellSkeleton, specs: Sequence[FeatureSpec]
) -> tuple[list[str], np.ndarray]:
    """Column names and an ``(n_cells, n_features)`` matrix.

    ``op_indices[i, e]`` is the index into ``ops`` of the op on skeleton edge ``e`` of cell ``i``.
    """
    op_indices = np.asarray(op_indices)
    if op_indices.ndim != 2 or op_indices.shape[1] != len(skeleton.edges):
        raise ValueError(f"op_indices must have shape (n, {len(skeleton.edges)}), got {op_indices.shape}")
    bits = (1 << np.arange(len(skeleton.edges))).astype(np.int64)
    op_pos = {op: i for i, op in enumerate(ops)}
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for spec in specs:
        stats, table = _mask_table(spec, skeleton)
        names.extend(spec.columns(stats))
        for subset in spec.subsets:
            member = np.zeros(len(ops), dtype=np.int64)
            member[[op_pos[o] for o in subset]] = 1
            masks = member[op_indices] @ bits
            blocks.append(table[masks])
    matrix = np.concatenate(blocks, axis=1) if blocks else np.empty((len(op_indices), 0))
    return names, matrix
