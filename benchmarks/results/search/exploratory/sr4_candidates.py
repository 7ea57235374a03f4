"""Exploratory: candidate-generation variants of surrogate-REA on tuning seeds."""
import json, sys, time
import numpy as np, pandas as pd
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import BenchmarkObjective, run_search, surrogate_features
from graf.search.strategies import SurrogateREA
from graf.spaces import nb201
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
    names = sys.argv[1].split(","); seeds = range(1000, 1030)
    feats = surrogate_features(("graf",))
    out = open(HERE / "sr45_tuning.jsonl", "a")
    for ds in ("cifar10", "cifar100", "imagenet16"):
        obj = BenchmarkObjective(ds)
        for name in names:
            t0 = time.time(); tests = []
            for s in seeds:
                st = Variant(features=feats, seed=s, **dict(SURROGATE, **VARIANTS[name]))
                r = run_search(st, obj, 100, unit="queries"); tests.append(r.test)
                out.write(json.dumps(dict(design=name, dataset=ds, seed=s, test=r.test)) + "\n"); out.flush()
            print(ds, name, round(np.mean(tests), 3), round(np.std(tests, ddof=1) / np.sqrt(len(tests)), 3), f"{time.time()-t0:.0f}s", flush=True)
