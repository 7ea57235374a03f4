import time, numpy as np, sys
from graf.search import *
ds = sys.argv[1]
obj = BenchmarkObjective(ds)
feats = surrogate_features()
for cfg in [dict(n_candidates=100, refit_every=10), dict(n_candidates=20, refit_every=10), dict(n_candidates=100, refit_every=10, epsilon=0.3), dict(n_candidates=100, refit_every=10, n_init=20, population_size=20, sample_size=5)]:
    t=time.time(); tests=[]
    for s in range(10):
        st = make_strategy("surrogate-rea", seed=s, features=feats, options=cfg)
        r = run_search(st, obj, 100); tests.append(r.test)
    print(ds, cfg, round(np.mean(tests),3), round(time.time()-t,1), flush=True)
tests=[]
for s in range(10):
    r = run_search(make_strategy("rea", seed=s), obj, 100); tests.append(r.test)
print(ds, "rea100", np.mean(tests), flush=True)
