"""Readable labels for feature columns, for plots and tables (``min path · skip, conv3x3``).

A column name is ``<family>.<detail>``; its label is ``<family label> · <detail>`` with op
names shortened. :data:`FEATURE_NAMING` explains the labels once, for a figure caption or a
notebook.
"""

from __future__ import annotations

__all__ = ["feature_label", "op_label", "family_label", "FEATURE_NAMING"]

#: family (column prefix) -> label
FAMILY_LABELS: dict[str, str] = {
    "op_count": "op count",
    "min_path_len": "min path",
    "max_op_on_path": "max path",
    "node_degree": "degree",
    "onehot": "edge",
    "zcp": "proxy",
    "proxies": "own proxy",
    "flops_params": "size",
}

#: node_degree statistics -> label
_DEGREE = {"input_out": "input out", "output_in": "output in", "mean_out": "mean out", "mean_in": "mean in",
           "c_k-2_out": "c_k-2 out", "c_k-1_out": "c_k-1 out"}  # the last two: nb301's cell inputs

#: op names written shorter; other names are kept, minus a ``nor_`` prefix
_OPS = {"skip_connect": "skip", "avg_pool_3x3": "avgpool", "max_pool_3x3": "maxpool", "none": "none",
        "maxpool3x3": "maxpool", "conv1x1-bn-relu": "conv1x1", "conv3x3-bn-relu": "conv3x3"}  # the last three: nb101

FEATURE_NAMING = (
    "Feature labels read 'family · ops'. op count · X: edges with op X. "
    "min path / max path · X, Y: edges on the shortest / longest input→output path that uses only ops X, Y. "
    "degree <input out | output in | mean out | mean in> · X, Y: that degree counting only X, Y edges. "
    "edge i→j · X: edge i→j has op X (one-hot). proxy · P: the published zero-cost proxy P; "
    "own proxy · P: P computed by this project; size · flops / params."
)


def op_label(op: str) -> str:
    """``nor_conv_3x3`` -> ``conv3x3``, ``skip_connect`` -> ``skip``, ``avg_pool_3x3`` -> ``avgpool``."""
    if op in _OPS:
        return _OPS[op]
    op = op[4:] if op.startswith("nor_") else op
    return op.replace("conv_", "conv")


def family_label(family: str) -> str:
    """The label of a family (a column prefix); unknown families are returned unchanged."""
    return FAMILY_LABELS.get(family, family)


#: DARTS (nb301) columns name their cell after the family: ``<family>.<cell>.<...>``
_CELLS = ("normal", "reduce")


def feature_label(column: str) -> str:
    """A readable label of a feature column; names outside the known families come back unchanged."""
    family, _, detail = str(column).partition(".")
    if not detail or family not in FAMILY_LABELS:
        return str(column)
    cell, dot, rest = detail.partition(".")
    if dot and cell in _CELLS:
        return f"{cell} {feature_label(f'{family}.{rest}')}"
    label = FAMILY_LABELS[family]
    if family == "max_op_on_path" and "." in detail:  # nb301: the path's start, c_k-2 or c_k-1
        start, _, ops = detail.rpartition(".")
        return f"{label} from {start} · {_ops(ops)}"
    if family == "node_degree":
        stat, _, ops = detail.partition(".")
        return f"{label} {_DEGREE.get(stat, stat)} · {_ops(ops)}"
    if family == "onehot":
        edge, _, op = detail.partition(".")
        return f"{label} {edge.replace('-', '→')} · {op_label(op)}"
    if family in ("op_count", "min_path_len", "max_op_on_path"):
        return f"{label} · {_ops(detail)}"
    return f"{label} · {detail}"


def _ops(subset: str) -> str:
    return ", ".join(op_label(op) for op in subset.split("+"))
