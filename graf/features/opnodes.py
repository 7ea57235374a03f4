"""GRAF features of cells whose ops sit on the nodes (NAS-Bench-101), per graph and vectorised.

A cell graph here has every node's op on the node attribute ``op``, the graph attributes
``input``, ``output`` and ``ops_on="nodes"``; :func:`graf.features.families.restrict` gives such
a graph the attribute ``allowed`` (the allowed op subset ``A``) instead of dropping edges. The
families follow the GRAF authors' NB101 definitions (``graf_nas/features/base.py`` and
``nasbench101.py``); the input and the output are always allowed on paths:

* ``node_op_count``: nodes whose op is in ``A`` (on one op: that op's count);
* ``node_min_path_len``: edges on the shortest input -> output path through nodes of ``A``;
  ``no_path`` when there is none (the authors: the number of nodes of their 7-node graph);
* ``node_max_op_on_path``: op nodes (input and output not counted) on the longest such path;
  ``no_path`` when there is none. The authors' code returns this count minus 2 and -4 without
  a path: the same order, so the same random-forest splits;
* ``node_op_degree``: ``input_out`` edges from the input into an ``A`` node, ``output_in`` edges
  into the output from an ``A`` node, ``mean_out`` / ``mean_in`` the mean over all nodes of
  out-edges into ``A`` nodes / in-edges from ``A`` nodes (the authors' ``out_degree``,
  ``in_degree``, ``avg_out``, ``avg_in``).

:func:`opnode_feature_matrix` computes the same numbers for many cells at once from padded
arrays (a space's ``op_node_arrays``); a test checks that it equals the per-graph functions.
"""

from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np

from graf.features.config import FeatureSpec

__all__ = [
    "node_op_count",
    "node_min_path_len",
    "node_max_op_on_path",
    "node_op_degree",
    "opnode_feature_matrix",
]


def _allowed_nodes(graph: nx.DiGraph) -> set:
    allowed = set(graph.graph["allowed"])
    return {v for v, d in graph.nodes(data=True) if d.get("op") in allowed}


def _path_graph(graph: nx.DiGraph) -> nx.DiGraph:
    keep = _allowed_nodes(graph) | {graph.graph["input"], graph.graph["output"]}
    return graph.subgraph(keep)


def node_op_count(graph: nx.DiGraph) -> dict[str, float]:
    """Nodes whose op is allowed."""
    return {"value": float(len(_allowed_nodes(graph)))}


def node_min_path_len(graph: nx.DiGraph, *, no_path: float = 7.0) -> dict[str, float]:
    """Edges on the shortest input -> output path through allowed nodes; ``no_path`` without one."""
    try:
        return {"value": float(nx.shortest_path_length(_path_graph(graph), graph.graph["input"], graph.graph["output"]))}
    except nx.NetworkXNoPath:
        return {"value": float(no_path)}


def node_max_op_on_path(graph: nx.DiGraph, *, no_path: float = -1.0) -> dict[str, float]:
    """Op nodes on the longest input -> output path through allowed nodes; ``no_path`` without one."""
    from graf.features.families import max_path_len  # (families re-exports this module's functions)

    edges = max_path_len(_path_graph(graph), no_path=-1.0)["value"]
    return {"value": edges - 1 if edges >= 0 else float(no_path)}


def node_op_degree(graph: nx.DiGraph) -> dict[str, float]:
    """Input's out-edges into allowed nodes, output's in-edges from them, and the mean degrees so restricted."""
    allowed = _allowed_nodes(graph)
    n = graph.number_of_nodes()
    source, target = graph.graph["input"], graph.graph["output"]
    return {
        "input_out": float(sum(v in allowed for v in graph.successors(source))),
        "output_in": float(sum(u in allowed for u in graph.predecessors(target))),
        "mean_out": sum(v in allowed for _, v in graph.edges) / n,
        "mean_in": sum(u in allowed for u, _ in graph.edges) / n,
    }


# --------------------------------------------------------------------------- vectorised
class _Cells:
    """Padded cells as contiguous per-edge and per-node columns (fast elementwise numpy)."""

    def __init__(self, adjacency: np.ndarray, ops: np.ndarray, n_nodes: np.ndarray):
        self.k = adjacency.shape[1]
        if np.tril(adjacency.any(axis=0)).any():
            raise ValueError("op-node cells must be upper-triangular (node i -> j with i < j only)")
        self.pairs = [(u, v) for v in range(1, self.k) for u in range(v)]
        self.edge = {(u, v): np.ascontiguousarray(adjacency[:, u, v]) for u, v in self.pairs}
        self.ops = [np.ascontiguousarray(ops[:, v]) for v in range(self.k)]
        self.n_nodes = n_nodes

    def member(self, allowed: Sequence[int]) -> list[np.ndarray]:
        """Per node: its op is in ``allowed``."""
        return [np.isin(col, allowed) for col in self.ops]

    def kept(self, member: list[np.ndarray]) -> dict[tuple[int, int], np.ndarray]:
        """Edges between nodes that are allowed or the input / output."""
        keep = [m.copy() for m in member]
        keep[0][:] = True
        keep[-1][:] = True
        return {(u, v): self.edge[u, v] & keep[u] & keep[v] for u, v in self.pairs}


def _dag_dp(cells: _Cells, edges: dict, longest: bool) -> np.ndarray:
    """Shortest or longest input -> node path (in edges) per cell and node over ``edges``; -1 unreachable."""
    n = len(cells.n_nodes)
    best = [np.zeros(n, dtype=np.int64)] + [np.full(n, -1, dtype=np.int64) for _ in range(cells.k - 1)]
    for v in range(1, cells.k):
        for u in range(v):
            step = edges[u, v] & (best[u] >= 0)
            cand = best[u] + 1
            if longest:
                best[v] = np.where(step & (cand > best[v]), cand, best[v])
            else:
                best[v] = np.where(step & ((best[v] < 0) | (cand < best[v])), cand, best[v])
    return best[-1]


def _min_path(cells: _Cells, member: list[np.ndarray], no_path: float) -> np.ndarray:
    d = _dag_dp(cells, cells.kept(member), longest=False)
    return np.where(d >= 0, d, no_path).astype(np.float64)


def _max_ops(cells: _Cells, member: list[np.ndarray], no_path: float) -> np.ndarray:
    d = _dag_dp(cells, cells.kept(member), longest=True)
    return np.where(d >= 0, d - 1, no_path).astype(np.float64)


def _degrees(cells: _Cells, member: list[np.ndarray]) -> np.ndarray:
    k = cells.k
    into = {(u, v): cells.edge[u, v] & member[v] for u, v in cells.pairs}  # edges whose target is allowed
    outof = {(u, v): cells.edge[u, v] & member[u] for u, v in cells.pairs}  # edges whose source is allowed
    input_out = sum(into[0, v].astype(np.int64) for v in range(1, k))
    output_in = sum(outof[u, k - 1].astype(np.int64) for u in range(k - 1))
    mean_out = sum(e.astype(np.int64) for e in into.values()) / cells.n_nodes
    mean_in = sum(e.astype(np.int64) for e in outof.values()) / cells.n_nodes
    return np.stack([input_out, output_in, mean_out, mean_in], axis=1).astype(np.float64)


_STATS = {"node_op_degree": ("input_out", "output_in", "mean_out", "mean_in")}


def opnode_feature_matrix(
    adjacency: np.ndarray, ops: np.ndarray, n_nodes: np.ndarray, op_names: Sequence[str], specs: Sequence[FeatureSpec]
) -> tuple[list[str], np.ndarray]:
    """Column names and the ``(N, features)`` matrix of cells given as padded arrays.

    ``adjacency`` ``(N, K, K)`` bool with the input at 0 and the output at ``K - 1`` (absent
    nodes have no edges), ``ops`` ``(N, K)`` op index into ``op_names`` (-1 for the input, the
    output and absent nodes), ``n_nodes`` ``(N,)`` the cells' real node counts.
    """
    adjacency = np.asarray(adjacency, dtype=bool)
    cells = _Cells(adjacency, np.asarray(ops), np.asarray(n_nodes, dtype=np.float64))
    index = {op: i for i, op in enumerate(op_names)}
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for spec in specs:
        fn = getattr(spec.fn, "func", spec.fn)
        kwargs = dict(getattr(spec.fn, "keywords", {}) or {})
        family = fn.__name__
        if family not in __all__[:4]:
            raise ValueError(f"feature family {family!r} has no op-on-node implementation")
        names.extend(spec.columns(_STATS.get(family, ("value",))))
        for subset in spec.subsets:
            member = cells.member([index[o] for o in subset])
            if family == "node_op_count":
                blocks.append(sum(m.astype(np.int64) for m in member)[:, None].astype(np.float64))
            elif family == "node_min_path_len":
                blocks.append(_min_path(cells, member, kwargs.get("no_path", 7.0))[:, None])
            elif family == "node_max_op_on_path":
                blocks.append(_max_ops(cells, member, kwargs.get("no_path", -1.0))[:, None])
            else:
                blocks.append(_degrees(cells, member))
    matrix = np.concatenate(blocks, axis=1) if blocks else np.empty((len(cells.n_nodes), 0))
    return names, matrix
