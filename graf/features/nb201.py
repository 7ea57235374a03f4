"""The GRAF features of NB201 cells (DESIGN §4): 5 + 31 + 31 + 124 = 191 columns.

* ``op_count.<op>``: edges carrying the op;
* ``min_path_len.<allowed ops>``: shortest input -> output path over edges whose op is
  allowed (the GRAF paper's "banned" set is the complement), 5 when there is none;
* ``max_op_on_path.<allowed ops>``: longest such path, -1 when there is none;
* ``node_degree.{input_out,output_in,mean_out,mean_in}.<allowed ops>``.

Allowed op sets are all non-empty subsets of the five ops, joined with ``+`` in
:data:`graf.spaces.nb201.OPS` order.
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np

from graf.features.compute import CellSkeleton, cell_feature_matrix
from graf.features.config import FeatureSpec, op_subsets
from graf.features.families import edge_count, max_path_len, min_path_len, node_degree
from graf.spaces.nb201 import EDGES, INPUT, NUM_NODES, OPS, OUTPUT, NB201Arch, op_index_matrix

__all__ = ["SKELETON", "GRAF_SPECS", "graf_matrix", "onehot_matrix"]

#: NB201 graph shape with nodes numbered 1..4 as in the GRAF paper.
SKELETON = CellSkeleton(
    nodes=tuple(range(1, NUM_NODES + 1)),
    edges=tuple((s + 1, t + 1) for s, t in EDGES),
    input=INPUT + 1,
    output=OUTPUT + 1,
)

_ALL_SUBSETS = op_subsets(OPS, range(1, len(OPS) + 1))

GRAF_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("op_count", edge_count, op_subsets(OPS, [1])),
    FeatureSpec("min_path_len", partial(min_path_len, no_path=5.0), _ALL_SUBSETS),
    FeatureSpec("max_op_on_path", partial(max_path_len, no_path=-1.0), _ALL_SUBSETS),
    FeatureSpec("node_degree", node_degree, _ALL_SUBSETS),
)


def graf_matrix(archs: Sequence[NB201Arch]) -> tuple[list[str], np.ndarray]:
    """GRAF column names and the ``(len(archs), 191)`` feature matrix."""
    return cell_feature_matrix(op_index_matrix(archs), OPS, SKELETON, GRAF_SPECS)


def onehot_matrix(archs: Sequence[NB201Arch]) -> tuple[list[str], np.ndarray]:
    """``onehot.<edge>.<op>`` columns (6 edges x 5 ops), edges written ``s-t`` with nodes 0..3."""
    idx = op_index_matrix(archs)
    names = [f"onehot.{s}-{t}.{op}" for s, t in EDGES for op in OPS]
    matrix = np.zeros((len(archs), len(EDGES) * len(OPS)))
    rows = np.arange(len(archs))[:, None]
    matrix[rows, np.arange(len(EDGES)) * len(OPS) + idx] = 1.0
    return names, matrix
