"""Feature families: small pure functions of a cell graph.

Every family takes a ``networkx.DiGraph`` whose ``graph`` attributes name the ``input`` and
``output`` nodes and returns ``{stat name: value}``; a family with one value calls it ``"value"``. The GRAF features apply a family to
the graph *restricted to an allowed op set* (see :func:`restrict`): the restricted graph
keeps every node and only the edges whose ``op`` attribute is allowed. Families read the
structure of the graph they are given, never the ``op`` labels, which is what lets
:mod:`graf.features.compute` evaluate them once per distinct edge set.
"""

from __future__ import annotations

from typing import Collection

import networkx as nx

__all__ = [
    "restrict", "edge_count", "min_path_len", "max_path_len", "node_degree",
    # DARTS / NB301, cell by cell (graf.features.darts)
    "cell_edge_count", "cell_max_path_len", "cell_node_degree",
    # ops on nodes, NB101 (graf.features.opnodes)
    "node_op_count", "node_min_path_len", "node_max_op_on_path", "node_op_degree",
]  # fmt: skip


def restrict(graph: nx.DiGraph, allowed: Collection[str]) -> nx.DiGraph:
    """A copy of ``graph`` with all its nodes and only the edges whose ``op`` is in ``allowed``.

    A graph with its ops on the nodes (graph attribute ``ops_on="nodes"``, NB101) keeps every
    edge and records ``allowed`` as a graph attribute, which the op-on-node families of
    :mod:`graf.features.opnodes` read.
    """
    if graph.graph.get("ops_on") == "nodes":
        out = graph.copy()
        out.graph["allowed"] = tuple(allowed)
        return out
    out = nx.DiGraph(**graph.graph)
    out.add_nodes_from(graph.nodes)
    out.add_edges_from((u, v, d) for u, v, d in graph.edges(data=True) if d.get("op") in allowed)
    return out


def edge_count(graph: nx.DiGraph) -> dict[str, float]:
    """Number of edges; on a graph restricted to one op, that op's count."""
    return {"value": float(graph.number_of_edges())}


def min_path_len(graph: nx.DiGraph, *, no_path: float = 5.0) -> dict[str, float]:
    """Edges on the shortest input -> output path; ``no_path`` when the output is unreachable."""
    try:
        length = nx.shortest_path_length(graph, graph.graph["input"], graph.graph["output"])
    except nx.NetworkXNoPath:
        return {"value": float(no_path)}
    return {"value": float(length)}


def max_path_len(graph: nx.DiGraph, *, no_path: float = -1.0) -> dict[str, float]:
    """Edges on the longest input -> output path of a DAG; ``no_path`` when there is none."""
    source, target = graph.graph["input"], graph.graph["output"]
    longest: dict[object, int] = {source: 0}
    for node in nx.topological_sort(graph):
        if node not in longest:
            continue
        for succ in graph.successors(node):
            longest[succ] = max(longest.get(succ, -1), longest[node] + 1)
    return {"value": float(longest[target]) if target in longest else float(no_path)}


def node_degree(graph: nx.DiGraph) -> dict[str, float]:
    """Out-degree of the input, in-degree of the output, mean out- and in-degree over all nodes."""
    n = graph.number_of_nodes()
    return {
        "input_out": float(graph.out_degree(graph.graph["input"])),
        "output_in": float(graph.in_degree(graph.graph["output"])),
        "mean_out": sum(d for _, d in graph.out_degree()) / n,
        "mean_in": sum(d for _, d in graph.in_degree()) / n,
    }


from graf.features.darts import cell_edge_count, cell_max_path_len, cell_node_degree  # noqa: E402
from graf.features.opnodes import node_max_op_on_path, node_min_path_len, node_op_count, node_op_degree  # noqa: E402
