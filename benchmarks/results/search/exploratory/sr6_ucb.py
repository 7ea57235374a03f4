"""Exploratory: UCB acquisition (mean + kappa * sd over the forest's trees) for surrogate-REA."""
import sys
import numpy as np
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import surrogate_features
from _tuning import tune
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
    datasets = sys.argv[2].split(",") if len(sys.argv) > 2 else ("cifar100", "imagenet16", "cifar10")
    feats = surrogate_features(("graf",))
    tune(sys.argv[1].split(","), lambda name, s: SurrogateREA(features=feats, seed=s, **dict(SURROGATE, **VARIANTS[name])),
         HERE / "sr6_ucb_tuning.jsonl", datasets)
