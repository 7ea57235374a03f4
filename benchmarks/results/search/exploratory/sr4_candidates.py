"""Exploratory: candidate-generation variants of surrogate-REA on tuning seeds."""
import sys
import numpy as np
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import surrogate_features
from _tuning import tune
from graf.search.strategies import SurrogateREA
from graf.spaces.nb201 import NB201Arch, EDGES, OPS

def neighbours(a, valid_only=False):
    out = [NB201Arch(a.ops[:e] + (op,) + a.ops[e + 1:]) for e in range(len(EDGES)) for op in OPS if op != a.ops[e]]
    return [x for x in out if x.is_valid] if valid_only else out

class Variant(SurrogateREA):
    def __init__(self, *, mode, k=3, **kw):
        super().__init__(**kw); self.mode, self.k = mode, k
        self._all = list(self._features.index); self._pred_all = None
    def _fit(self):
        if self.model_ is None or len(self.told) - self._fitted_on >= self.refit_every:
            archs = [a for a, _ in self.told]; y = np.array([v for _, v in self.told])
            self.model_ = self._make_regressor(int(self._rng.integers(2**31 - 1)))
            self.model_.fit(self._rows(archs), y); self._fitted_on = len(self.told); self.n_fits += 1
            self._pred_all = None
    def _child(self):
        if self.mode == "elite":
            # tournament among the best population_size told values
            best = sorted(self.told, key=lambda t: -t[1])[: self.population_size]
            saved = self.population; from collections import deque
            self.population = deque(best)
            try: return super()._child()
            finally: self.population = saved
        self._fit()
        seen = {str(a) for a, _ in self.told} | set(self._pending)
        if self.mode == "global":
            if self._rng.random() < self.epsilon:
                return super()._child()
            if self._pred_all is None:
                self._pred_all = self.model_.predict(self._X)
            order = np.argsort(-self._pred_all, kind="stable")
            for i in order:
                if self._all[i] not in seen: return NB201Arch.from_str(self._all[i])
        if self.mode.startswith("nbhd"):
            top = sorted(self.told, key=lambda t: -t[1])[: self.k]
            cands = {}
            for a, _ in top:
                for c in neighbours(a, self.valid_only):
                    if str(c) not in seen: cands.setdefault(str(c), c)
                    if self.mode == "nbhd2":
                        for c2 in neighbours(c, self.valid_only):
                            if str(c2) not in seen: cands.setdefault(str(c2), c2)
            for _ in range(20 * self.n_candidates):
                child = self._mutate(self._tournament())
                if str(child) not in seen: cands.setdefault(str(child), child)
            pool = list(cands.values())
            if not pool: return self._mutate(self._tournament())
            if self.epsilon and self._rng.random() < self.epsilon:
                return pool[int(self._rng.integers(len(pool)))]
            pred = self.model_.predict(self._rows(pool))
            return pool[int(np.argmax(pred))]
        raise ValueError(self.mode)

VARIANTS = {
    "global": dict(mode="global"),
    "global-eps0.1": dict(mode="global", epsilon=0.1),
    "elite": dict(mode="elite"),
    "nbhd3": dict(mode="nbhd", k=3),
    "nbhd1": dict(mode="nbhd", k=1),
    "nbhd2-1": dict(mode="nbhd2", k=1),
}
if __name__ == "__main__":
    feats = surrogate_features(("graf",))
    tune(sys.argv[1].split(","), lambda name, s: Variant(features=feats, seed=s, **dict(SURROGATE, **VARIANTS[name])),
         HERE / "sr45_tuning.jsonl")
