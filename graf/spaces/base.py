"""The search-space protocol: what every layer may ask of a space.

A space is an object (one instance per space, registered in :data:`graf.spaces.SPACES`)
that knows its architecture type and everything about it that does not need benchmark
files: encodings, enumeration, seeded sampling and mutation, validity and isomorphism,
the networkx graph the features read, the GRAF feature configuration, the one-hot
encoding, and the *names* of its benchmark datasets' columns. The files themselves are
read by the data layer (:mod:`graf.data`), which keys its loaders on the space's name;
this module imports no other layer.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Hashable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["Space", "SearchDataset", "FamilyConfig", "GrafConfig", "CellShape", "DuplicateArchitecturesWarning",
           "InvalidParameters"]


class DuplicateArchitecturesWarning(UserWarning):
    """Some architectures were given more than once (in any encoding); each was kept once."""


class InvalidParameters(ValueError):
    """An assignment of :meth:`Space.parameters` that is no architecture of the space (e.g. an
    NB101 choice of edges whose input does not reach the output). Search strategies draw again
    instead of querying it; other ValueErrors of ``from_parameters`` name a malformed assignment."""


@dataclass(frozen=True)
class SearchDataset:
    """One benchmark dataset of a space as a search objective reads it.

    ``target`` is the column shown to the search (the "trained" accuracy), ``test`` the one
    reported for the returned net, ``cost`` the simulated training seconds of one query
    (``None``: the benchmark has no cost column, budgets count queries). The columns are
    those of the space's benchmark table in :mod:`graf.data`.
    """

    name: str
    target: str
    test: str
    cost: str | None = None
    description: str = ""


@dataclass(frozen=True)
class FamilyConfig:
    """One GRAF feature family applied to op subsets.

    ``family`` is the column prefix, ``function`` the name of a family function in
    :mod:`graf.features.families` (``edge_count``, ``min_path_len``, ``max_path_len``,
    ``node_degree``), ``sizes`` the sizes of the allowed op subsets it is applied to (the
    subsets themselves are expanded from the space's op set), ``params`` keyword arguments
    of the function (e.g. the no-path sentinel).
    """

    family: str
    function: str
    sizes: tuple[int, ...]
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class GrafConfig:
    """A space's GRAF configuration: its op set (in column order) and its families."""

    ops: tuple[str, ...]
    families: tuple[FamilyConfig, ...]

    @classmethod
    def standard(cls, ops: Sequence[str], *, min_no_path: float = 5.0, max_no_path: float = -1.0) -> "GrafConfig":
        """The GRAF paper's four families on every non-empty op subset (op counts on single ops)."""
        every = tuple(range(1, len(ops) + 1))
        return cls(
            ops=tuple(ops),
            families=(
                FamilyConfig("op_count", "edge_count", (1,)),
                FamilyConfig("min_path_len", "min_path_len", every, (("no_path", float(min_no_path)),)),
                FamilyConfig("max_op_on_path", "max_path_len", every, (("no_path", float(max_no_path)),)),
                FamilyConfig("node_degree", "node_degree", every),
            ),
        )


@dataclass(frozen=True)
class CellShape:
    """The fixed graph shape of a cell space whose ops sit on edges: nodes, edges (in the
    order of :meth:`Space.op_index_matrix`'s columns), input and output node."""

    nodes: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]
    input: int
    output: int


class Space(abc.ABC):
    """A search space. Subclasses set the class attributes and implement the abstract methods.

    Architectures are hashable, immutable, and ``str(arch)`` is their canonical string (the
    index of every table). ``parse`` accepts every encoding in :attr:`encodings` (and an
    architecture of the space itself); ``format(arch, encoding)`` writes one back.
    """

    #: registry name, e.g. ``"nb201"``
    name: ClassVar[str]
    #: one line for help texts
    description: ClassVar[str]
    #: the architecture type
    arch_type: ClassVar[type]
    #: encoding names accepted by :meth:`parse` and written by :meth:`format`; the first is canonical
    encodings: ClassVar[tuple[str, ...]]
    #: number of architectures, or None when unknown / too large to count
    size: ClassVar[int | None] = None
    #: benchmark datasets the search can run on, by name
    datasets: ClassVar[dict[str, SearchDataset]] = {}
    #: the dataset a search uses when none is named
    default_dataset: ClassVar[str | None] = None
    #: GRAF feature configuration
    graf_config: ClassVar[GrafConfig]
    #: the fixed shape of an edge-labelled cell (enables the vectorised feature path), or None
    cell_shape: ClassVar[CellShape | None] = None
    #: architecture-file help: the encodings a line may use
    arch_help: ClassVar[str] = ""

    # ------------------------------------------------------------------ encodings
    @abc.abstractmethod
    def parse(self, value: Any) -> Hashable:
        """An architecture from any of :attr:`encodings`; ValueError with the reason otherwise."""

    @abc.abstractmethod
    def format(self, arch: Any, encoding: str | None = None) -> str:
        """``arch`` written in ``encoding`` (default: the canonical string)."""

    def unique(self, archs: "Sequence[Any]", *, what: str = "architectures") -> list:
        """``archs`` parsed, each architecture once in first-seen order.

        Duplicates (the same architecture in any encoding) are dropped and reported with one
        :class:`DuplicateArchitecturesWarning` naming their count; the CLI's architecture files
        drop them the same way (:func:`graf.archfile.read_arch_file`) and print that count.
        """
        import warnings

        given = [self.parse(a) for a in archs]
        kept = list(dict.fromkeys(given))
        if len(kept) < len(given):
            warnings.warn(
                f"{len(given) - len(kept)} duplicate {what} dropped (each architecture is kept once)",
                DuplicateArchitecturesWarning, stacklevel=3,
            )
        return kept

    def check_encoding(self, encoding: str | None) -> str:
        encoding = encoding or self.encodings[0]
        if encoding not in self.encodings:
            raise ValueError(f"space {self.name!r} has no encoding {encoding!r}; available: {', '.join(self.encodings)}")
        return encoding

    # ------------------------------------------------------------------ the set of architectures
    @abc.abstractmethod
    def enumerate(self) -> list | None:
        """Every architecture in a fixed order, or None where the space is too large."""

    def valid_archs(self) -> list | None:
        """The architectures :meth:`is_valid` accepts, in :meth:`enumerate` order (None if not enumerable)."""
        archs = self.enumerate()
        return None if archs is None else [a for a in archs if self.is_valid(a)]

    def is_valid(self, arch: Any) -> bool:
        """Whether ``arch`` is in canonical (pruned) form; spaces without a pruning rule accept all."""
        return True

    def pruned(self, arch: Any) -> Any:
        """The equivalent architecture with unreachable branches removed (identity by default)."""
        return arch

    def iso_key(self, arch: Any) -> str | None:
        """A key equal exactly for isomorphic architectures, or None where the space defines none."""
        return None

    @abc.abstractmethod
    def sample(self, n: int, seed: int | np.random.Generator, *, valid_only: bool = False) -> list:
        """``n`` architectures drawn with replacement, reproducibly from ``seed``."""

    @abc.abstractmethod
    def neighbours(self, arch: Any, *, valid_only: bool = False) -> list:
        """Every architecture one edit away from ``arch`` (never ``arch`` itself), in a fixed order."""

    def mutate(self, arch: Any, seed: int | np.random.Generator, *, valid_only: bool = False) -> Any:
        """One uniformly drawn neighbour of ``arch`` (one edit; never ``arch``).

        With ``valid_only`` the child is drawn from the valid neighbours (a ValueError if there
        is none, which happens only for some invalid parents: mutate the pruned form instead).
        """
        rng = np.random.default_rng(seed)
        options = self.neighbours(arch, valid_only=valid_only)
        if not options:
            raise ValueError(
                f"{arch} has no {'valid ' if valid_only else ''}one-edge mutation in space {self.name!r}; "
                "mutate its pruned form instead"
            )
        return options[int(rng.integers(len(options)))]

    # ------------------------------------------------------------------ features
    @abc.abstractmethod
    def graph(self, arch: Any) -> "nx.DiGraph":
        """The networkx graph the GRAF features read: ops on the ``op`` edge attribute, graph
        attributes ``input`` and ``output`` naming those nodes."""

    def op_index_matrix(self, archs: Sequence[Any]) -> np.ndarray:
        """``(n, len(cell_shape.edges))`` op indices into ``graf_config.ops`` (cell spaces only)."""
        raise NotImplementedError(f"space {self.name!r} has no fixed cell shape")

    @abc.abstractmethod
    def onehot(self, archs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """One-hot column names (``onehot.<...>``) and the ``(n, columns)`` 0/1 matrix."""

    # ------------------------------------------------------------------ categorical parameters
    def parameters(self) -> dict[str, tuple[str, ...]]:
        """The space as independent categorical choices, ``{parameter name: choices}``, in a
        fixed order (for policy-gradient search and optuna samplers). Every architecture of the
        space is the image of some assignment (:meth:`to_parameters`); in most spaces every
        assignment is an architecture, in some (NB101) :meth:`from_parameters` rejects some with
        :class:`InvalidParameters`."""
        raise NotImplementedError(f"space {self.name!r} has no categorical parameterisation")

    def from_parameters(self, values: "dict[str, str]") -> Hashable:
        """The architecture of one assignment of :meth:`parameters` (a ValueError names a bad value;
        :class:`InvalidParameters` when the assignment is well formed but no architecture)."""
        raise NotImplementedError(f"space {self.name!r} has no categorical parameterisation")

    def to_parameters(self, arch: Any) -> dict[str, str]:
        """The assignment of :meth:`parameters` that gives ``arch``."""
        raise NotImplementedError(f"space {self.name!r} has no categorical parameterisation")

    def check_assignment(self, values: "dict[str, str]") -> dict[str, tuple[str, ...]]:
        """:meth:`parameters`, after checking that ``values`` gives each of them exactly one of
        its choices (a ValueError naming the first missing, unknown or bad parameter)."""
        params = self.parameters()
        missing = [n for n in params if n not in values]
        if missing:
            raise ValueError(f"no value for parameter {missing[0]!r} of space {self.name!r}")
        extra = [n for n in values if n not in params]
        if extra:
            raise ValueError(f"space {self.name!r} has no parameter {extra[0]!r}; parameters: {', '.join(params)}")
        for n, v in values.items():
            if v not in params[n]:
                raise ValueError(f"parameter {n!r} of space {self.name!r} takes one of {', '.join(params[n])}, got {v!r}")
        return params

    # ------------------------------------------------------------------ datasets
    def dataset(self, name: str | None = None) -> SearchDataset:
        """The named search dataset (default :attr:`default_dataset`), or a clear error."""
        name = name or self.default_dataset
        if name not in self.datasets:
            raise ValueError(
                f"unknown dataset {name!r} for space {self.name!r}; available: {', '.join(self.datasets) or 'none'}"
            )
        return self.datasets[name]

    def __repr__(self) -> str:
        return f"<space {self.name}>"

