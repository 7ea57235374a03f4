import time, numpy as np, sys
from graf.search import *
ds = sys.argv[1]
obj = BenchmarkObjective(ds)
fg = surrogate_features(("graf",)); fz = surrogate_features(("graf","zcp"))
base = dict(n_candidates=100, refit_every=10)
cfgs = [("valid", fg, True, base), ("iso", fg, False, dict(base, skip_isomorphs=True)),
        ("valid+iso", fg, True, dict(base, skip_isomorphs=True)), ("zcp+iso", fz, True, dict(base, skip_isomorphs=True)),
        ("zcp+iso c300", fz, True, dict(base, skip_isomorphs=True, n_candidates=300))]
for name, f, vo, cfg in cfgs:
    t=time.time(); tests=[]
    for s in range(10):
        st = make_strategy("surrogate-rea", seed=s, features=f, valid_only=vo, options=cfg)
        r = run_search(st, obj, 100); tests.append(r.test)
    print(ds, name, round(np.mean(tests),3), round(time.time()-t,1), flush=True)
