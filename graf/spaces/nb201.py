"""NAS-Bench-201 cell search space.

A cell is a DAG on nodes 0 (input) .. 3 (output); each of the six edges ``i -> j``
(``i < j``) carries one of five operations. The canonical form of an architecture is the
benchmark's own string, e.g.
``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``.

Encodings (see ``../shared/data/README.md``):

* NB201 string: groups for target nodes 1, 2, 3; edge order (0,1), (0,2), (1,2), (0,3),
  (1,3), (2,3).
* NASLib op-index tuple: op indices into :data:`NASLIB_OPS` (0 is ``skip_connect``, 1 is
  ``none``) for the edges (0,1), (0,2), (0,3), (1,2), (1,3), (2,3).
* NB201 index (0..15624): the benchmark API's order; it is not derivable from the cell, so
  it is read from the accuracy table in the data directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from graf.spaces.base import GrafConfig, SearchDataset
from graf.spaces.cell import EDGES, INPUT, NUM_NODES, OUTPUT, EdgeCellArch, EdgeCellSpace, int_tuple

__all__ = [
    "OPS",
    "EDGES",
    "INPUT",
    "OUTPUT",
    "NUM_NODES",
    "NASLIB_OPS",
    "NUM_ARCHS",
    "NB201Arch",
    "NB201Space",
    "SPACE",
    "Arch",
    "parse",
    "all_archs",
    "valid_archs",
    "sample",
    "mutate",
    "op_index_matrix",
]

#: Operation names in the order used for op indices inside this project.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: NASLib's op indices: 0 skip, 1 zero, 2 conv3x3, 3 conv1x1, 4 avg pool.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib tuple position k holds string edge ``_NASLIB_TO_EDGE[k]``.
_NASLIB_TO_EDGE: tuple[int, ...] = (0, 1, 3, 2, 4, 5)
NUM_ARCHS = len(OPS) ** len(EDGES)

_NASLIB_INDEX = {op: i for i, op in enumerate(NASLIB_OPS)}
_GROUP_RE = re.compile(r"^\|(.*)\|$")


@dataclass(frozen=True, slots=True)
class NB201Arch(EdgeCellArch):
    """One NB201 cell: the operation on each edge, in :data:`EDGES` order.

    Hashable and immutable; ``str(arch)`` is the canonical NB201 string.

    >>> a = NB201Arch.from_naslib((4, 0, 3, 1, 4, 3))
    >>> str(a)
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
    >>> NB201Arch.parse(str(a)) == a
    True
    """

    ops: tuple[str, ...]

    OPS = OPS
    LABEL = "NB201"

    def __post_init__(self) -> None:
        self._check_ops()

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_str(cls, text: str) -> "NB201Arch":
        """Parse an NB201 string such as ``|nor_conv_3x3~0|+|...|+|...|``."""
        if not isinstance(text, str):
            raise ValueError(f"an NB201 string must be str, got {type(text).__name__}")
        groups = text.strip().split("+")
        if len(groups) != 3:
            raise ValueError(f"malformed NB201 string {text!r}: expected 3 '+'-separated node groups, got {len(groups)}")
        ops: list[str] = []
        for target, group in enumerate(groups, start=1):
            m = _GROUP_RE.match(group)
            if m is None:
                raise ValueError(f"malformed NB201 string {text!r}: node group {group!r} must be enclosed in '|'")
            items = m.group(1).split("|")
            if len(items) != target:
                raise ValueError(
                    f"malformed NB201 string {text!r}: node {target} must have {target} input edge(s), got {len(items)}"
                )
            for source, item in enumerate(items):
                op, sep, src = item.partition("~")
                if not sep or src != str(source):
                    raise ValueError(
                        f"malformed NB201 string {text!r}: expected '<op>~{source}' for edge {source}->{target}, got {item!r}"
                    )
                ops.append(op)
        return cls(tuple(ops))

    @classmethod
    def from_naslib(cls, encoding: Sequence[int] | str) -> "NB201Arch":
        """Parse a NASLib op-index tuple, as a sequence of ints or as the string ``"(4, 0, 3, 1, 4, 3)"``."""
        values = int_tuple(encoding, len(NASLIB_OPS), "NASLib")
        ops = [""] * len(EDGES)
        for pos, v in enumerate(values):
            ops[_NASLIB_TO_EDGE[pos]] = NASLIB_OPS[v]
        return cls(tuple(ops))

    @classmethod
    def parse(cls, value: "NB201Arch | str | Sequence[int]") -> "NB201Arch":
        """Parse any of: an ``NB201Arch``, an NB201 string, a NASLib tuple (sequence or string).

        NB201 indices are not accepted here because they need the benchmark table; use
        ``graf.data.nb201_index_table(data_dir).arch(i)``.
        """
        if isinstance(value, NB201Arch):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("|") or "~" in text:
                return cls.from_str(text)
            if text.startswith("(") or text[:1].isdigit():
                return cls.from_naslib(text)
            raise ValueError(
                f"cannot parse {value!r} as an NB201 architecture: expected an NB201 string '|op~0|+...' "
                "or a NASLib tuple '(a, b, c, d, e, f)'"
            )
        if isinstance(value, (tuple, list, np.ndarray)):
            return cls.from_naslib(value)
        raise ValueError(f"cannot parse {type(value).__name__} {value!r} as an NB201 architecture")

    # ------------------------------------------------------------------ formatting
    def to_str(self) -> str:
        return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*self.ops)

    __str__ = to_str

    def to_naslib(self) -> tuple[int, ...]:
        return tuple(_NASLIB_INDEX[self.ops[e]] for e in _NASLIB_TO_EDGE)

    def to_naslib_str(self) -> str:
        return str(self.to_naslib())

    def __repr__(self) -> str:
        return f"NB201Arch({self.to_str()!r})"


class NB201Space(EdgeCellSpace):
    """NAS-Bench-201: 5**6 = 15625 cells, 9445 valid; NB201 strings and NASLib tuples."""

    name = "nb201"
    description = "NAS-Bench-201 cells (15625, 9445 valid); CIFAR-10, CIFAR-100, ImageNet16-120"
    arch_type = NB201Arch
    encodings = ("nb201", "naslib")
    size = NUM_ARCHS
    #: dataset -> search columns. CIFAR-10 follows the NASWOT paper's REA (NB201's 12-epoch
    #: validation accuracy); there is no 12-epoch column for CIFAR-100 and ImageNet16-120 in the
    #: table, so they use NASLib's single-seed validation accuracy.
    datasets = {
        "cifar10": SearchDataset("cifar10", "cifar10_valid_12ep", "cifar10_test", "cifar10_train_seconds_12ep",
                                 "CIFAR-10, 12-epoch validation accuracy; 200-epoch test accuracy reported"),
        "cifar100": SearchDataset("cifar100", "cifar100_val_naslib", "cifar100_test", "cifar10_train_seconds_12ep",
                                  "CIFAR-100, NASLib's validation accuracy; test accuracy reported"),
        "imagenet16": SearchDataset("imagenet16", "imagenet16_val_naslib", "imagenet16_test",
                                    "cifar10_train_seconds_12ep",
                                    "ImageNet16-120, NASLib's validation accuracy; test accuracy reported"),
    }
    default_dataset = "cifar10"
    graf_config = GrafConfig.standard(OPS)
    arch_help = "an NB201 string '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' or a NASLib tuple '(a, b, c, d, e, f)'"

    def parse(self, value: Any) -> NB201Arch:
        return NB201Arch.parse(value)

    def format(self, arch: Any, encoding: str | None = None) -> str:
        arch = NB201Arch.parse(arch)
        return arch.to_str() if self.check_encoding(encoding) == "nb201" else arch.to_naslib_str()


#: The registered NB201 space.
SPACE = NB201Space()

#: The space's architecture type and parser, under names every wave-1 caller used.
Arch = NB201Arch
parse = NB201Arch.parse


def all_archs() -> list[NB201Arch]:
    """All 15625 cells, ordered by :attr:`NB201Arch.code`."""
    return SPACE.enumerate()


def valid_archs() -> list[NB201Arch]:
    """The 9445 cells that zero-branch pruning leaves unchanged."""
    return SPACE.valid_archs()


def sample(n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list[NB201Arch]:
    """``n`` cells drawn uniformly with replacement, reproducibly from ``seed`` (see :meth:`NB201Space.sample`)."""
    return SPACE.sample(n, seed, valid_only=valid_only)


def mutate(arch: NB201Arch, seed: int | np.random.Generator, *, valid_only: bool = False) -> NB201Arch:
    """One edge's op changed to a different op, uniformly; never ``arch`` (see :meth:`NB201Space.mutate`)."""
    return SPACE.mutate(arch, seed, valid_only=valid_only)


def op_index_matrix(archs: Sequence[NB201Arch]) -> np.ndarray:
    """An ``(n, 6)`` int array of op indices into :data:`OPS`."""
    return SPACE.op_index_matrix(archs)
