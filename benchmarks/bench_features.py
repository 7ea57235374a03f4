"""Time ``graf features --space nb201`` over all 15625 nets as a whole process.

Also times the direct per-graph networkx evaluation of the same 191 features (what a
straightforward implementation of the GRAF authors' algorithm does) for comparison.

    python benchmarks/bench_features.py [--repeats 7] [--skip-direct]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_cli(repeats: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nb201.parquet"
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "graf", "features", "--space", "nb201", "--out", str(out)],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
    return times


def time_direct() -> float:
    from graf.features import graf_specs, graph_features
    from graf.spaces.nb201 import SPACE, all_archs

    specs = graf_specs(SPACE)
    start = time.perf_counter()
    for arch in all_archs():
        graph_features(arch.to_graph(), specs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-direct", action="store_true")
    args = parser.parse_args()
    times = time_cli(args.repeats)
    result = {
        "cli_seconds_min": min(times),
        "cli_seconds_median": statistics.median(times),
        "cli_seconds_all": [round(t, 3) for t in times],
    }
    if not args.skip_direct:
        result["direct_networkx_seconds"] = time_direct()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
