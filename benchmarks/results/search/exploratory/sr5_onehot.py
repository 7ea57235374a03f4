import sys
import pandas as pd
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import surrogate_features, make_strategy
from _tuning import tune
from graf.features.nb201 import onehot_matrix
from graf.spaces import nb201
g = surrogate_features(("graf",))
archs = [nb201.NB201Arch.from_str(a) for a in g.index]
names, oh = onehot_matrix(archs)
oh = pd.DataFrame(oh, index=g.index, columns=names)
FEATS = {"graf+onehot": pd.concat([g, oh], axis=1), "onehot": oh}
OPTS = {"graf+onehot": {}, "onehot": {}, "graf+onehot-iso": dict(skip_isomorphs=True)}
if __name__ == "__main__":
    tune(sys.argv[1].split(","),
         lambda name, s: make_strategy("surrogate-rea", seed=s, budget=100, features=FEATS[name.replace("-iso", "")],
                                       options=dict(SURROGATE, **OPTS[name])),
         HERE / "sr45_tuning.jsonl")
