"""A graph neural predictor on the cell itself: op-gated message passing over the cell's DAG.

The tree recipes see the architecture through hand-made features (GRAF, proxies). This model
reads the cell instead: node 0 holds a learned vector; every other node sums the messages of
its incoming edges, where an edge with op ``o`` from node ``i`` sends ``sigmoid(e_o) * (W_i h_i)``
(``e_o`` a learned op embedding, ``W_i`` a linear map per source node, the op ``none`` sends
nothing); a small MLP reads the last node. This is the op-gating idea of GATES (Ning et al.,
2020). It is trained on the standardised target with squared error plus a pairwise logistic
ranking loss, full batch with AdamW, and ``n_models`` networks from different initialisations
are averaged.

The cell comes from the ``onehot`` feature group: ``X`` must be a DataFrame with the columns
``onehot.<s>-<t>.<op>`` (one per edge and op, nodes numbered from 0, edges ``s < t``), exactly
one op set per edge. Every other column is ignored, so the model can sit in a blend
(:class:`graf.predictor.blend.SizeScaledBlend`) next to recipes that use the other feature groups.

``extra_prefix`` (e.g. ``"proxies."``) also feeds the columns with that prefix to the head, as
FLAN (Akhauri & Abdelfattah, ICML'24) feeds zero-cost proxies next to its graph encoding: they
are mapped to normal scores by a quantile transform fitted on the training nets, projected to
``dim`` (linear + ReLU) and concatenated with the last node's state before the MLP.

Needs PyTorch (the optional extra ``proxies``); torch is imported on ``fit``/``predict`` only.
Randomness comes from a :class:`torch.Generator` seeded with ``random_state``: no global seed
and no global torch setting is touched. Same seed, same predictions (on the same machine).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from graf.predictor.cells import cell_from_onehot, prune_cells

__all__ = ["CellGNNRegressor", "cell_from_onehot"]

#: above this many training nets, each epoch's ranking loss uses this many nets drawn at random
_RANK_ROWS = 1024


def _import_torch():
    from graf.optional import require

    return require("torch", needed_for="the cell GNN", install="pip install torch==2.13.0 'graf-nas[proxies]'")


def _network(torch, edges, n_ops: int, none_op: int | None, dim: int, generator, n_extra: int = 0):
    """The op-gated DAG network, initialised from ``generator``; ``n_extra`` graph-level inputs
    (projected, beside the last node's state) if positive."""
    nn = torch.nn
    n_nodes = max(t for _, t in edges) + 1

    def linear(n_in, n_out):  # uninitialised (set from ``generator`` below): no global RNG is drawn
        return nn.utils.skip_init(nn.Linear, n_in, n_out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.source = nn.Parameter(torch.empty(dim))
            self.op_embedding = nn.Parameter(torch.empty(n_ops, dim))
            self.maps = nn.ModuleList([linear(dim, dim) for _ in range(n_nodes - 1)])
            self.head = nn.Sequential(linear(2 * dim if n_extra else dim, 2 * dim), nn.ReLU(), linear(2 * dim, 1))
            self.extra = linear(n_extra, dim) if n_extra else None
            blocked = torch.zeros(n_ops)
            if none_op is not None:
                blocked[none_op] = 1.0
            self.register_buffer("passes", 1.0 - blocked)

        def forward(self, op_index, extra=None):
            h = [self.source.expand(op_index.shape[0], -1)]
            for node in range(1, n_nodes):
                total = torch.zeros_like(h[0])
                for k, (s, t) in enumerate(edges):
                    if t == node:
                        op = op_index[:, k]
                        gate = torch.sigmoid(self.op_embedding[op]) * self.passes[op].unsqueeze(1)
                        total = total + gate * self.maps[s](h[s])
                h.append(torch.relu(total) if node < n_nodes - 1 else total)
            last = h[-1] if self.extra is None else torch.cat([h[-1], torch.relu(self.extra(extra))], dim=1)
            return self.head(last).squeeze(1)

    net = Net()
    with torch.no_grad():
        net.source.normal_(0.0, 0.1, generator=generator)
        net.op_embedding.normal_(0.0, 1.0, generator=generator)
        for layer in [*net.maps, net.head[0], net.head[2], *([net.extra] if n_extra else [])]:
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    return net


class CellGNNRegressor(RegressorMixin, BaseEstimator):
    """Op-gated message passing over the cell DAG (see the module docstring); scikit-learn API.

    Parameters
    ----------
    dim : int
        Width of the node states and op embeddings (the head is ``2 * dim`` wide).
    epochs : int
        Full-batch AdamW steps per network.
    learning_rate, weight_decay : float
        AdamW settings.
    rank_weight : float
        Weight of the pairwise logistic ranking loss next to the squared error (0 turns it off).
    n_models : int
        Networks from different initialisations whose predictions are averaged.
    prune : bool
        Read each cell with its dead edges set to ``none`` (:func:`graf.predictor.cells.prune_cells`),
        so cells that compute the same thing look the same, and a cell whose output receives
        nothing looks like the all-``none`` cell. A no-op on NB201's valid nets.
    extra_prefix : str or None
        Also read the columns whose names start with it (e.g. ``"proxies."``; see the module
        docstring). They must be finite (fill missing values first, e.g. with
        :class:`graf.predictor.impute.WorstValueImputer`).
    random_state : int or None
        Seeds the initialisations (and, above 1024 training nets, the nets drawn for the
        ranking loss each epoch).
    """

    def __init__(
        self,
        dim: int = 64,
        epochs: int = 400,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-2,
        rank_weight: float = 1.0,
        n_models: int = 5,
        prune: bool = False,
        extra_prefix: str | None = None,
        random_state: int | None = None,
    ):
        self.dim = dim
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.rank_weight = rank_weight
        self.n_models = n_models
        self.prune = prune
        self.extra_prefix = extra_prefix
        self.random_state = random_state

    def _check_params(self):
        for name in ("dim", "epochs", "n_models"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"CellGNNRegressor: {name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "weight_decay", "rank_weight"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0 or (name == "learning_rate" and value == 0):
                raise ValueError(f"CellGNNRegressor: {name} must be a finite number >= 0 (> 0 for learning_rate), got {value!r}")

    def _cells(self, X):
        edges, ops, op_index = cell_from_onehot(X, reader="the cell GNN")
        if self.prune:
            op_index = prune_cells(edges, op_index, ops.index("none") if "none" in ops else None)
        return edges, ops, op_index

    def _extra(self, torch, X, fit: bool):
        """The ``extra_prefix`` columns as normal scores (float32 tensor), or None without a prefix."""
        if self.extra_prefix is None:
            return None
        if fit:
            if not isinstance(self.extra_prefix, str) or not self.extra_prefix:
                raise ValueError(f"CellGNNRegressor: extra_prefix must be a non-empty string or None, got {self.extra_prefix!r}")
            self.extra_columns_ = [c for c in X.columns if str(c).startswith(self.extra_prefix)]
            if not self.extra_columns_:
                raise ValueError(f"CellGNNRegressor: no column of X starts with extra_prefix {self.extra_prefix!r}")
        missing = [c for c in self.extra_columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"CellGNNRegressor: X lacks the column(s) {missing[:3]} it was fitted with")
        values = X[self.extra_columns_].to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"CellGNNRegressor: the {self.extra_prefix}* columns have NaN/inf values "
                             "(fill them first, e.g. with graf.predictor.impute.WorstValueImputer)")
        if fit:
            from sklearn.preprocessing import QuantileTransformer

            self.extra_transform_ = QuantileTransformer(
                n_quantiles=min(len(values), 1000), output_distribution="normal", random_state=0
            ).fit(values)
        return torch.tensor(self.extra_transform_.transform(values), dtype=torch.float32)

    def fit(self, X, y):
        self._check_params()
        edges, ops, op_index = self._cells(X)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(op_index):
            raise ValueError(f"X has {len(op_index)} rows but y has {len(y)}")
        if len(y) < 2:
            raise ValueError("CellGNNRegressor needs at least 2 training nets")
        if not np.isfinite(y).all():
            raise ValueError("CellGNNRegressor: the target has NaN/inf values")
        torch = _import_torch()
        self.edges_, self.ops_ = edges, ops
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        target = torch.tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        cells = torch.tensor(op_index, dtype=torch.long)
        extra = self._extra(torch, X, fit=True)
        n_extra = 0 if extra is None else extra.shape[1]
        none_op = ops.index("none") if "none" in ops else None
        generator = torch.Generator().manual_seed(0 if self.random_state is None else int(self.random_state))
        self.none_op_ = none_op
        # trained weights as state dicts (tensors), so a fitted model pickles; predict rebuilds
        self.networks_ = []
        for _ in range(self.n_models):
            net = _network(torch, edges, len(ops), none_op, self.dim, generator, n_extra)
            self._train(torch, net, cells, extra, target, generator)
            self.networks_.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _train(self, torch, net, cells, extra, target, generator):
        opt = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        n = len(target)
        for _ in range(self.epochs):
            opt.zero_grad()
            score = net(cells, extra)
            loss = torch.mean((score - target) ** 2)
            if self.rank_weight:
                rows = None if n <= _RANK_ROWS else torch.randperm(n, generator=generator)[:_RANK_ROWS]
                s, t = (score, target) if rows is None else (score[rows], target[rows])
                order = torch.sign(t[:, None] - t[None, :])
                pairs = (order != 0).sum()
                if pairs > 0:
                    margins = (s[:, None] - s[None, :]) * order
                    rank_loss = (torch.nn.functional.softplus(-margins) * (order != 0)).sum() / pairs
                    loss = loss + self.rank_weight * rank_loss
            loss.backward()
            opt.step()

    def predict(self, X):
        check_is_fitted(self, "networks_")
        edges, ops, op_index = self._cells(X)
        if edges != self.edges_ or ops != self.ops_:
            raise ValueError("X's onehot columns describe other edges or ops than the ones the model was fitted on")
        torch = _import_torch()
        cells = torch.tensor(op_index, dtype=torch.long)
        extra = self._extra(torch, X, fit=False)
        n_extra = 0 if extra is None else extra.shape[1]
        scores = []
        for state in self.networks_:
            net = _network(torch, self.edges_, len(self.ops_), self.none_op_, self.dim, torch.Generator(), n_extra)
            net.load_state_dict(state)
            net.eval()
            with torch.no_grad():
                scores.append(net(cells, extra))
        score = torch.stack(scores).mean(0).double().numpy()
        return score * self.y_scale_ + self.y_mean_
