"""NAS-Bench-301: the DARTS search space (a normal and a reduction cell).

Each cell has two inputs (``c_{k-2}``, ``c_{k-1}``: the outputs of the two previous cells)
and four intermediate nodes; intermediate node ``k`` (0..3) sums two ops applied to two
*different* earlier nodes, numbered 0 (``c_{k-2}``), 1 (``c_{k-1}``), ``2 + j`` (node
``j < k``). The cell's output concatenates the four intermediate nodes (``concat = [2, 3, 4,
5]``, fixed in NB301). Ops (index = NASLib's): 0 ``max_pool_3x3``, 1 ``avg_pool_3x3``,
2 ``skip_connect``, 3 ``sep_conv_3x3``, 4 ``sep_conv_5x5``, 5 ``dil_conv_3x3``,
6 ``dil_conv_5x5``.

Encodings:

* ``naslib``, canonical: the key of NASLib's ``zc_nasbench301.json`` (NASLib's "compact"
  form), ``[[(input, op), x8], [(input, op), x8]]`` for the normal then the reduction cell,
  pairs ``2k, 2k+1`` feeding node ``k``; tuples instead of lists are accepted too;
* ``genotype``: the DARTS string ``Genotype(normal=[('sep_conv_3x3', 0), ...],
  normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])`` (``range(2, 6)``
  is accepted for the concats).

The two inputs of a node are summed, so their order does not change the computation (nor
NB301's surrogate, whose configuration lists a node's inputs sorted): an architecture stores
each node's two pairs sorted by input, and every encoding is written in that order. The
space has ``(3 * 6 * 10 * 7**8) ** 2`` (about 1.08e18) architectures; it is not enumerated.
"""

from __future__ import annotations

import ast
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from graf.spaces.base import FamilyConfig, GrafConfig, SearchDataset, Space

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "CELLS",
    "INPUT_NAMES",
    "NUM_ARCHS",
    "NUM_NODES",
    "OPS",
    "OUTPUT_NAME",
    "SPACE",
    "NB301Arch",
    "NB301Space",
]

#: op names; an op index points into this tuple (NASLib's order)
OPS: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)  # fmt: skip
#: the two cells, in encoding order
CELLS: tuple[str, ...] = ("normal", "reduce")
#: intermediate nodes per cell
NUM_NODES = 4
#: names of a cell's input nodes 0 and 1 and of its output (as in the DARTS plotting code)
INPUT_NAMES: tuple[str, str] = ("c_{k-2}", "c_{k-1}")
OUTPUT_NAME = "c_{k}"
_CONCAT = list(range(2, 2 + NUM_NODES))
#: ordered input pairs of node k are C(k + 2, 2) unordered ones, each op pair 7**2
NUM_ARCHS = (
    int(np.prod([(k + 2) * (k + 1) // 2 for k in range(NUM_NODES)])) * len(OPS) ** (2 * NUM_NODES)
) ** len(CELLS)

Cell = tuple[tuple[int, int], ...]


def _check_cell(cell: Any, name: str) -> Cell:
    """``cell`` as 8 ``(input, op index)`` int pairs, each node's pair sorted by input; ValueError otherwise."""
    try:
        pairs = [tuple(p) for p in cell]
    except TypeError:
        raise ValueError(f"the {name} cell must be a sequence of {2 * NUM_NODES} (input, op) pairs, got {cell!r}") from None
    if len(pairs) != 2 * NUM_NODES:
        raise ValueError(f"the {name} cell has {2 * NUM_NODES} (input, op) pairs, got {len(pairs)}: {cell!r}")
    out: list[tuple[int, int]] = []
    for k in range(NUM_NODES):
        node = []
        for pair in pairs[2 * k: 2 * k + 2]:
            if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair):
                raise ValueError(f"a {name} cell pair must be two ints (input, op), got {pair!r}")
            inp, op = int(pair[0]), int(pair[1])
            if not 0 <= inp < k + 2:
                raise ValueError(f"node {k} of the {name} cell takes inputs 0..{k + 1}, got {inp}")
            if not 0 <= op < len(OPS):
                raise ValueError(f"op index must lie in 0..{len(OPS) - 1}, got {op} in the {name} cell")
            node.append((inp, op))
        if node[0][0] == node[1][0]:
            raise ValueError(f"node {k} of the {name} cell uses input {node[0][0]} twice (DARTS nodes take two different inputs)")
        out.extend(sorted(node))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NB301Arch:
    """A DARTS genotype: ``normal`` and ``reduce``, each 8 ``(input, op index)`` pairs.

    >>> a = NB301Arch.parse("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 3), (1, 3), (2, 2)], "
    ...                     "[(0, 0), (1, 0), (1, 0), (2, 2), (0, 0), (2, 2), (2, 2), (3, 0)]]")
    >>> a.cell_ops("normal")[:2]
    (('sep_conv_3x3', 0), ('sep_conv_3x3', 1))
    """

    normal: Cell
    reduce: Cell

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _check_cell(self.normal, "normal"))
        object.__setattr__(self, "reduce", _check_cell(self.reduce, "reduce"))

    # ------------------------------------------------------------------ access
    def cell(self, name: str) -> Cell:
        """The ``(input, op index)`` pairs of cell ``name`` (``"normal"`` or ``"reduce"``)."""
        if name not in CELLS:
            raise ValueError(f"unknown DARTS cell {name!r}; expected one of {', '.join(CELLS)}")
        return self.normal if name == "normal" else self.reduce

    def cell_ops(self, name: str) -> tuple[tuple[str, int], ...]:
        """Cell ``name`` as DARTS genotype pairs ``(op name, input)``."""
        return tuple((OPS[op], inp) for inp, op in self.cell(name))

    # ------------------------------------------------------------------ encodings
    @classmethod
    def from_naslib(cls, value: str | Sequence) -> NB301Arch:
        """Parse NASLib's compact key ``[[(input, op), x8], [(input, op), x8]]`` (a string or nested sequences)."""
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ValueError(
                    f"malformed NASLib NB301 key {value!r}: expected '[[(input, op), ... x8], [(input, op), ... x8]]'"
                ) from None
        try:
            cells = list(value)
        except TypeError:
            raise ValueError(f"a NASLib NB301 key is two cells of 8 (input, op) pairs, got {value!r}") from None
        if len(cells) != len(CELLS):
            raise ValueError(f"a NASLib NB301 key has {len(CELLS)} cells (normal, reduce), got {len(cells)}: {value!r}")
        return cls(*cells)

    @classmethod
    def from_genotype(cls, text: str) -> NB301Arch:
        """Parse a DARTS ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`` string."""
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            tree = None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"
                and not tree.args):
            raise ValueError(f"malformed DARTS genotype {text!r}: expected 'Genotype(normal=[...], normal_concat=[...], "
                             "reduce=[...], reduce_concat=[...])'")
        fields = {kw.arg: _literal(kw.value, text) for kw in tree.keywords}
        expected = {"normal", "normal_concat", "reduce", "reduce_concat"}
        if set(fields) != expected:
            raise ValueError(f"a DARTS genotype names exactly {', '.join(sorted(expected))}; got {', '.join(map(str, fields))}")
        cells = []
        for name in CELLS:
            if list(fields[name + "_concat"]) != _CONCAT:
                raise ValueError(f"NB301 cells concatenate nodes {_CONCAT}, got {name}_concat={fields[name + '_concat']!r}")
            try:
                pairs = [(int(inp), OPS.index(op)) for op, inp in fields[name]]
            except (TypeError, ValueError):
                raise ValueError(
                    f"the {name} cell of a genotype is a list of (op name, input) pairs with ops {', '.join(OPS)}; "
                    f"got {fields[name]!r}"
                ) from None
            cells.append(pairs)
        return cls(*cells)

    @classmethod
    def parse(cls, value: Any) -> NB301Arch:
        """An ``NB301Arch``, a NASLib key (string or nested sequences) or a DARTS genotype string."""
        if isinstance(value, NB301Arch):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("Genotype"):
                return cls.from_genotype(text)
            if text[:1] in "[(":
                return cls.from_naslib(text)
            raise ValueError(
                f"cannot parse {value!r} as an NB301 architecture: expected a NASLib key "
                "'[[(input, op), ... x8], [(input, op), ... x8]]' or a DARTS 'Genotype(normal=[...], ...)' string"
            )
        if isinstance(value, (list, tuple)):
            return cls.from_naslib(value)
        raise ValueError(f"cannot parse {type(value).__name__} {value!r} as an NB301 architecture")

    def to_naslib(self) -> tuple[Cell, Cell]:
        return (self.normal, self.reduce)

    def to_naslib_str(self) -> str:
        """The NASLib key, e.g. ``[[(0, 3), (1, 3), ...], [(0, 0), ...]]`` (the canonical string)."""
        return "[" + ", ".join("[" + ", ".join(f"({i}, {o})" for i, o in c) + "]" for c in self.to_naslib()) + "]"

    def to_genotype(self) -> str:
        """The DARTS genotype string (Python's repr of the namedtuple, with lists)."""
        parts = []
        for name in CELLS:
            parts.append(f"{name}={list(self.cell_ops(name))!r}")
            parts.append(f"{name}_concat={_CONCAT!r}")
        return "Genotype(" + ", ".join(parts) + ")"

    __str__ = to_naslib_str

    def __repr__(self) -> str:
        return f"NB301Arch({self.to_naslib_str()!r})"


def _literal(node: ast.AST, text: str) -> Any:
    """A genotype field: a literal, or ``range(a, b)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        args = [_literal(a, text) for a in node.args]
        if all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
            return list(range(*args))
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"malformed DARTS genotype {text!r}: fields must be literals or range(a, b)") from None


def _with_pair(cell: Cell, index: int, pair: tuple[int, int]) -> Cell:
    return cell[:index] + (pair,) + cell[index + 1:]


def _edits(arch: NB301Arch) -> list[tuple[int, int, tuple[int, int]]]:
    """Every one-pair edit ``(cell index, pair index, new pair)``: an op changed, or an input moved to
    another allowed node that is not the node's other input; cells, pairs and values in order."""
    out = []
    for c, cell in enumerate(arch.to_naslib()):
        for p, (inp, op) in enumerate(cell):
            k, other = p // 2, cell[p ^ 1][0]
            out.extend((c, p, (inp, o)) for o in range(len(OPS)) if o != op)
            out.extend((c, p, (i, op)) for i in range(k + 2) if i not in (inp, other))
    return out


def _apply(arch: NB301Arch, edit: tuple[int, int, tuple[int, int]]) -> NB301Arch:
    """``arch`` with one pair replaced by an allowed one (from :func:`_edits`), the node re-sorted.

    The result is valid by construction, so it is built without :class:`NB301Arch`'s checks.
    """
    c, p, pair = edit
    cells = list(arch.to_naslib())
    cell = _with_pair(cells[c], p, pair)
    q = p - p % 2
    if cell[q][0] > cell[q + 1][0]:
        cell = cell[:q] + (cell[q + 1], cell[q]) + cell[q + 2:]
    cells[c] = cell
    out = object.__new__(NB301Arch)
    object.__setattr__(out, "normal", cells[0])
    object.__setattr__(out, "reduce", cells[1])
    return out


def _cell_key(cell: Cell) -> str:
    """Canonical string of one cell up to relabelling its intermediate nodes (every topological
    order of them is tried; the smallest serialisation wins)."""
    inputs = [(cell[2 * k][0], cell[2 * k + 1][0]) for k in range(NUM_NODES)]
    best = None
    for order in itertools.permutations(range(NUM_NODES)):
        rank = {old: new for new, old in enumerate(order)}  # old node k -> new position
        # a relabelling is valid when every node's inputs come before it
        if any(i >= 2 and rank[i - 2] >= rank[k] for k in range(NUM_NODES) for i in inputs[k]):
            continue
        nodes = []
        for old in order:
            pairs = sorted(((i if i < 2 else 2 + rank[i - 2]), op) for i, op in cell[2 * old: 2 * old + 2])
            nodes.append(pairs)
        text = ";".join(",".join(f"{i}:{OPS[op]}" for i, op in node) for node in nodes)
        if best is None or text < best:
            best = text
    assert best is not None
    return best


@functools.lru_cache(maxsize=65536)
def _iso_key(arch: NB301Arch) -> str:
    return " | ".join(f"{name}[{_cell_key(arch.cell(name))}]" for name in CELLS)


class NB301Space(Space):
    """NAS-Bench-301 / DARTS: a normal and a reduction cell, ~1.08e18 architectures, not enumerable."""

    name = "nb301"
    description = "NAS-Bench-301 / DARTS genotypes (normal + reduction cell, ~1.08e18; NASLib's 725 archs with values)"
    arch_type = NB301Arch
    encodings = ("naslib", "genotype")
    size = NUM_ARCHS
    # NASLib's zc_nasbench301.json holds one value per net: val_accuracy (NB301's surrogate, CIFAR-10).
    # The search is told and reports that column; budgets count queries.
    datasets = {
        "cifar10": SearchDataset(
            "cifar10", "val_accuracy", "val_accuracy", None, "NB301 surrogate CIFAR-10 accuracy (NAS-Bench-Suite-Zero)"
        )
    }
    default_dataset = "cifar10"
    # The GRAF authors' DARTS configuration (zc_combine configs/nb301_full.json, GRAF
    # graf_nas/configs/darts.json): op counts, max_op_on_path and node_degree on every non-empty
    # subset of the 7 ops, each for both cells; no min_path_len (every node feeds the output).
    # The families are graf.features.darts's cell-wise variants.
    graf_config = GrafConfig(
        ops=OPS,
        families=(
            FamilyConfig("op_count", "cell_edge_count", (1,)),
            FamilyConfig("max_op_on_path", "cell_max_path_len", tuple(range(1, len(OPS) + 1)), (("no_path", 0.0),)),
            FamilyConfig("node_degree", "cell_node_degree", tuple(range(1, len(OPS) + 1))),
        ),
    )
    arch_help = (
        "a NASLib key '[[(input, op), ... x8], [(input, op), ... x8]]' (ops 0 max_pool_3x3 .. 6 dil_conv_5x5) "
        "or a DARTS 'Genotype(normal=[...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])'"
    )

    # ------------------------------------------------------------------ encodings
    def parse(self, value: Any) -> NB301Arch:
        return NB301Arch.parse(value)

    def format(self, arch: Any, encoding: str | None = None) -> str:
        arch = NB301Arch.parse(arch)
        return arch.to_naslib_str() if self.check_encoding(encoding) == "naslib" else arch.to_genotype()

    # ------------------------------------------------------------------ the set of architectures
    def enumerate(self) -> None:
        """None: about 1.08e18 architectures."""
        return

    def iso_key(self, arch: Any) -> str:
        """Equal for genotypes that differ only by a relabelling of a cell's intermediate nodes.

        (The output concatenates the four nodes, so a relabelling permutes the channels the next
        cell reads, which its freshly initialised 1x1 preprocessing convolution does not see.)
        """
        return _iso_key(self.parse(arch))

    def sample(self, n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list:
        """``n`` genotypes drawn as NASLib samples NB301: per node two different inputs and two ops, uniformly."""
        if n < 0:
            raise ValueError(f"sample size must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            cells = []
            for _cell in CELLS:
                pairs = []
                for k in range(NUM_NODES):
                    inputs = rng.choice(k + 2, size=2, replace=False)
                    ops = rng.integers(0, len(OPS), size=2)
                    pairs.extend((int(i), int(o)) for i, o in zip(inputs, ops))
                cells.append(pairs)
            out.append(NB301Arch(*cells))
        return out

    def neighbours(self, arch: Any, *, valid_only: bool = False) -> list:
        """Every genotype with one (input, op) pair changed: its op (6 others) or its input (another
        allowed node that is not the node's other input); 120 per genotype."""
        arch = self.parse(arch)
        return [_apply(arch, e) for e in _edits(arch)]

    def mutate(self, arch: Any, seed: int | np.random.Generator, *, valid_only: bool = False) -> NB301Arch:
        """One uniformly drawn neighbour (the same draw as the base class, without building the others)."""
        arch = self.parse(arch)
        edits = _edits(arch)
        rng = np.random.default_rng(seed)
        return _apply(arch, edits[int(rng.integers(len(edits)))])

    # ------------------------------------------------------------------ categorical parameters
    def parameters(self) -> dict[str, tuple[str, ...]]:
        """Per cell and node ``k >= 1`` the unordered input pair ``<cell>.node<k>.inputs`` (``"i,j"``;
        node 0 always reads 0 and 1), and per node the ops on its lower and higher input
        (``<cell>.node<k>.op_lo`` / ``.op_hi``)."""
        out: dict[str, tuple[str, ...]] = {}
        for name in CELLS:
            for k in range(NUM_NODES):
                if k:
                    out[f"{name}.node{k}.inputs"] = tuple(f"{i},{j}" for i, j in itertools.combinations(range(k + 2), 2))
                out[f"{name}.node{k}.op_lo"] = OPS
                out[f"{name}.node{k}.op_hi"] = OPS
        return out

    def from_parameters(self, values: dict[str, str]) -> NB301Arch:
        self.check_assignment(values)
        cells = []
        for name in CELLS:
            pairs = []
            for k in range(NUM_NODES):
                i, j = (0, 1) if k == 0 else map(int, values[f"{name}.node{k}.inputs"].split(","))
                pairs += [(i, OPS.index(values[f"{name}.node{k}.op_lo"])), (j, OPS.index(values[f"{name}.node{k}.op_hi"]))]
            cells.append(pairs)
        return NB301Arch(*cells)

    def to_parameters(self, arch: Any) -> dict[str, str]:
        arch = self.parse(arch)
        out: dict[str, str] = {}
        for name in CELLS:
            cell = arch.cell(name)
            for k in range(NUM_NODES):
                (i, lo), (j, hi) = cell[2 * k], cell[2 * k + 1]
                if k:
                    out[f"{name}.node{k}.inputs"] = f"{i},{j}"
                out[f"{name}.node{k}.op_lo"] = OPS[lo]
                out[f"{name}.node{k}.op_hi"] = OPS[hi]
        return out

    # ------------------------------------------------------------------ features
    def graph(self, arch: Any) -> nx.DiGraph:
        """Both cells in one ``networkx.DiGraph``, nodes ``(cell, name)``: ``c_{k-2}``, ``c_{k-1}``,
        the intermediate nodes 0..3 and the output ``c_{k}``; one edge ``input -> node`` per pair,
        its op on attribute ``op``.

        Every intermediate node feeds the output (the concatenation), so those four edges carry
        no op and are left out: the output node has no edges. Graph attributes: ``cells``
        (``("normal", "reduce")``), ``input`` / ``output`` (the normal cell's ``c_{k-2}`` and
        ``c_{k}``).
        """
        import networkx as nx

        arch = self.parse(arch)
        g = nx.DiGraph(input=("normal", INPUT_NAMES[0]), output=("normal", OUTPUT_NAME), cells=CELLS)
        for name in CELLS:
            g.add_nodes_from([(name, INPUT_NAMES[0]), (name, INPUT_NAMES[1]), *((name, k) for k in range(NUM_NODES)),
                              (name, OUTPUT_NAME)])
            for p, (inp, op) in enumerate(arch.cell(name)):
                source = (name, INPUT_NAMES[inp]) if inp < 2 else (name, inp - 2)
                g.add_edge(source, (name, p // 2), op=OPS[op])
        return g

    def darts_cells(self, archs: Sequence[Any]) -> tuple[tuple[str, ...], list[tuple[Cell, Cell]]]:
        """The cell names and, per architecture, each cell's 8 ``(input, op index)`` pairs: what the
        vectorised DARTS features read (:func:`graf.features.darts.darts_matrix`)."""
        return CELLS, [self.parse(a).to_naslib() for a in archs]

    def onehot(self, archs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """``onehot.<cell>.<i>-<k>.<op>``: whether node ``k`` (2..5, DARTS numbering) reads node ``i`` through op
        (14 possible edges x 7 ops per cell, 196 columns; 16 ones per genotype)."""
        edges = [(i, k + 2) for k in range(NUM_NODES) for i in range(k + 2)]
        position = {e: n for n, e in enumerate(edges)}
        names = [f"onehot.{c}.{i}-{k}.{op}" for c in CELLS for i, k in edges for op in OPS]
        matrix = np.zeros((len(archs), len(names)))
        width = len(edges) * len(OPS)
        for r, a in enumerate(archs):
            a = self.parse(a)
            for c, cell in enumerate(a.to_naslib()):
                for p, (inp, op) in enumerate(cell):
                    matrix[r, c * width + position[(inp, p // 2 + 2)] * len(OPS) + op] = 1.0
        return names, matrix


SPACE = NB301Space()
