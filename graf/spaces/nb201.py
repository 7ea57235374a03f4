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

import functools
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "OPS",
    "EDGES",
    "NASLIB_OPS",
    "NUM_ARCHS",
    "NB201Arch",
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
#: Edges (from, to) in the NB201 string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NASLib's op indices: 0 skip, 1 zero, 2 conv3x3, 3 conv1x1, 4 avg pool.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib tuple position k holds string edge ``_NASLIB_TO_EDGE[k]``.
_NASLIB_TO_EDGE: tuple[int, ...] = (0, 1, 3, 2, 4, 5)
NUM_NODES = 4
INPUT, OUTPUT = 0, 3
NUM_ARCHS = len(OPS) ** len(EDGES)

_PARAMETER_FREE = frozenset({"avg_pool_3x3"})
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_NASLIB_INDEX = {op: i for i, op in enumerate(NASLIB_OPS)}
_GROUP_RE = re.compile(r"^\|(.*)\|$")
_TUPLE_RE = re.compile(r"^\(?\s*([^()]*?)\s*,?\s*\)?$")


@dataclass(frozen=True, slots=True)
class NB201Arch:
    """One NB201 cell: the operation on each edge, in :data:`EDGES` order.

    Hashable and immutable; ``str(arch)`` is the canonical NB201 string.

    >>> a = NB201Arch.from_naslib((4, 0, 3, 1, 4, 3))
    >>> str(a)
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
    >>> NB201Arch.parse(str(a)) == a
    True
    """

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple):
            raise ValueError(f"NB201Arch.ops must be a tuple of {len(EDGES)} op names, got {type(self.ops).__name__}")
        if len(self.ops) != len(EDGES):
            raise ValueError(f"an NB201 cell has {len(EDGES)} edges, got {len(self.ops)} ops: {self.ops!r}")
        for op in self.ops:
            if op not in _OP_INDEX:
                raise ValueError(f"unknown NB201 op {op!r}; expected one of {', '.join(OPS)}")

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
        if isinstance(encoding, str):
            m = _TUPLE_RE.match(encoding.strip())
            parts = [p.strip() for p in m.group(1).split(",")] if m and m.group(1) else []
            try:
                values = [int(p) for p in parts]
            except ValueError:
                raise ValueError(f"malformed NASLib tuple {encoding!r}: expected 6 comma-separated integers") from None
        else:
            try:
                values = list(encoding)
            except TypeError:
                raise ValueError(f"a NASLib encoding must be a sequence of ints, got {type(encoding).__name__}") from None
        if len(values) != len(EDGES):
            raise ValueError(f"a NASLib NB201 tuple has {len(EDGES)} entries, got {len(values)}: {encoding!r}")
        ops = [""] * len(EDGES)
        for pos, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < len(NASLIB_OPS):
                raise ValueError(f"NASLib op index must be an int in 0..{len(NASLIB_OPS) - 1}, got {v!r} in {encoding!r}")
            ops[_NASLIB_TO_EDGE[pos]] = NASLIB_OPS[int(v)]
        return cls(tuple(ops))

    @classmethod
    def from_op_indices(cls, indices: Sequence[int]) -> "NB201Arch":
        """Build from op indices into :data:`OPS`, in :data:`EDGES` order."""
        if len(indices) != len(EDGES):
            raise ValueError(f"expected {len(EDGES)} op indices, got {len(indices)}")
        if any(not 0 <= int(i) < len(OPS) for i in indices):
            raise ValueError(f"op indices must lie in 0..{len(OPS) - 1}, got {tuple(indices)!r}")
        return cls(tuple(OPS[int(i)] for i in indices))

    @classmethod
    def from_index(cls, index: int, data_dir: str | None = None) -> "NB201Arch":
        """The net with this NB201 benchmark index (read from the data directory's accuracy table)."""
        from graf.data.nb201 import nb201_index_table

        return nb201_index_table(data_dir).arch(index)

    @classmethod
    def parse(cls, value: "NB201Arch | str | Sequence[int]") -> "NB201Arch":
        """Parse any of: an ``NB201Arch``, an NB201 string, a NASLib tuple (sequence or string).

        NB201 indices are not accepted here because they need the data directory; use
        :meth:`from_index`.
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

    def index(self, data_dir: str | None = None) -> int:
        """This net's NB201 benchmark index (read from the data directory's accuracy table)."""
        from graf.data.nb201 import nb201_index_table

        return nb201_index_table(data_dir).index(self)

    @property
    def op_indices(self) -> tuple[int, ...]:
        """Op indices into :data:`OPS`, in :data:`EDGES` order."""
        return tuple(_OP_INDEX[o] for o in self.ops)

    @property
    def code(self) -> int:
        """A dense integer 0..15624 (base-5 number of :attr:`op_indices`); not the NB201 index."""
        c = 0
        for i in self.op_indices:
            c = c * len(OPS) + i
        return c

    def edge_op(self, source: int, target: int) -> str:
        return self.ops[EDGES.index((source, target))]

    # ------------------------------------------------------------------ structure
    def pruned(self) -> "NB201Arch":
        """The equivalent cell with every branch made unreachable by zero ops set to ``none``.

        Outputs of nodes 1, then 2, whose inputs are all ``none`` are set to ``none``; then the
        inputs of nodes 2, then 1, whose outputs are all ``none``.
        """
        ops = list(self.ops)
        idx = {e: k for k, e in enumerate(EDGES)}

        def all_none(edges: Sequence[tuple[int, int]]) -> bool:
            return all(ops[idx[e]] == "none" for e in edges)

        def set_none(edges: Sequence[tuple[int, int]]) -> None:
            for e in edges:
                ops[idx[e]] = "none"

        for node in (1, 2):
            if all_none(_in_edges(node)):
                set_none(_out_edges(node))
        for node in (2, 1):
            if all_none(_out_edges(node)):
                set_none(_in_edges(node))
        return NB201Arch(tuple(ops))

    @property
    def is_valid(self) -> bool:
        """True when pruning leaves the cell unchanged (the GRAF paper's 9445 "valid" nets)."""
        return self.pruned() == self

    @property
    def input_reaches_output(self) -> bool:
        """Whether any path of non-``none`` edges leads from the input to the output."""
        reach = {INPUT}
        for (s, t), op in sorted(zip(EDGES, self.ops), key=lambda x: x[0][1]):
            if op != "none" and s in reach:
                reach.add(t)
        return OUTPUT in reach

    @property
    def iso_key(self) -> str:
        """A key shared exactly by cells that compute the same function up to node relabelling.

        The cell is rewritten as a computation DAG whose vertices are the input ``x`` and the
        op instances that reach the output: ``none`` edges vanish, ``skip_connect`` edges pass
        their source's terms on unchanged, two ``avg_pool_3x3`` of the same input are one
        computation (it has no parameters), and every convolution is its own vertex (its own
        weights). The key is a canonical serialisation of that DAG, so equal keys mean
        isomorphic computations and vice versa. A cell whose output is always zero has the
        key ``"0"``. See :func:`_canonical_dag`.
        """
        return _canonical_dag(tuple(self.ops))

    def to_graph(self) -> "nx.DiGraph":
        """The cell as a ``networkx.DiGraph`` on nodes 1..4 (input 1, output 4), op on attribute ``op``."""
        import networkx as nx

        g = nx.DiGraph(input=INPUT + 1, output=OUTPUT + 1)
        g.add_nodes_from(range(1, NUM_NODES + 1))
        for (s, t), op in zip(EDGES, self.ops):
            g.add_edge(s + 1, t + 1, op=op)
        return g

    def __repr__(self) -> str:
        return f"NB201Arch({self.to_str()!r})"


def _computation_dag(ops: Sequence[str]) -> tuple[list[tuple[str, tuple[tuple[int, int], ...]]], tuple[tuple[int, int], ...]]:
    """Vertices ``(label, inputs)`` and the output, inputs being sorted ``(vertex, multiplicity)`` pairs."""
    vertices: list[tuple[str, tuple[tuple[int, int], ...]]] = [("x", ())]
    shared: dict[tuple[str, tuple[tuple[int, int], ...]], int] = {}
    value: dict[int, Counter[int]] = {INPUT: Counter({0: 1})}
    for node in range(1, NUM_NODES):
        acc: Counter[int] = Counter()
        for source in range(node):
            op = ops[EDGES.index((source, node))]
            src = value[source]
            if op == "none" or not src:
                continue
            if op == "skip_connect":
                acc.update(src)
                continue
            vertex = (op, tuple(sorted(src.items())))
            if op in _PARAMETER_FREE and vertex in shared:
                vid = shared[vertex]
            else:
                vid = len(vertices)
                vertices.append(vertex)
                shared.setdefault(vertex, vid)
            acc[vid] += 1
        value[node] = acc
    return vertices, tuple(sorted(value[OUTPUT].items()))


@functools.lru_cache(maxsize=None)  # at most 5**6 = 15625 cells
def _canonical_dag(ops: tuple[str, ...]) -> str:
    """Canonical string of the computation DAG of a cell (see :attr:`NB201Arch.iso_key`).

    Vertices are ranked by a relabelling-invariant recursive signature; vertices whose
    signatures tie (e.g. two convolutions of the same input) are tried in every order and the
    smallest serialisation wins, which makes the form canonical.
    """
    vertices, output = _computation_dag(ops)
    if not output:
        return "0"
    live: set[int] = set()
    stack = [v for v, _ in output]
    while stack:
        v = stack.pop()
        if v not in live:
            live.add(v)
            stack.extend(u for u, _ in vertices[v][1])
    signature: dict[int, str] = {}
    for v in sorted(live):  # inputs always have smaller ids
        label, inputs = vertices[v]
        signature[v] = label + "(" + "+".join(sorted(f"{m}*{signature[u]}" for u, m in inputs)) + ")"
    groups: dict[str, list[int]] = {}
    for v in sorted(live, key=signature.__getitem__):
        groups.setdefault(signature[v], []).append(v)
    best: str | None = None
    for orders in itertools.product(*(itertools.permutations(g) for g in groups.values())):
        rank = {v: r for r, v in enumerate(itertools.chain.from_iterable(orders))}
        body = sorted(
            (rank[v], vertices[v][0], tuple(sorted((rank[u], m) for u, m in vertices[v][1]))) for v in live
        )
        text = ";".join(f"{r}={label}{list(inp)}" for r, label, inp in body)
        text += "->" + str(sorted((rank[u], m) for u, m in output))
        if best is None or text < best:
            best = text
    assert best is not None
    return best


def _in_edges(node: int) -> list[tuple[int, int]]:
    return [e for e in EDGES if e[1] == node]


def _out_edges(node: int) -> list[tuple[int, int]]:
    return [e for e in EDGES if e[0] == node]


#: The space's architecture type and parser, under names every space module shares.
Arch = NB201Arch
parse = NB201Arch.parse


def all_archs() -> list[NB201Arch]:
    """All 15625 cells, ordered by :attr:`NB201Arch.code`."""
    return [NB201Arch(tuple(OPS[i] for i in idx)) for idx in _all_op_indices()]


def _all_op_indices() -> Iterator[tuple[int, ...]]:
    n = len(OPS)
    for code in range(NUM_ARCHS):
        digits = []
        for _ in EDGES:
            code, d = divmod(code, n)
            digits.append(d)
        yield tuple(reversed(digits))


def valid_archs() -> list[NB201Arch]:
    """The 9445 cells that zero-branch pruning leaves unchanged."""
    return [a for a in all_archs() if a.is_valid]


def sample(n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list[NB201Arch]:
    """``n`` cells drawn uniformly with replacement, reproducibly from ``seed``.

    With ``valid_only`` the draw is uniform over the 9445 valid cells instead.
    """
    if n < 0:
        raise ValueError(f"sample size must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    if valid_only:
        pool = valid_archs()
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]
    draws = rng.integers(0, len(OPS), size=(n, len(EDGES)))
    return [NB201Arch(tuple(OPS[i] for i in row)) for row in draws]


def mutate(arch: NB201Arch, seed: int | np.random.Generator, *, valid_only: bool = False) -> NB201Arch:
    """Change the op of one uniformly chosen edge to a different op; never returns ``arch``.

    With ``valid_only`` the child is drawn uniformly from the valid one-edge mutations (a
    ValueError if there is none, which happens only for some invalid parents).
    """
    rng = np.random.default_rng(seed)
    neighbours = [
        NB201Arch(arch.ops[:e] + (op,) + arch.ops[e + 1 :])
        for e in range(len(EDGES))
        for op in OPS
        if op != arch.ops[e]
    ]
    if valid_only:
        neighbours = [a for a in neighbours if a.is_valid]
        if not neighbours:  # 720 invalid cells, e.g. all-none inputs; every valid cell has one
            raise ValueError(f"{arch} has no valid one-edge mutation; mutate arch.pruned() instead")
    return neighbours[int(rng.integers(len(neighbours)))]


def op_index_matrix(archs: Sequence[NB201Arch]) -> np.ndarray:
    """An ``(n, 6)`` int array of op indices into :data:`OPS`."""
    names = np.array([a.ops for a in archs], dtype=object).reshape(len(archs), len(EDGES))
    out = np.zeros(names.shape, dtype=np.int64)
    for i, op in enumerate(OPS[1:], start=1):
        out[names == op] = i
    return out
