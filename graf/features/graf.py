"""The GRAF features of a space (DESIGN §4), configured by the space's ``graf_config``.

For the standard configuration over ops ``O`` (NB201: 5 ops, 5 + 31 + 31 + 124 = 191
columns; TNB101 micro: 4 ops, 4 + 15 + 15 + 60 = 94):

* ``op_count.<op>``: edges carrying the op;
* ``min_path_len.<allowed ops>``: shortest input -> output path over edges whose op is
  allowed (the GRAF paper's "banned" set is the complement), 5 when there is none;
* ``max_op_on_path.<allowed ops>``: longest such path, -1 when there is none;
* ``node_degree.{input_out,output_in,mean_out,mean_in}.<allowed ops>``.

Allowed op sets are the non-empty subsets of the space's ops, joined with ``+`` in op order.
A space with a fixed cell shape takes the vectorised path (:func:`cell_feature_matrix`);
any other space's graphs are evaluated one by one (:func:`graph_features`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from graf.features.compute import cell_feature_matrix, graph_features
from graf.features.config import FeatureSpec, specs_from_config

__all__ = ["graf_specs", "graf_matrix"]


def graf_specs(space) -> tuple[FeatureSpec, ...]:
    """The feature specs of ``space`` (a Space)."""
    return specs_from_config(space.graf_config)


def graf_matrix(space, archs: Sequence[object]) -> tuple[list[str], np.ndarray]:
    """GRAF column names and the ``(len(archs), n_features)`` matrix of ``archs`` in ``space``."""
    specs = graf_specs(space)
    if space.cell_shape is not None:
        return cell_feature_matrix(space.op_index_matrix(archs), space.graf_config.ops, space.cell_shape, specs)
    arrays = getattr(space, "op_node_arrays", None)  # ops on nodes (NB101): padded arrays, vectorised
    if arrays is not None:
        from graf.features.opnodes import opnode_feature_matrix

        return opnode_feature_matrix(*arrays(archs), space.graf_config.ops, specs)
    cells = getattr(space, "darts_cells", None)  # DARTS (NB301): two cells of (input, op) pairs, from the genotypes
    if cells is not None:
        from graf.features.darts import darts_matrix

        fast = darts_matrix(specs, space.graf_config.ops, *cells(archs))
        if fast is not None:
            return fast
    rows = [graph_features(space.graph(a), specs) for a in archs]
    if not rows:
        names = list(graph_features(space.graph(space.sample(1, 0)[0]), specs))
        return names, np.empty((0, len(names)))
    names = list(rows[0])
    return names, np.array([[r[n] for n in names] for r in rows], dtype=np.float64)

