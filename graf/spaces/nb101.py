"""NAS-Bench-101 cell search space: ops on the nodes of a DAG of at most 7 nodes.

A cell is an upper-triangular adjacency matrix on ``n <= 7`` nodes (node 0 the input, node
``n - 1`` the output) with at most 9 edges, and one op on each interior node:
``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3``. Every node lies on an
input -> output path. The output node concatenates its inputs, the other nodes sum theirs
(see ``proxies/nb101_network.py``).

Canonical form. A spec is first **pruned** as NB101 prunes it (nodes that are not both
reachable from the input and able to reach the output are deleted), then its interior nodes
are **relabelled** to the order, among every order that keeps the matrix upper-triangular,
whose code ``(edge bits, op digits)`` is smallest. Isomorphic cells (the same computation
up to node relabelling) therefore have one canonical form, and there are exactly 423,624
canonical cells, NB101's published count (:meth:`NB101Space.enumerate`).
:meth:`NB101Arch.spec_hash` is NB101's own isomorphism-invariant MD5 hash (iterated hashing of
every node's in/out degree and label with its neighbours' hashes), the key of NB101's data
files.

Encodings:

* ``nb101`` (canonical): adjacency rows as 0/1 strings joined by ``-``, then ``|`` and the
  interior ops, e.g. ``0110-0001-0001-0000|conv3x3,maxpool3x3``; op names may be written in
  full (``conv3x3-bn-relu``) or short (``conv3x3``, ``conv1x1``, ``maxpool3x3``);
* ``naslib``: NASLib's tuple, ``n * n`` adjacency entries (row-major) then ``n`` op indices into
  :data:`NASLIB_OPS` (``zc_nasbench101.json`` keys: 49 + 7 = 56 entries, often unpruned).

Every spec that parses is returned in canonical form; a spec whose input does not reach its
output, or with more than 9 edges after pruning, is a ValueError.

Categorical parameters (:meth:`NB101Space.parameters`, for REINFORCE and optuna's samplers):
NB101's 21 edge bits of a 7-node spec and its 5 interior ops; an assignment that is no cell
raises :class:`~graf.spaces.base.InvalidParameters`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

import numpy as np

from graf.spaces.base import FamilyConfig, GrafConfig, InvalidParameters, SearchDataset, Space

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "OPS",
    "SHORT_OPS",
    "NASLIB_OPS",
    "HASH_OPS",
    "MAX_NODES",
    "MAX_EDGES",
    "NUM_ARCHS",
    "PARAMETER_EDGES",
    "NB101Arch",
    "NB101Space",
    "SPACE",
    "prune",
]

#: interior ops, in the GRAF authors' order (the order of feature columns and op indices here)
OPS: tuple[str, ...] = ("maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
#: short names used in the canonical string
SHORT_OPS: tuple[str, ...] = ("maxpool3x3", "conv1x1", "conv3x3")
#: NASLib's op indices (``zc_nasbench101.json``)
NASLIB_OPS: tuple[str, ...] = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
#: NB101's ``available_ops`` order, which its spec hash labels nodes by
HASH_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_NODES = 7
MAX_EDGES = 9
NUM_ARCHS = 423_624

_OP_INDEX = {**{op: i for i, op in enumerate(OPS)}, **{op: i for i, op in enumerate(SHORT_OPS)}}
_HASH_LABEL = tuple(HASH_OPS.index(op) for op in OPS)
_TUPLE_RE = re.compile(r"^\(\s*(.*?)\s*,?\s*\)$", re.S)


# --------------------------------------------------------------------------- bit layout
def _edge_index(x: int, y: int) -> int:
    """Bit of edge ``x -> y`` (``x < y``): NB101's column-major order of the upper triangle."""
    return x + y * (y - 1) // 2


@lru_cache(maxsize=None)
def _weights(n: int) -> np.ndarray:
    """``(n, n)`` int64: the bit value of every upper-triangular position, 0 elsewhere."""
    w = np.zeros((n, n), dtype=np.int64)
    for y in range(n):
        for x in range(y):
            w[x, y] = 1 << _edge_index(x, y)
    return w


def _bits_of(matrix: np.ndarray) -> int:
    return int((np.asarray(matrix, dtype=np.int64) * _weights(len(matrix))).sum())


def _matrix_of(n: int, bits: int) -> np.ndarray:
    return (bits & _weights(n)) != 0


def _label_code(labels: Sequence[int]) -> int:
    code = 0
    for d in labels:
        code = code * len(OPS) + int(d)
    return code


def _labels_of(n: int, code: int) -> tuple[int, ...]:
    out = []
    for _ in range(n - 2):
        code, d = divmod(code, len(OPS))
        out.append(d)
    return tuple(reversed(out))


@lru_cache(maxsize=None)
def _rows_str(n: int, bits: int) -> str:
    return "-".join("".join("1" if x < y and bits >> _edge_index(x, y) & 1 else "0" for y in range(n)) for x in range(n))


@lru_cache(maxsize=None)
def _ops_str(labels: tuple[int, ...]) -> str:
    return ",".join(SHORT_OPS[i] for i in labels)


# --------------------------------------------------------------------------- pruning, canonical form
def prune(matrix: np.ndarray) -> np.ndarray | None:
    """The nodes of ``matrix`` that lie on an input -> output path (NB101's pruning), as indices;
    None when the input does not reach the output."""
    m = np.asarray(matrix, dtype=bool)
    n = len(m)
    forward = np.zeros(n, dtype=bool)
    forward[0] = True
    for v in range(1, n):
        forward[v] = bool((forward[:v] & m[:v, v]).any())
    backward = np.zeros(n, dtype=bool)
    backward[n - 1] = True
    for v in range(n - 2, -1, -1):
        backward[v] = bool((backward[v + 1:] & m[v, v + 1:]).any())
    keep = forward & backward
    if not keep[0] or not keep[n - 1]:
        return None
    return np.flatnonzero(keep)


@lru_cache(maxsize=None)
def _perms(n: int) -> np.ndarray:
    """``(P, n)``: every permutation of the interior nodes (new index -> old index), input and output fixed."""
    inner = list(itertools.permutations(range(1, n - 1)))
    return np.array([(0, *p, n - 1) for p in inner], dtype=np.int64).reshape(len(inner), n)


@lru_cache(maxsize=None)
def _label_perm_table(n: int) -> np.ndarray:
    """``(P, 3**(n-2))``: the label code of every labelling after each permutation of :func:`_perms`."""
    k = n - 2
    codes = np.arange(len(OPS) ** k, dtype=np.int64)
    digits = np.stack([(codes // len(OPS) ** (k - 1 - i)) % len(OPS) for i in range(k)], axis=1) if k else codes[:, None][:, :0]
    perms = _perms(n)[:, 1:-1] - 1  # interior positions, 0-based
    place = len(OPS) ** np.arange(k - 1, -1, -1, dtype=np.int64)
    return np.stack([(digits[:, p] * place).sum(axis=1) for p in perms], axis=0)


def _permuted_bits(n: int, bits: np.ndarray) -> np.ndarray:
    """``(B, P)`` edge bits of every matrix under every interior permutation; -1 where the result is not upper-triangular."""
    perms = _perms(n)
    w = _weights(n)
    mats = (bits[:, None, None] & w[None]) != 0  # (B, n, n)
    gathered = mats[:, perms[:, :, None], perms[:, None, :]]  # (B, P, n, n)
    lower = np.tril(np.ones((n, n), dtype=bool))
    ok = ~(gathered & lower).any(axis=(2, 3))
    new_bits = (gathered * w).sum(axis=(2, 3))
    return np.where(ok, new_bits, -1)


def _canonical_batch(n: int, bits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical ``(bits, label code)`` of cells with ``n`` nodes given as bits and label codes."""
    bits = np.asarray(bits, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if n <= 3:  # at most one interior node: a single order
        return bits, labels
    pbits = _permuted_bits(n, bits)  # (B, P)
    plab = _label_perm_table(n)[:, labels].T  # (B, P)
    radix = len(OPS) ** (n - 2)
    code = np.where(pbits >= 0, pbits * radix + plab, np.iinfo(np.int64).max)
    best = code.min(axis=1)
    return best // radix, best % radix


# --------------------------------------------------------------------------- the NB101 spec hash
def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def spec_hash(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """NB101's isomorphism-invariant hash of a pruned spec (``labels``: -1 input, -2 output, op index in :data:`HASH_OPS`)."""
    m = np.asarray(matrix, dtype=bool)
    n = len(m)
    out_deg, in_deg = m.sum(axis=1).tolist(), m.sum(axis=0).tolist()
    hashes = [_md5(str((int(out_deg[v]), int(in_deg[v]), int(labels[v])))) for v in range(n)]
    preds = [[w for w in range(n) if m[w, v]] for v in range(n)]
    succs = [[w for w in range(n) if m[v, w]] for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5("".join(sorted(hashes[w] for w in preds[v])) + "|" + "".join(sorted(hashes[w] for w in succs[v])) + "|" + hashes[v])
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


# --------------------------------------------------------------------------- the architecture
class _Cell(NamedTuple):
    n: int
    edges: int
    labels: tuple[int, ...]


class NB101Arch(_Cell):
    """One canonical NB101 cell: ``n`` nodes, edge bits, interior op indices into :data:`OPS`.

    An immutable, hashable (named) tuple ``(n, edges, labels)``; build it with :meth:`parse` /
    :meth:`from_spec`, which prune and canonicalise; the constructor checks that its fields
    already are a canonical cell.

    >>> a = NB101Arch.parse("0110-0001-0001-0000|conv3x3,maxpool3x3")
    >>> str(a)
    '0110-0001-0001-0000|maxpool3x3,conv3x3'
    >>> a.to_naslib_str()
    '(0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 4, 1)'
    """

    __slots__ = ()

    def __new__(cls, n: int, edges: int, labels: tuple[int, ...]) -> "NB101Arch":
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_NODES:
            raise ValueError(f"an NB101 cell has 2..{MAX_NODES} nodes, got {n!r}")
        if not isinstance(labels, tuple) or len(labels) != n - 2:
            raise ValueError(f"an NB101 cell of {n} nodes has {n - 2} interior ops, got {labels!r}")
        if not isinstance(edges, int) or not 0 <= edges < 1 << (n * (n - 1) // 2):
            raise ValueError(f"edge bits of a {n}-node NB101 cell lie in 0..{(1 << (n * (n - 1) // 2)) - 1}, got {edges!r}")
        canonical = cls.from_spec(_matrix_of(n, edges), labels)
        if tuple(canonical) != (n, edges, labels):
            raise ValueError("NB101Arch fields are not a canonical cell; build it with NB101Arch.from_spec or parse")
        return canonical

    @classmethod
    def _trusted(cls, n: int, edges: int, labels: tuple[int, ...]) -> "NB101Arch":
        """An arch of fields known to be canonical (no check)."""
        return tuple.__new__(cls, (n, edges, labels))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_spec(cls, matrix: Any, labels: Sequence[int]) -> "NB101Arch":
        """The canonical cell of ``matrix`` (square, upper-triangular 0/1) and its interior op indices
        ``labels`` (one per node but the first and the last; entries for pruned nodes are ignored)."""
        m = np.asarray(matrix)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= m.shape[0] <= MAX_NODES:
            raise ValueError(f"an NB101 adjacency matrix is square with 2..{MAX_NODES} rows, got shape {m.shape}")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("an NB101 adjacency matrix holds only 0 and 1")
        m = m.astype(bool)
        if np.tril(m).any():
            raise ValueError("an NB101 adjacency matrix must be upper-triangular (edges i -> j with i < j only)")
        if len(labels) != len(m) - 2:
            raise ValueError(f"{len(m)} nodes need {len(m) - 2} interior ops, got {len(labels)}")
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < len(OPS) for v in labels):
            raise ValueError(f"NB101 interior op indices lie in 0..{len(OPS) - 1} (into {', '.join(OPS)}), got {tuple(labels)}")
        keep = prune(m)
        if keep is None:
            raise ValueError("the input does not reach the output: NB101 has no such cell")
        m = m[np.ix_(keep, keep)]
        labels = [int(labels[v - 1]) for v in keep[1:-1]]
        if int(m.sum()) > MAX_EDGES:
            raise ValueError(f"an NB101 cell has at most {MAX_EDGES} edges after pruning, got {int(m.sum())}")
        n = len(m)
        bits, code = _canonical_batch(n, np.array([_bits_of(m)]), np.array([_label_code(labels)]))
        return cls._trusted(n, int(bits[0]), _labels_of(n, int(code[0])))

    @classmethod
    def from_str(cls, text: str) -> "NB101Arch":
        """Parse ``0110-0001-0001-0000|conv3x3,maxpool3x3`` (any valid spec; returned canonical)."""
        rows_part, sep, ops_part = text.strip().partition("|")
        if not sep or "|" in ops_part:
            raise ValueError(f"malformed NB101 string {text!r}: expected '<rows joined by ->|<interior ops>'")
        rows = rows_part.split("-")
        n = len(rows)
        if not 2 <= n <= MAX_NODES or any(len(r) != n or set(r) - {"0", "1"} for r in rows):
            raise ValueError(f"malformed NB101 string {text!r}: expected 2..{MAX_NODES} rows of n 0/1 digits each")
        names = [o.strip() for o in ops_part.split(",")] if ops_part.strip() else []
        unknown = [o for o in names if o not in _OP_INDEX]
        if unknown:
            raise ValueError(f"unknown NB101 op {unknown[0]!r} in {text!r}; expected one of {', '.join(OPS + SHORT_OPS[1:])}")
        matrix = np.array([[int(c) for c in r] for r in rows])
        return cls.from_spec(matrix, [_OP_INDEX[o] for o in names])

    @classmethod
    def from_naslib(cls, encoding: "Sequence[int] | str") -> "NB101Arch":
        """Parse NASLib's tuple (``n*n`` row-major adjacency entries, then ``n`` op indices into :data:`NASLIB_OPS`)."""
        if isinstance(encoding, str):
            m = _TUPLE_RE.match(encoding.strip())
            if m is None:
                raise ValueError(f"malformed NASLib NB101 tuple {encoding!r}: expected '(a, b, ...)'")
            try:
                values = [int(p) for p in m.group(1).split(",")] if m.group(1) else []
            except ValueError:
                raise ValueError(f"malformed NASLib NB101 tuple {encoding!r}: expected comma-separated integers") from None
        else:
            values = list(encoding)
            if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
                raise ValueError(f"a NASLib NB101 tuple holds ints, got {encoding!r}")
        sizes = {k * k + k: k for k in range(2, MAX_NODES + 1)}
        if len(values) not in sizes:
            raise ValueError(
                f"a NASLib NB101 tuple has n*n + n entries for n = 2..{MAX_NODES} (e.g. 56), got {len(values)}"
            )
        n = sizes[len(values)]
        matrix, ops = np.array(values[: n * n]).reshape(n, n), values[n * n:]
        if ops[0] != 0 or ops[-1] != 1:
            raise ValueError(f"a NASLib NB101 tuple's ops start with input (0) and end with output (1), got {ops}")
        if any(not 2 <= o < len(NASLIB_OPS) for o in ops[1:-1]):
            raise ValueError(f"NASLib NB101 interior op indices lie in 2..4, got {ops}")
        return cls.from_spec(matrix, [OPS.index(NASLIB_OPS[o]) for o in ops[1:-1]])

    @classmethod
    def parse(cls, value: Any) -> "NB101Arch":
        """An ``NB101Arch``, an NB101 string, or a NASLib tuple (sequence or string)."""
        if isinstance(value, NB101Arch):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("("):
                return cls.from_naslib(text)
            if "|" in text:
                return cls.from_str(text)
            raise ValueError(
                f"cannot parse {value!r} as an NB101 cell: expected '0110-0001-0001-0000|conv3x3,maxpool3x3' "
                "or a NASLib tuple '(0, 1, ..., 0, ..., 1)' of n*n adjacency entries and n op indices"
            )
        if isinstance(value, (tuple, list, np.ndarray)):
            return cls.from_naslib(list(np.asarray(value).ravel().tolist()) if isinstance(value, np.ndarray) else value)
        raise ValueError(f"cannot parse {type(value).__name__} {value!r} as an NB101 cell")

    # ------------------------------------------------------------------ views
    @property
    def matrix(self) -> np.ndarray:
        """The ``(n, n)`` 0/1 adjacency matrix (int8)."""
        return _matrix_of(self.n, self.edges).astype(np.int8)

    @property
    def ops(self) -> tuple[str, ...]:
        """Op of every node: ``input``, the interior ops, ``output``."""
        return ("input", *(OPS[i] for i in self.labels), "output")

    @property
    def num_edges(self) -> int:
        return self.edges.bit_count()

    @property
    def spec_hash(self) -> str:
        """NB101's own hash of the spec (the key of its data files)."""
        return spec_hash(self.matrix, [-1, *(_HASH_LABEL[i] for i in self.labels), -2])

    def to_str(self) -> str:
        return _rows_str(self.n, self.edges) + "|" + _ops_str(self.labels)

    __str__ = to_str

    def to_naslib(self) -> tuple[int, ...]:
        ops = (0, *(NASLIB_OPS.index(OPS[i]) for i in self.labels), 1)
        return tuple(int(v) for v in self.matrix.ravel()) + ops

    def to_naslib_str(self) -> str:
        return str(self.to_naslib())

    def to_graph(self) -> "nx.DiGraph":
        """Nodes ``0..n-1`` with their op on the node attribute ``op``; graph attribute ``ops_on="nodes"``."""
        import networkx as nx

        g = nx.DiGraph(input=0, output=self.n - 1, ops_on="nodes")
        for v, op in enumerate(self.ops):
            g.add_node(v, op=op)
        m = self.matrix
        g.add_edges_from((int(x), int(y)) for x, y in zip(*np.nonzero(m)))
        return g

    def __repr__(self) -> str:
        return f"NB101Arch({self.to_str()!r})"


# --------------------------------------------------------------------------- enumeration
def _full_dag_masks(n: int) -> np.ndarray:
    """Edge bits of every ``n``-node upper-triangular matrix with <= 9 edges and every node on an input -> output path."""
    e = n * (n - 1) // 2
    bits = np.arange(1 << e, dtype=np.int64)
    bits = bits[np.bitwise_count(bits) <= MAX_EDGES]
    w = _weights(n)
    ok = np.ones(len(bits), dtype=bool)
    for v in range(n - 1):  # every node but the output has an out-edge
        ok &= (bits & int(w[v].sum())) != 0
    for v in range(1, n):  # every node but the input has an in-edge
        ok &= (bits & int(w[:, v].sum())) != 0
    bits = bits[ok]
    # no out-edge / in-edge missing does not yet mean on a path: check reachability both ways
    mats = (bits[:, None, None] & w[None]) != 0
    fwd = np.zeros((len(bits), n), dtype=bool)
    fwd[:, 0] = True
    for v in range(1, n):
        fwd[:, v] = (fwd[:, :v] & mats[:, :v, v]).any(axis=1)
    bwd = np.zeros((len(bits), n), dtype=bool)
    bwd[:, n - 1] = True
    for v in range(n - 2, -1, -1):
        bwd[:, v] = (bwd[:, v + 1:] & mats[:, v, v + 1:]).any(axis=1)
    return bits[(fwd & bwd).all(axis=1)]


def _enumerate_codes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted canonical ``(bits, label codes)`` of every ``n``-node cell."""
    masks = _full_dag_masks(n)
    radix = len(OPS) ** (n - 2)
    if n <= 3:
        bits = np.repeat(masks, radix)
        labels = np.tile(np.arange(radix, dtype=np.int64), len(masks))
        codes = np.unique(bits * radix + labels)
        return codes // radix, codes % radix
    table = _label_perm_table(n)  # (P, L)
    found = []
    chunk = max(1, 4_000_000 // (table.size))
    for start in range(0, len(masks), chunk):
        pbits = _permuted_bits(n, masks[start:start + chunk])  # (B, P)
        code = np.where(pbits[:, :, None] >= 0, pbits[:, :, None] * radix + table[None], np.iinfo(np.int64).max)
        found.append(np.unique(code.min(axis=1)))
    codes = np.unique(np.concatenate(found))
    return codes // radix, codes % radix


@lru_cache(maxsize=1)
def _enumeration() -> tuple[NB101Arch, ...]:
    out: list[NB101Arch] = []
    for n in range(2, MAX_NODES + 1):
        bits, labels = _enumerate_codes(n)
        k = n - 2
        digits = [(labels // len(OPS) ** (k - 1 - i)) % len(OPS) for i in range(k)]
        labels_of = zip(*(d.tolist() for d in digits)) if k else itertools.repeat((), len(bits))
        out.extend(map(partial(tuple.__new__, NB101Arch), zip(itertools.repeat(n), bits.tolist(), labels_of)))
    return tuple(out)


# --------------------------------------------------------------------------- neighbours
def _is_full_dag(m: np.ndarray) -> bool:
    keep = prune(m)
    return keep is not None and len(keep) == len(m)


def _reachable(m: np.ndarray) -> np.ndarray:
    """``r[u, v]``: a path of one or more edges leads from ``u`` to ``v`` (``m`` acyclic)."""
    r = m.copy()
    for _ in range(len(m)):
        r = r | (r.astype(np.int64) @ m.astype(np.int64) > 0)
    return r


def _toposorted(m: np.ndarray, node_labels: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """An acyclic ``m`` whose only source is node 0 and only sink the output, relabelled to be
    upper-triangular; ``node_labels`` holds every node's op index (anything for input and output)."""
    indeg = m.sum(axis=0).astype(int)
    order, ready = [], [0]
    while ready:
        v = ready.pop(0)
        order.append(v)
        for w in np.flatnonzero(m[v]).tolist():
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    perm = np.array(order)
    return m[np.ix_(perm, perm)], tuple(int(node_labels[v]) for v in order[1:-1])


def _edits(arch: NB101Arch) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """Every one-edit spec of ``arch`` that is itself a full DAG with <= 9 edges (upper-triangular, not yet canonical).

    Edge additions and node insertions consider every pair of nodes whose new edge keeps the
    graph acyclic (not only pairs in the current node order), so that every edit can be undone
    by one edit of the edited cell.
    """
    m, labels, n = arch.matrix.astype(bool), list(arch.labels), arch.n
    reach = _reachable(m)
    out: list[tuple[np.ndarray, tuple[int, ...]]] = []
    for v in range(n - 2):  # an interior op changed
        for op in range(len(OPS)):
            if op != labels[v]:
                out.append((m, tuple(labels[:v] + [op] + labels[v + 1:])))
    for x in range(n - 1):  # one edge removed or added (x -> y, acyclic)
        for y in range(1, n):
            if x == y or (not m[x, y] and (reach[y, x] or m.sum() >= MAX_EDGES)):
                continue
            flipped = m.copy()
            flipped[x, y] = not flipped[x, y]
            if _is_full_dag(flipped) if x < y else True:
                out.append(_toposorted(flipped, [-1, *labels, -1]))
    if n < MAX_NODES and m.sum() + 2 <= MAX_EDGES:  # a node inserted on a new path u -> new -> w
        for u in range(n - 1):
            for w in range(1, n):
                if u == w or reach[w, u]:
                    continue
                grown = np.zeros((n + 1, n + 1), dtype=bool)
                grown[:n, :n] = m
                grown[u, n] = grown[n, w] = True
                for op in range(len(OPS)):
                    out.append(_toposorted(grown, [-1, *labels, -1, op]))
    for v in range(1, n - 1):  # a node with one in- and one out-edge removed
        if m[:, v].sum() == 1 and m[v].sum() == 1:
            shrunk = np.delete(np.delete(m, v, axis=0), v, axis=1)
            if _is_full_dag(shrunk):
                out.append((shrunk, tuple(labels[: v - 1] + labels[v:])))
    return out


def _canonical_archs(specs: Sequence[tuple[np.ndarray, tuple[int, ...]]]) -> list[NB101Arch]:
    """The canonical cells of full-DAG specs, in the given order (vectorised per node count)."""
    out: list[NB101Arch | None] = [None] * len(specs)
    by_n: dict[int, list[int]] = {}
    for i, (m, _) in enumerate(specs):
        by_n.setdefault(len(m), []).append(i)
    for n, idx in by_n.items():
        bits = np.array([_bits_of(specs[i][0]) for i in idx], dtype=np.int64)
        codes = np.array([_label_code(specs[i][1]) for i in idx], dtype=np.int64)
        cb, cl = _canonical_batch(n, bits, codes)
        for i, b, c in zip(idx, cb.tolist(), cl.tolist()):
            out[i] = NB101Arch._trusted(n, b, _labels_of(n, c))
    return out  # type: ignore[return-value]


# --------------------------------------------------------------------------- the space
#: the categorical parameters: every upper-triangular position of a 7-node matrix, row-major
#: (nas_benchmarks' ``np.triu_indices(7, 1)`` order for NB101's REINFORCE and BO), then the five interior ops
PARAMETER_EDGES: tuple[tuple[int, int], ...] = tuple((x, y) for x in range(MAX_NODES) for y in range(x + 1, MAX_NODES))
_EDGE_PARAMS = {f"edge_{x}-{y}": (x, y) for x, y in PARAMETER_EDGES}
_OP_PARAMS = {f"op_{v}": v for v in range(1, MAX_NODES - 1)}
_PARAMETERS: dict[str, tuple[str, ...]] = {**{k: ("0", "1") for k in _EDGE_PARAMS}, **{k: OPS for k in _OP_PARAMS}}


#: padded layout of the feature arrays and the one-hot encoding: interior node i at i, output at 6
_PAD = MAX_NODES


def _padded_positions(n: int) -> np.ndarray:
    return np.array([*range(n - 1), _PAD - 1], dtype=np.int64)


class NB101Space(Space):
    """NAS-Bench-101: 423,624 canonical cells; NB101 strings and NASLib tuples."""

    name = "nb101"
    description = "NAS-Bench-101 cells (423,624 up to isomorphism; ops on nodes); CIFAR-10"
    arch_type = NB101Arch
    encodings = ("nb101", "naslib")
    size = NUM_ARCHS
    # NAS-Bench-Suite-Zero's file has one accuracy per net and no test split or training time:
    # the search is told and reports the same column, budgets count queries.
    datasets = {
        "cifar10": SearchDataset("cifar10", "val_accuracy", "val_accuracy", None,
                                 "CIFAR-10, NAS-Bench-Suite-Zero's val_accuracy (500 nets)"),
    }
    default_dataset = "cifar10"
    # The GRAF authors' NB101 configuration (graf_nas/configs/nb101.json): op counts, and
    # min/max path and node degrees on every non-empty subset of the three ops. Their op count
    # also counts the input and output (always 1): left out. Families: graf.features.opnodes.
    graf_config = GrafConfig(
        ops=OPS,
        families=(
            FamilyConfig("op_count", "node_op_count", (1,)),
            FamilyConfig("min_path_len", "node_min_path_len", (1, 2, 3), (("no_path", float(MAX_NODES)),)),
            FamilyConfig("max_op_on_path", "node_max_op_on_path", (1, 2, 3), (("no_path", -1.0),)),
            FamilyConfig("node_degree", "node_op_degree", (1, 2, 3)),
        ),
    )
    arch_help = (
        "an NB101 string '0110-0001-0001-0000|conv3x3,maxpool3x3' (adjacency rows, interior ops) or a NASLib "
        "tuple '(...)' of n*n adjacency entries and n op indices (zc_nasbench101.json keys verbatim)"
    )

    def parse(self, value: Any) -> NB101Arch:
        return NB101Arch.parse(value)

    def format(self, arch: Any, encoding: str | None = None) -> str:
        arch = NB101Arch.parse(arch)
        return arch.to_str() if self.check_encoding(encoding) == "nb101" else arch.to_naslib_str()

    # ------------------------------------------------------------------ the set
    def enumerate(self) -> list[NB101Arch]:
        """Every canonical cell (423,624), ordered by node count, then canonical code."""
        return list(_enumeration())

    def valid_archs(self) -> list[NB101Arch]:
        return self.enumerate()

    def is_valid(self, arch: Any) -> bool:
        """Every cell that parses is pruned and canonical."""
        self.parse(arch)
        return True

    def pruned(self, arch: Any) -> NB101Arch:
        return self.parse(arch)

    def iso_key(self, arch: Any) -> str:
        """NB101's spec hash."""
        return self.parse(arch).spec_hash

    def sample(self, n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list[NB101Arch]:
        """``n`` cells drawn uniformly (with replacement) from the 423,624 canonical cells."""
        if n < 0:
            raise ValueError(f"sample size must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        pool = _enumeration()
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]

    def neighbours(self, arch: Any, *, valid_only: bool = False) -> list[NB101Arch]:
        """Every cell one edit away, in a fixed order: one interior op changed; one edge added or
        removed; one node inserted on a new path ``u -> new -> w``; one node with a single in-
        and out-edge removed. Only edits that leave every node on an input -> output path with
        at most 9 edges count, which makes the relation symmetric (all cells are valid)."""
        arch = self.parse(arch)
        out = dict.fromkeys(_canonical_archs(_edits(arch)))
        out.pop(arch, None)
        return list(out)

    def parameters(self) -> dict[str, tuple[str, ...]]:
        """NB101's REINFORCE / BO parameterisation of a 7-node spec: the 21 edge bits
        ``edge_<x>-<y>`` (``"0"``/``"1"``, ``x < y``, row-major: ``edge_0-1`` ... ``edge_0-6``,
        ``edge_1-2`` ... ``edge_5-6``) and the interior ops ``op_1`` ... ``op_5`` (:data:`OPS`).
        Many assignments give one cell (pruning, relabelling), and some none: see
        :meth:`from_parameters`."""
        return dict(_PARAMETERS)

    def from_parameters(self, values: dict[str, str]) -> NB101Arch:
        """The canonical cell of the 7-node spec ``values`` describes (nodes off every input ->
        output path pruned, as NB101 does); :class:`~graf.spaces.base.InvalidParameters` when the
        input does not reach the output or more than 9 edges remain after pruning."""
        self.check_assignment(values)
        matrix = np.zeros((MAX_NODES, MAX_NODES), dtype=np.int8)
        for name, (x, y) in _EDGE_PARAMS.items():
            matrix[x, y] = values[name] == "1"
        labels = [OPS.index(values[name]) for name in _OP_PARAMS]
        try:
            return NB101Arch.from_spec(matrix, labels)
        except ValueError as exc:  # the assignment is well formed: only the two cell rules can fail
            raise InvalidParameters(f"not an NB101 cell: {exc}") from None

    def to_parameters(self, arch: Any) -> dict[str, str]:
        """An assignment giving ``arch``: its canonical spec with the output at node 6; the nodes
        a smaller cell leaves out have no edges and op ``maxpool3x3``."""
        arch = self.parse(arch)
        place = [*range(arch.n - 1), MAX_NODES - 1]
        edges = {(place[x], place[y]) for x, y in zip(*np.nonzero(arch.matrix))}
        ops = dict(zip(range(1, arch.n - 1), arch.labels))
        return {**{name: "1" if xy in edges else "0" for name, xy in _EDGE_PARAMS.items()},
                **{name: OPS[ops.get(v, 0)] for name, v in _OP_PARAMS.items()}}

    # ------------------------------------------------------------------ features
    def graph(self, arch: Any) -> "nx.DiGraph":
        return self.parse(arch).to_graph()

    def op_node_arrays(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded arrays of ``archs`` for the vectorised op-on-node features: ``adjacency`` ``(N, 7, 7)``
        bool, ``ops`` ``(N, 7)`` op index into :data:`OPS` (-1 for the input, the output and absent
        nodes), ``n_nodes`` ``(N,)``. Interior node ``i`` sits at ``i``, the output at 6."""
        archs = [a if type(a) is NB101Arch else self.parse(a) for a in archs]
        count = len(archs)
        adjacency = np.zeros((count, _PAD, _PAD), dtype=bool)
        ops = np.full((count, _PAD), -1, dtype=np.int64)
        if not count:
            return adjacency, ops, np.zeros(0, dtype=np.int64)
        ns, es, labels = zip(*archs)
        n_nodes, edges = np.array(ns, dtype=np.int64), np.array(es, dtype=np.int64)
        for n in np.unique(n_nodes).tolist():
            rows = np.flatnonzero(n_nodes == n)
            pos = _padded_positions(n)
            mats = (edges[rows, None, None] & _weights(n)[None]) != 0
            adjacency[rows[:, None, None], pos[None, :, None], pos[None, None, :]] = mats
            if n > 2:
                ops[rows, 1:n - 1] = np.array([labels[i] for i in rows.tolist()], dtype=np.int64)
        return adjacency, ops, n_nodes

    def onehot(self, archs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """``onehot.<x>-<y>`` (edge present, padded 7-node layout: output at 6) and
        ``onehot.<v>.<op>`` (interior node ``v`` = 1..5 has op; all 0 for an absent node)."""
        adjacency, ops, _ = self.op_node_arrays(archs)
        pairs = [(x, y) for y in range(_PAD) for x in range(y)]
        names = [f"onehot.{x}-{y}" for x, y in pairs] + [f"onehot.{v}.{op}" for v in range(1, _PAD - 1) for op in OPS]
        edge_cols = np.stack([adjacency[:, x, y] for x, y in pairs], axis=1).astype(np.float64)
        inner = ops[:, 1:_PAD - 1]
        op_cols = (inner[:, :, None] == np.arange(len(OPS))[None, None, :]).reshape(len(ops), -1).astype(np.float64)
        return names, np.concatenate([edge_cols, op_cols], axis=1)


#: The registered NB101 space.
SPACE = NB101Space()
