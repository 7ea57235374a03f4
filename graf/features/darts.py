"""GRAF feature families of DARTS / NB301 genotypes, cell by cell.

The GRAF authors' DARTS features (zc_combine ``features/darts.py`` with ``configs/nb301_full.json``;
GRAF ``graf_nas/features/darts.py`` with ``configs/darts.json``), computed for the normal and
the reduction cell alike:

* ``op_count.<cell>.<op>`` -- pairs of the cell that carry the op (7 per cell);
* ``max_op_on_path.<cell>.<input>.<allowed ops>`` -- ops on the longest path from the input
  (``c_k-2`` or ``c_k-1``) into the cell's output that uses only allowed ops. Every
  intermediate node feeds the output, so this is the longest allowed path from the input to
  any intermediate node, counted in op edges (the authors drop the final edge into the
  output, which carries no op); ``0`` when the input has no allowed edge;
* ``node_degree.<cell>.<stat>.<allowed ops>`` -- ``c_k-2_out`` / ``c_k-1_out``, the allowed
  edges leaving each input, and ``mean_out`` / ``mean_in``, the mean over the cell's 7
  nodes (2 inputs, 4 intermediate, output) of allowed edges leaving / entering a node.

Allowed op sets are the 127 non-empty subsets of the 7 ops, so a genotype has 2 x (7 + 127 x 2
+ 127 x 4) = 1538 columns. The authors' ``min_path_len`` is not part of their DARTS
configuration (every node reaches the output in one step), nor here.

The families read the graph of :meth:`graf.spaces.nb301.NB301Space.graph` (nodes ``(cell,
name)``, graph attribute ``cells``), restricted to an op subset. :func:`darts_matrix`
computes the same numbers from the genotypes directly (a test checks that they agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial

import networkx as nx
import numpy as np

from graf.features.config import FeatureSpec
from graf.spaces.nb301 import INPUT_NAMES, NUM_NODES

__all__ = ["INPUT_LABELS", "cell_edge_count", "cell_max_path_len", "cell_node_degree", "darts_matrix"]

#: column labels of a cell's two inputs (``c_{k-2}``, ``c_{k-1}`` without braces)
INPUT_LABELS: tuple[str, str] = ("c_k-2", "c_k-1")
#: nodes of one cell: two inputs, the intermediate nodes, the output
_CELL_NODES = 2 + NUM_NODES + 1


def _cells(graph: nx.DiGraph) -> tuple[str, ...]:
    return tuple(graph.graph["cells"])


def _cell_edges(graph: nx.DiGraph, cell: str) -> list[tuple]:
    return [(u, v) for u, v in graph.edges if u[0] == cell]


def cell_edge_count(graph: nx.DiGraph) -> dict[str, float]:
    """Edges in each cell; on a graph restricted to one op, that op's count per cell."""
    return {cell: float(len(_cell_edges(graph, cell))) for cell in _cells(graph)}


def cell_max_path_len(graph: nx.DiGraph, *, no_path: float = 0.0) -> dict[str, float]:
    """Per cell and input: edges on the longest path from the input to an intermediate node."""
    out: dict[str, float] = {}
    for cell in _cells(graph):
        for name, label in zip(INPUT_NAMES, INPUT_LABELS):
            source = (cell, name)
            longest = {source: 0}
            for node in nx.topological_sort(graph):
                if node in longest:
                    for succ in graph.successors(node):
                        longest[succ] = max(longest.get(succ, -1), longest[node] + 1)
            reached = [d for n, d in longest.items() if n != source]
            out[f"{cell}.{label}"] = float(max(reached)) if reached else float(no_path)
    return out


def cell_node_degree(graph: nx.DiGraph) -> dict[str, float]:
    """Per cell: out-degree of each input, mean out- and in-degree over the cell's 7 nodes."""
    out: dict[str, float] = {}
    for cell in _cells(graph):
        for name, label in zip(INPUT_NAMES, INPUT_LABELS):
            out[f"{cell}.{label}_out"] = float(graph.out_degree((cell, name)))
        nodes = [n for n in graph.nodes if n[0] == cell]
        out[f"{cell}.mean_out"] = sum(graph.out_degree(n) for n in nodes) / len(nodes)
        out[f"{cell}.mean_in"] = sum(graph.in_degree(n) for n in nodes) / len(nodes)
    return out


# --------------------------------------------------------------------------- the fast path
@lru_cache(maxsize=1 << 16)
def _cell_stats(inputs: tuple[int, ...], mask: int, no_path: float) -> tuple[float, ...]:
    """(count, max path from input 0, from input 1, out-degree of input 0, of input 1, mean degree)
    of one cell whose pair ``p`` reads node ``inputs[p]`` (DARTS numbering), keeping the pairs
    whose bit is set in ``mask``."""
    kept = [(inputs[p], p // 2 + 2) for p in range(len(inputs)) if mask >> p & 1]
    paths = []
    for source in (0, 1):
        longest = {source: 0}
        for u, v in sorted(kept, key=lambda e: e[1]):  # targets in topological order
            if u in longest:
                longest[v] = max(longest.get(v, -1), longest[u] + 1)
        reached = [d for n, d in longest.items() if n != source]
        paths.append(float(max(reached)) if reached else float(no_path))
    degrees = [float(sum(1 for u, _ in kept if u == source)) for source in (0, 1)]
    return (float(len(kept)), *paths, *degrees, len(kept) / _CELL_NODES)


def _stat_columns(fn, cells: Sequence[str]) -> list[tuple[str, int]]:
    """(stat name, index into :func:`_cell_stats`) of a family, cell by cell, in the family's key order."""
    if fn is cell_edge_count:
        return [(cell, 0) for cell in cells]
    if fn is cell_max_path_len:
        return [(f"{cell}.{label}", 1 + i) for cell in cells for i, label in enumerate(INPUT_LABELS)]
    return [
        (f"{cell}.{name}", index)
        for cell in cells
        for name, index in ((f"{INPUT_LABELS[0]}_out", 3), (f"{INPUT_LABELS[1]}_out", 4), ("mean_out", 5), ("mean_in", 5))
    ]


_FAST = (cell_edge_count, cell_max_path_len, cell_node_degree)


def darts_matrix(
    specs: Sequence[FeatureSpec], ops: Sequence[str], cells: Sequence[str], genotypes: Sequence[Sequence[Sequence[tuple[int, int]]]]
) -> tuple[list[str], np.ndarray] | None:
    """Column names and matrix of ``specs`` for ``genotypes`` (per genotype, per cell, the 8
    ``(input, op index)`` pairs), equal to :func:`graf.features.compute.graph_features` on the
    space's graphs; None when a spec uses a family this fast path does not know."""
    from graf.features.config import column_name

    parts = []
    for spec in specs:
        fn, kwargs = (spec.fn.func, dict(spec.fn.keywords)) if isinstance(spec.fn, partial) else (spec.fn, {})
        if fn not in _FAST:
            return None
        parts.append((spec, fn, float(kwargs.get("no_path", 0.0))))
    op_pos = {op: i for i, op in enumerate(ops)}
    n = len(genotypes)
    names: list[str] = []
    blocks: list[np.ndarray] = []
    inputs = [[tuple(i for i, _ in cell) for cell in g] for g in genotypes]
    op_index = np.array([[[o for _, o in cell] for cell in g] for g in genotypes], dtype=np.int64)
    op_index = op_index.reshape(n, len(cells), 2 * NUM_NODES)
    bits = (1 << np.arange(2 * NUM_NODES)).astype(np.int64)
    for spec, fn, no_path in parts:
        columns = _stat_columns(fn, cells)
        names.extend(column_name(spec.family, stat, subset) for subset in spec.subsets for stat, _ in columns)
        block = np.empty((n, len(spec.subsets) * len(columns)))
        for s, subset in enumerate(spec.subsets):
            member = np.zeros(len(ops), dtype=np.int64)
            member[[op_pos[o] for o in subset]] = 1
            masks = member[op_index] @ bits  # (n, cells)
            for col, (stat, index) in enumerate(columns):
                c = cells.index(stat.split(".", 1)[0])
                block[:, s * len(columns) + col] = [
                    _cell_stats(inputs[r][c], int(masks[r, c]), no_path)[index] for r in range(n)
                ]
        blocks.append(block)
    return names, (np.concatenate(blocks, axis=1) if blocks else np.empty((n, 0)))
