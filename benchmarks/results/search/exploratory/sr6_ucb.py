"""Exploratory: UCB acquisition (mean + kappa * sd over the forest's trees) for surrogate-REA."""
import json, sys, time
import numpy as np
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import BenchmarkObjective, run_search, surrogate_features
from graf.search.strategies import SurrogateREA


class _Wrap:
    def __init__(self, est, kappa): self.est, self.kappa = est, kappa
    def fit(self, X, y): self.est.fit(X, y); return self
    def predict(self, X):
        per_tree = np.stack([t.predict(X) for t in self.est.estimator_.estimators_])
        return per_tree.mean(0) + self.kappa * per_tree.std(0)

def factory(kappa):
    from graf.search.strategies import default_regressor
    return lambda seed: _Wrap(default_regressor(seed), kappa)

VARIANTS = {"ucb0.25": dict(regressor=factory(0.25)), "ucb0.5-eps0.2": dict(regressor=factory(0.5), epsilon=0.2), "ucb0.75": dict(regressor=factory(0.75)),
            "ucb0.5": dict(regressor=factory(0.5)), "ucb1": dict(regressor=factory(1.0)), "ucb2": dict(regressor=factory(2.0)),
            "ucb1-eps0.1": dict(regressor=factory(1.0), epsilon=0.1), "ucb2-eps0": dict(regressor=factory(2.0), epsilon=0.0)}
if __name__ == "__main__":
    names = sys.argv[1].split(","); seeds = range(1000, 1030)
    datasets = sys.argv[2].split(",") if len(sys.argv) > 2 else ("cifar100", "imagenet16", "cifar10")
    feats = surrogate_features(("graf",))
    out = open(HERE / "sr6_ucb_tuning.jsonl", "a")
    for ds in datasets:
        obj = BenchmarkObjective(ds)
        for name in names:
            t0 = time.time(); tests = []
            for s in seeds:
                st = SurrogateREA(features=feats, seed=s, **dict(SURROGATE, **VARIANTS[name]))
                r = run_search(st, obj, 100, unit="queries"); tests.append(r.test)
                out.write(json.dumps(dict(design=name, dataset=ds, seed=s, test=r.test, target=r.target)) + "\n"); out.flush()
            print(ds, name, round(np.mean(tests), 3), round(np.std(tests, ddof=1) / np.sqrt(len(tests)), 3), f"{time.time()-t0:.0f}s", flush=True)
