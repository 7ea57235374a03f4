import time, numpy as np, sys
from graf.search import *
ds = sys.argv[1]; k = int(sys.argv[2])
obj = BenchmarkObjective(ds)
fg = surrogate_features(("graf",))
sc = score_provider("published")
base = dict(n_candidates=100, refit_every=10)
cfgs = [("eps0.3+nwot-warm", True, dict(base, epsilon=0.3, scores=sc)),
        ("eps0.5", False, dict(base, epsilon=0.5)),
        ("nwot-warm", True, dict(base, scores=sc)),]
for name, vo, cfg in cfgs:
    t=time.time(); tests=[]
    for s in range(k):
        st = make_strategy("surrogate-rea", seed=s, features=fg, valid_only=vo, options=cfg)
        r = run_search(st, obj, 100); tests.append(r.test)
    print(ds, name, round(np.mean(tests),3), round(time.time()-t,1), flush=True)
