"""Send SIGINT (or SIGTERM) to ``graf search`` many times at random moments; count the runs that
did not stop.

Each trial starts ``graf search --algorithm rea --budget 30 --seeds 100000 --history H`` (the
command of ``tests/test_faults.py``), waits for its first finished seed, waits a further random
0-``--jitter`` s and sends the signal. A run that has not exited ``--wait`` s later is counted as
hung (and killed); its stderr is kept in ``--keep``. ``--source DIR`` runs the graf package of
another checkout (e.g. an older commit from ``git worktree add``), for a before / after count on
the same machine. Prints one JSON line.

    GRAF_DATA_DIR=../shared/data python benchmarks/stress_interrupt.py --trials 300 [--source DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# SIGINT back to KeyboardInterrupt first (a job started in the background inherits it ignored)
RUN = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
       "sys.argv = ['graf', *sys.argv[1:]]; runpy.run_module('graf.cli', run_name='__main__')")


def trial(source: Path, work: Path, signum: int, delay: float, wait: float) -> tuple[int | None, str]:
    """One run: its exit code (None: it did not stop within ``wait`` s) and its stderr."""
    history = work / "h.parquet"
    for path in (history, work / "h.parquet.partial.jsonl"):
        path.unlink(missing_ok=True)
    argv = ["search", "--algorithm", "rea", "--budget", "30", "--seeds", "100000", "--history", str(history)]
    # cwd = the checkout: ``python -c`` puts it first on sys.path, so its graf is the one imported
    proc = subprocess.Popen([sys.executable, "-c", RUN, *argv], cwd=source, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    while not re.search(r"\| *[1-9][0-9]*/100000", "".join(chunks)) and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    reader.join(timeout=5)
    return code, "".join(chunks).replace("\r", "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=300)
    p.add_argument("--signal", choices=["SIGINT", "SIGTERM"], default="SIGINT")
    p.add_argument("--jitter", type=float, default=0.2, help="the longest random wait after the first seed, s")
    p.add_argument("--wait", type=float, default=30.0, help="how long a run may take to stop, s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", type=Path, default=REPO, help="the checkout whose graf runs (default: this one)")
    p.add_argument("--keep", type=Path, default=None, help="folder for the stderr of the runs that hung")
    args = p.parse_args()
    signum = getattr(signal, args.signal)
    rng = random.Random(args.seed)
    counts = {"stopped": 0, "hung": 0, "other_exit": 0}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.trials):
            code, err = trial(args.source.resolve(), Path(tmp), signum, rng.random() * args.jitter, args.wait)
            if code is None:
                counts["hung"] += 1
                if args.keep is not None:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / f"hung_{i}.txt").write_text(err)
            else:
                counts["stopped" if code == 128 + signum else "other_exit"] += 1
    print(json.dumps({"source": str(args.source), "signal": args.signal, "trials": args.trials, **counts,
                      "seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
