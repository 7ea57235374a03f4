"""Architecture features: GRAF graph features, one-hot encodings, and the table builder."""

from graf.features.compute import CellSkeleton, cell_feature_matrix, graph_features
from graf.features.config import FeatureSpec, column_name, op_subsets, specs_from_config
from graf.features.families import edge_count, max_path_len, min_path_len, node_degree, restrict
from graf.features.groups import FEATURE_GROUPS, FeatureGroup, get_group, register_group
from graf.features.graf import graf_matrix, graf_specs
from graf.features.table import feature_table, infer_space

__all__ = [
    "CellSkeleton",
    "FEATURE_GROUPS",
    "FeatureGroup",
    "FeatureSpec",
    "cell_feature_matrix",
    "column_name",
    "edge_count",
    "feature_table",
    "get_group",
    "graf_matrix",
    "graf_specs",
    "infer_space",
    "graph_features",
    "max_path_len",
    "min_path_len",
    "node_degree",
    "op_subsets",
    "register_group",
    "restrict",
    "specs_from_config",
]
