import json, sys, time
import numpy as np, pandas as pd
from pathlib import Path; HERE = Path(__file__).resolve().parent; sys.path.insert(0, str(HERE.parents[3])); sys.path.insert(0, str(HERE.parents[2]))
from bench_search import SURROGATE_K0 as SURROGATE  # the default when these ran (kappa = 0)
from graf.search import BenchmarkObjective, run_search, surrogate_features, make_strategy
from graf.features.nb201 import onehot_matrix
from graf.spaces import nb201
g = surrogate_features(("graf",))
archs = [nb201.NB201Arch.from_str(a) for a in g.index]
names, oh = onehot_matrix(archs)
oh = pd.DataFrame(oh, index=g.index, columns=names)
FEATS = {"graf+onehot": pd.concat([g, oh], axis=1), "onehot": oh}
OPTS = {"graf+onehot": {}, "onehot": {}, "graf+onehot-iso": dict(skip_isomorphs=True)}
if __name__ == "__main__":
    names = sys.argv[1].split(","); seeds = range(1000, 1030)
    out = open(HERE / "sr45_tuning.jsonl", "a")
    for ds in ("cifar10", "cifar100", "imagenet16"):
        obj = BenchmarkObjective(ds)
        for name in names:
            t0 = time.time(); tests = []
            f = FEATS[name.replace("-iso", "")]
            for s in seeds:
                st = make_strategy("surrogate-rea", seed=s, budget=100, features=f, options=dict(SURROGATE, **OPTS[name]))
                r = run_search(st, obj, 100, unit="queries"); tests.append(r.test)
                out.write(json.dumps(dict(design=name, dataset=ds, seed=s, test=r.test)) + "\n"); out.flush()
            print(ds, name, round(np.mean(tests), 3), round(np.std(tests, ddof=1) / np.sqrt(len(tests)), 3), f"{time.time()-t0:.0f}s", flush=True)
