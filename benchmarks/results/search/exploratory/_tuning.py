"""The loop the sr4/sr5/sr6 scripts share: each design on the 30 tuning seeds, one JSON line per run."""
import json
import time

import numpy as np

from graf.search import BenchmarkObjective, run_search

TUNING_SEEDS = range(1000, 1030)


def tune(names, make, out_path, datasets=("cifar10", "cifar100", "imagenet16")):
    """Run ``make(name, seed)`` (a fresh strategy) for 100 queries on every dataset and tuning seed;
    append ``{design, dataset, seed, test, target}`` to ``out_path``; print mean ± se per design."""
    with open(out_path, "a") as out:
        for ds in datasets:
            obj = BenchmarkObjective(ds)
            for name in names:
                t0 = time.time(); tests = []
                for s in TUNING_SEEDS:
                    r = run_search(make(name, s), obj, 100, unit="queries"); tests.append(r.test)
                    out.write(json.dumps(dict(design=name, dataset=ds, seed=s, test=r.test, target=r.target)) + "\n"); out.flush()
                print(ds, name, round(np.mean(tests), 3), round(np.std(tests, ddof=1) / np.sqrt(len(tests)), 3), f"{time.time()-t0:.0f}s", flush=True)
