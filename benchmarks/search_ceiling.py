"""What the search protocol can reach at best: the pick-by-target ceiling (issue 5).

DESIGN §6 reports the test accuracy of the queried net with the best *target* (validation)
value. Even a search that queried every net of the space would return the net with the best
target, and its test accuracy is the protocol's ceiling. This script prints, for each dataset
and its default target column, the test accuracy of the k best nets by target, and, for each
run-history file given, where the returned nets rank by target among all nets.

Usage (from the repository root; data in $GRAF_DATA_DIR or ../shared/data)::

    python benchmarks/search_ceiling.py [--histories 'benchmarks/results/search/history_*_seeds100.parquet']
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graf.data.nb201 import load_nb201_accuracy  # noqa: E402
from graf.spaces import get_space  # noqa: E402

#: dataset -> (target column, test column) of the NB201 search datasets
DATASETS = {name: (d.target, d.test) for name, d in get_space("nb201").datasets.items()}

TOP = (1, 2, 3, 5, 10, 20)
RANK_BINS = [0, 1, 5, 20, 100, float("inf")]


def ceiling_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: mean test accuracy of the top k nets by target, the test accuracy of the 2nd and 3rd, the best test accuracy."""
    rows = {}
    for dataset, (target, test) in DATASETS.items():
        ranked = table.sort_values(target, ascending=False, kind="stable")[test]
        row = {f"top{k}": ranked.iloc[:k].mean() for k in TOP}
        row["rank2"], row["rank3"] = ranked.iloc[1], ranked.iloc[2]
        row["best_test"] = table[test].max()
        rows[f"{dataset} ({target})"] = row
    return pd.DataFrame(rows).T


def pick_ranks(table: pd.DataFrame, history: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Each seed's returned net (best target among its queries): its target rank among all nets and its test accuracy."""
    target, test = DATASETS[dataset]
    rank = table[target].rank(ascending=False, method="min")
    picks = history.groupby(level="seed")[["arch", "target"]].apply(lambda g: g["arch"].iloc[int(g["target"].to_numpy().argmax())])
    archs = picks.to_numpy()
    return pd.DataFrame({"rank": rank.loc[archs].to_numpy(), "test": table.loc[archs, test].to_numpy()}, index=picks.index)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--histories", default=str(REPO / "benchmarks/results/search/history_*_surrogate-rea*_q100_seeds100.parquet"),
                    help="glob of run-history files (history_<dataset>_*.parquet) to analyse")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    table = load_nb201_accuracy(args.data_dir)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 2):
        print("test accuracy of the nets ranked best by the target, over all 15625 nets")
        print(ceiling_table(table))
        for path in sorted(glob.glob(args.histories)):
            dataset = Path(path).name.split("_")[1]
            picks = pick_ranks(table, pd.read_parquet(path), dataset)
            bins = pd.cut(picks["rank"], RANK_BINS)
            summary = picks.groupby(bins, observed=False)["test"].agg(["count", "mean"]).T
            print(f"\n{Path(path).name}: {len(picks)} seeds, mean test {picks['test'].mean():.3f}; "
                  "returned net's target rank among all nets")
            print(summary)


if __name__ == "__main__":
    main()
