"""Cells on NB201's 4-node DAG: one op on each of the six edges ``i -> j`` (``i < j``).

NAS-Bench-201 and TransNAS-Bench-101 micro share this shape and differ in their op set and
encodings. :class:`EdgeCellArch` holds what the shape alone defines (zero-branch pruning,
the isomorphism key, the graph) and :class:`EdgeCellSpace` the space operations
(enumeration, sampling, one-edit mutation and neighbours, one-hot); a space subclasses
both with its op set and parsers.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from graf.spaces.base import CellShape, Space

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["EDGES", "NUM_NODES", "INPUT", "OUTPUT", "CELL_SHAPE", "EdgeCellArch", "EdgeCellSpace", "int_tuple"]

#: Edges (from, to) in the NB201 string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_NODES = 4
INPUT, OUTPUT = 0, 3
#: The graph shape the features read, nodes numbered 1..4 as in the GRAF paper.
CELL_SHAPE = CellShape(
    nodes=tuple(range(1, NUM_NODES + 1)),
    edges=tuple((s + 1, t + 1) for s, t in EDGES),
    input=INPUT + 1,
    output=OUTPUT + 1,
)
#: Ops without parameters other than the identity: two of them on the same input are one computation.
_PARAMETER_FREE = frozenset({"avg_pool_3x3"})
_TUPLE_RE = re.compile(r"^\(?\s*([^()]*?)\s*,?\s*\)?$")


def int_tuple(encoding: "Sequence[int] | str", n_ops: int, what: str) -> list[int]:
    """The six op indices (each in ``0..n_ops-1``) of a tuple given as ints or as ``"(a, b, ...)"``.

    ``what`` names the encoding in error messages (e.g. ``"NASLib"``).
    """
    if isinstance(encoding, str):
        m = _TUPLE_RE.match(encoding.strip())
        parts = [p.strip() for p in m.group(1).split(",")] if m and m.group(1) else []
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"malformed {what} tuple {encoding!r}: expected {len(EDGES)} comma-separated integers") from None
    else:
        try:
            values = list(encoding)
        except TypeError:
            raise ValueError(f"a {what} encoding must be a sequence of ints, got {type(encoding).__name__}") from None
    if len(values) != len(EDGES):
        raise ValueError(f"a {what} tuple has {len(EDGES)} entries, got {len(values)}: {encoding!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < n_ops:
            raise ValueError(f"{what} op index must be an int in 0..{n_ops - 1}, got {v!r} in {encoding!r}")
    return [int(v) for v in values]


class EdgeCellArch:
    """Mixin of a frozen dataclass with one field ``ops`` (op names in :data:`EDGES` order)."""

    __slots__ = ()
    #: the space's op names; op indices point into this tuple
    OPS: ClassVar[tuple[str, ...]]
    #: the space's name in messages
    LABEL: ClassVar[str]
    ops: tuple[str, ...]

    def _check_ops(self) -> None:
        name = self.LABEL
        if not isinstance(self.ops, tuple):
            raise ValueError(
                f"{type(self).__name__}.ops must be a tuple of {len(EDGES)} op names, got {type(self.ops).__name__}"
            )
        if len(self.ops) != len(EDGES):
            raise ValueError(f"a {name} cell has {len(EDGES)} edges, got {len(self.ops)} ops: {self.ops!r}")
        for op in self.ops:
            if op not in self.OPS:
                raise ValueError(f"unknown {name} op {op!r}; expected one of {', '.join(self.OPS)}")

    @classmethod
    def from_op_indices(cls, indices: Sequence[int]):
        """Build from op indices into :attr:`OPS`, in :data:`EDGES` order."""
        if len(indices) != len(EDGES):
            raise ValueError(f"expected {len(EDGES)} op indices, got {len(indices)}")
        if any(not 0 <= int(i) < len(cls.OPS) for i in indices):
            raise ValueError(f"op indices must lie in 0..{len(cls.OPS) - 1}, got {tuple(indices)!r}")
        return cls(tuple(cls.OPS[int(i)] for i in indices))

    @property
    def op_indices(self) -> tuple[int, ...]:
        """Op indices into :attr:`OPS`, in :data:`EDGES` order."""
        return tuple(self.OPS.index(o) for o in self.ops)

    @property
    def code(self) -> int:
        """A dense integer (base-``len(OPS)`` number of :attr:`op_indices`), the enumeration order."""
        c = 0
        for i in self.op_indices:
            c = c * len(self.OPS) + i
        return c

    def edge_op(self, source: int, target: int) -> str:
        return self.ops[EDGES.index((source, target))]

    def pruned(self):
        """The equivalent cell with every branch made unreachable by zero ops set to ``none``.

        Outputs of nodes 1, then 2, whose inputs are all ``none`` are set to ``none``; then the
        inputs of nodes 2, then 1, whose outputs are all ``none``.
        """
        return type(self)(_pruned_ops(self.ops))

    @property
    def is_valid(self) -> bool:
        """True when pruning leaves the cell unchanged."""
        return _pruned_ops(self.ops) == self.ops

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
        key ``"0"``.
        """
        return _canonical_dag(tuple(self.ops))

    def to_graph(self) -> "nx.DiGraph":
        """The cell as a ``networkx.DiGraph`` on nodes 1..4 (input 1, output 4), op on attribute ``op``."""
        import networkx as nx

        g = nx.DiGraph(input=CELL_SHAPE.input, output=CELL_SHAPE.output)
        g.add_nodes_from(CELL_SHAPE.nodes)
        for (s, t), op in zip(CELL_SHAPE.edges, self.ops):
            g.add_edge(s, t, op=op)
        return g


def _in_edges(node: int) -> list[int]:
    return [k for k, e in enumerate(EDGES) if e[1] == node]


def _out_edges(node: int) -> list[int]:
    return [k for k, e in enumerate(EDGES) if e[0] == node]


def _pruned_ops(ops: tuple[str, ...]) -> tuple[str, ...]:
    out = list(ops)
    for node in (1, 2):
        if all(out[k] == "none" for k in _in_edges(node)):
            for k in _out_edges(node):
                out[k] = "none"
    for node in (2, 1):
        if all(out[k] == "none" for k in _out_edges(node)):
            for k in _in_edges(node):
                out[k] = "none"
    return tuple(out)


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


@functools.lru_cache(maxsize=None)  # at most 5**6 = 15625 distinct op tuples per space
def _canonical_dag(ops: tuple[str, ...]) -> str:
    """Canonical string of the computation DAG of a cell (see :attr:`EdgeCellArch.iso_key`).

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


class EdgeCellSpace(Space):
    """Space operations for an :class:`EdgeCellArch` type (set :attr:`arch_type`)."""

    cell_shape = CELL_SHAPE

    # ------------------------------------------------------------------ the set of architectures
    @property
    def ops(self) -> tuple[str, ...]:
        return self.arch_type.OPS

    def enumerate(self) -> list:
        """Every cell, ordered by ``arch.code``."""
        return list(_enumerate(self.arch_type))

    def valid_archs(self) -> list:
        return list(_valid(self.arch_type))

    def is_valid(self, arch: Any) -> bool:
        return self.parse(arch) in _valid_set(self.arch_type)

    def pruned(self, arch: Any) -> Any:
        return self.parse(arch).pruned()

    def iso_key(self, arch: Any) -> str:
        return self.parse(arch).iso_key

    def sample(self, n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list:
        """``n`` cells drawn uniformly with replacement (with ``valid_only``: uniformly over the valid cells)."""
        if n < 0:
            raise ValueError(f"sample size must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        if valid_only:
            pool = _valid(self.arch_type)
            return [pool[i] for i in rng.integers(0, len(pool), size=n)]
        draws = rng.integers(0, len(self.ops), size=(n, len(EDGES)))
        return [self.arch_type(tuple(self.ops[i] for i in row)) for row in draws]

    def neighbours(self, arch: Any, *, valid_only: bool = False) -> list:
        """Every cell with exactly one edge's op changed, edge by edge, ops in :attr:`ops` order.

        The neighbours are looked up in the enumeration by their codes (one digit of
        ``arch.code`` changed), so no architecture is built.
        """
        arch = self.parse(arch)
        table = _enumerate(self.arch_type)
        n = len(self.ops)
        digits = arch.op_indices
        code = 0
        for d in digits:
            code = code * n + d
        out = []
        for e, d in enumerate(digits):
            place = n ** (len(EDGES) - 1 - e)
            base = code - d * place
            out.extend(table[base + i * place] for i in range(n) if i != d)
        if valid_only:
            valid = _valid_set(self.arch_type)
            return [a for a in out if a in valid]
        return out

    # ------------------------------------------------------------------ categorical parameters
    def parameters(self) -> dict[str, tuple[str, ...]]:
        """One parameter per edge, ``edge_<s>-<t>``, whose choices are the ops."""
        return {f"edge_{s}-{t}": tuple(self.ops) for s, t in EDGES}

    def from_parameters(self, values: dict[str, str]) -> Any:
        return self.arch_type(tuple(values[n] for n in self.check_assignment(values)))

    def to_parameters(self, arch: Any) -> dict[str, str]:
        return dict(zip(self.parameters(), self.parse(arch).ops))

    # ------------------------------------------------------------------ features
    def graph(self, arch: Any) -> "nx.DiGraph":
        return self.parse(arch).to_graph()

    def op_index_matrix(self, archs: Sequence[Any]) -> np.ndarray:
        """An ``(n, 6)`` int array of op indices into :attr:`ops`."""
        names = np.array([a.ops for a in archs], dtype=object).reshape(len(archs), len(EDGES))
        out = np.zeros(names.shape, dtype=np.int64)
        for i, op in enumerate(self.ops[1:], start=1):
            out[names == op] = i
        return out

    def onehot(self, archs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """``onehot.<s>-<t>.<op>`` columns (6 edges x ops), edges written with nodes 0..3."""
        idx = self.op_index_matrix(archs)
        names = [f"onehot.{s}-{t}.{op}" for s, t in EDGES for op in self.ops]
        matrix = np.zeros((len(archs), len(EDGES) * len(self.ops)))
        rows = np.arange(len(archs))[:, None]
        matrix[rows, np.arange(len(EDGES)) * len(self.ops) + idx] = 1.0
        return names, matrix


@functools.lru_cache(maxsize=None)
def _enumerate(arch_type: type) -> tuple:
    n = len(arch_type.OPS)
    out = []
    for code in range(n ** len(EDGES)):
        digits = []
        for _ in EDGES:
            code, d = divmod(code, n)
            digits.append(d)
        out.append(arch_type(tuple(arch_type.OPS[i] for i in reversed(digits))))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _valid(arch_type: type) -> tuple:
    return tuple(a for a in _enumerate(arch_type) if a.is_valid)


@functools.lru_cache(maxsize=None)
def _valid_set(arch_type: type) -> frozenset:
    return frozenset(_valid(arch_type))
