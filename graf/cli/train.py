"""``graf train``: train listed nets on an image dataset into a label table (your own benchmark);
and the training-objective options of ``graf search`` (``--objective train``, ``--workers``,
``--scheduler``, ``--resume``).

torch and :mod:`proxies.train` are imported only when a net is trained (by
:class:`graf.search.objective.TrainObjective`), so ``graf --help`` stays light.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from graf.cli import Terminated, add_space_argument, progress, read_archs, say, stopped

HELP = ("train nets of a space (NB201) on digits, an .npz or an image folder for E epochs; a label table "
        "(val_acc, test_acc, seconds, error) for graf evaluate/explain --labels")

#: the label table's target column (validation accuracy, %) and its other columns
LABEL_COLUMNS = ("val_acc", "test_acc", "train_loss", "seconds", "error")


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """The training options shared by ``graf train`` and ``graf search --objective train``."""
    p.add_argument("--train-data", default="digits",
                   help="digits (scikit-learn's 1797 8x8 digits, no download; the default), an .npz file with x "
                        "(uint8 N x H x W x C) and y, or a folder with one subfolder of PNG/JPEG images per class")
    p.add_argument("--epochs", type=int, default=1, help="training epochs per net (default: 1)")
    p.add_argument("--channels", type=int, default=8, help="network width C of the first stage (default: 8)")
    p.add_argument("--cells", type=int, default=1, help="cells per stage N (default: 1)")
    p.add_argument("--train-seed", type=int, default=0, help="seed of the weights and minibatch order (default: 0)")
    p.add_argument("--train-batch-size", type=int, default=64, help="SGD minibatch (default: 64)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate, cosine-annealed to 0 (default: 0.1)")
    p.add_argument("--image-size", type=int, default=None,
                   help="resize images to this square size (default: digits 8, folder images 32, npz as stored)")
    p.add_argument("--device", default="auto", help="auto (a GPU when present), cpu or cuda[:i] (default: auto)")
    p.add_argument("--workers", type=int, default=1,
                   help="trainings at a time in local processes (default 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="Dask scheduler address (tcp://...): train on that cluster, as many at a time as --workers")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")


def add_search_arguments(p: argparse.ArgumentParser) -> None:
    """``graf search``'s objective options."""
    p.add_argument("--objective", default="benchmark", choices=("benchmark", "train"),
                   help="benchmark: read accuracies from the space's table (default); train: train each queried net "
                        "(--train-data, --epochs, ...) and search on its validation accuracy")
    add_training_arguments(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space_argument(p)
    p.add_argument("--archs", metavar="FILE", required=True, help="one architecture a line, in any of the space's encodings")
    add_training_arguments(p)
    p.add_argument("--out", required=True, help="label table: .parquet, .csv or .csv.gz, index 'arch'")


def _check_workers(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    for flag, value in (("--epochs", args.epochs), ("--channels", args.channels), ("--cells", args.cells),
                        ("--train-batch-size", args.train_batch_size)):
        if value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if args.train_seed < 0:
        raise ValueError(f"--train-seed must be >= 0, got {args.train_seed}")


def train_objective(args: argparse.Namespace, space, *, reuse: bool = True):
    """The :class:`~graf.search.objective.TrainObjective` of the command line's training options."""
    from graf.optional import require
    from graf.search.objective import TrainObjective

    _check_workers(args)
    require("torch", needed_for="training nets", install="pip install 'graf-nas[proxies]'")
    if space.name != "nb201":
        raise ValueError(f"training needs a network of the space; only nb201 has one, not {space.name!r}")
    return TrainObjective(args.train_data, epochs=args.epochs, C=args.channels, N=args.cells, seed=args.train_seed,
                          space=space, reuse=reuse, batch_size=args.train_batch_size, lr=args.lr,
                          image_size=args.image_size, device=args.device)


# --------------------------------------------------------------------------- graf search
#: options that do not change a search's numbers (where it runs, what it prints, where it writes)
_NOT_RUN = {"json", "quiet", "no_progress", "overwrite", "resume", "workers", "scheduler", "history", "data_dir",
            "device", "command", "_module"}


def run_identity(args: argparse.Namespace) -> dict:
    """The options that determine a search's numbers: what a checkpoint must match to be resumed."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_RUN}


def history_output(args: argparse.Namespace):
    """``--history`` checked before any work; with ``--resume`` and a checkpoint it may exist
    (it holds what the interrupted run had written)."""
    from graf.search.runner import checkpoint_path
    from graf.tables import check_output

    if args.resume and not args.history:
        raise ValueError("--resume needs --history (the checkpoint lives beside it)")
    if not args.history:
        return None
    resuming = args.resume and checkpoint_path(args.history).exists()
    return check_output(args.history, overwrite=args.overwrite or resuming)


def search_objective(args: argparse.Namespace, space):
    """``graf search``'s objective: the benchmark table, or training (``--objective train``)."""
    from graf.search import BenchmarkObjective

    if args.objective == "train":
        return train_objective(args, space)
    if args.workers != 1 or args.scheduler:
        raise ValueError("--workers and --scheduler apply to --objective train (a table query needs no worker)")
    return BenchmarkObjective(args.dataset, space=space, target=args.target, test=args.test, data_dir=args.data_dir)


class SearchSession:
    """What ``graf search`` needs around its seeds: the executor of the training objective and
    the checkpoint beside ``--history`` (opened or resumed)."""

    def __init__(self, args: argparse.Namespace, objective, history_path) -> None:
        from graf.search.runner import SearchCheckpoint, make_executor

        self.workers = max(1, args.workers)
        self.checkpoint = None
        if history_path is not None:
            self.checkpoint = SearchCheckpoint.open(history_path, run_identity(args), resume=args.resume,
                                                    fsync=objective.task is not None)
        self.resumed = len(self.checkpoint.records) if self.checkpoint else 0
        self.executor = make_executor(objective, args.workers, args.scheduler)
        self.backend = ("dask" if args.scheduler else "processes" if args.workers > 1 else "in-process") \
            if objective.task is not None else "table"

    def options(self, seed: int) -> dict:
        """``run_search`` keywords for ``seed``."""
        out = {"executor": self.executor, "workers": self.workers}
        if self.checkpoint is not None:
            out.update(journal=self.checkpoint.writer(seed), replay=self.checkpoint.replay(seed))
        return out

    def kept(self) -> str:
        """What an interruption keeps, for its message."""
        if self.checkpoint is None:
            return ""
        return f"; every finished query is in {self.checkpoint.path}: rerun with --resume to continue"

    def complete(self) -> None:
        """The history is written: the checkpoint goes."""
        if self.checkpoint is not None:
            self.checkpoint.remove()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None
        if self.checkpoint is not None:
            self.checkpoint.close()

    def info(self, objective) -> dict:
        out = {"objective": "train" if objective.task is not None else "benchmark", "resumed_queries": self.resumed}
        if objective.task is not None:
            out.update(backend=self.backend, workers=self.workers, trainings=objective.trainings,
                       train=objective.config, train_data=objective.images.source)
        return out


# --------------------------------------------------------------------------- graf train
def _fixed_order(archs):
    """A strategy that asks ``archs`` in order (graf train is a search that asks the given nets)."""
    from graf.search.strategies import Strategy

    class FixedOrder(Strategy):
        def __init__(self) -> None:
            super().__init__(seed=0)
            self._next = 0

        def _propose(self):
            if self._next >= len(archs):
                raise ValueError("every listed net has been asked")
            self._next += 1
            return archs[self._next - 1]

    return FixedOrder()


def run(args: argparse.Namespace) -> dict:
    import pandas as pd

    from graf.search.runner import SearchCheckpoint, checkpoint_path, make_executor, run_search
    from graf.spaces import get_space
    from graf.tables import check_output, write_table

    start = time.perf_counter()
    space = get_space(args.space)
    ckpt_exists = checkpoint_path(args.out).exists()
    out = check_output(args.out, overwrite=args.overwrite or (args.resume and ckpt_exists))
    archs = [str(a) for a in read_archs(args, space)]
    if not archs:
        raise ValueError(f"{args.archs} lists no architecture")
    objective = train_objective(args, space, reuse=False)
    run_id = {"config": objective.config | {"device": None}, "archs": len(archs),
              "archs_sha256": hashlib.sha256("\n".join(archs).encode()).hexdigest()}
    checkpoint = SearchCheckpoint.open(out, run_id, resume=args.resume, fsync=True, kind="graf_train_checkpoint")
    resumed = len(checkpoint.records)
    bar = None
    if progress(args):
        from tqdm import tqdm

        bar = tqdm(total=len(archs), initial=resumed, unit="net", desc="train", dynamic_ncols=True)
    journal = checkpoint.writer(0)

    def on_query(rec: dict) -> None:
        journal(rec)
        if bar is not None:
            bar.update(1)

    try:
        with make_executor(objective, args.workers, args.scheduler) as executor:
            run_search(_fixed_order(archs), objective, len(archs), executor=executor, workers=args.workers,
                       journal=on_query, replay=checkpoint.replay(0))
    except (KeyboardInterrupt, Terminated) as exc:
        checkpoint.close()
        raise stopped(exc, f"the finished nets are in {checkpoint.path}; rerun with --resume to continue") from None
    finally:
        if bar is not None:
            bar.close()
    rows = [objective.outcomes[a] for a in archs]
    table = pd.DataFrame({"val_acc": [r["target"] for r in rows], "test_acc": [r["test"] for r in rows],
                          "train_loss": [r.get("train_loss", float("nan")) for r in rows],
                          "seconds": [r["seconds"] for r in rows], "error": [r.get("error") or "" for r in rows]},
                         index=pd.Index(archs, name="arch"))
    table = table.astype({c: "float64" for c in LABEL_COLUMNS if c != "error"})
    write_table(table, out)
    checkpoint.remove()
    failed = int((table["error"] != "").sum())
    seconds = time.perf_counter() - start
    trained = len(archs) - resumed
    say(args, f"{len(archs)} nets trained for {args.epochs} epoch(s) on {objective.images.source} -> {out} "
              f"({trained} trained now, {resumed} resumed, {failed} failed, {seconds:.1f} s)")
    return {"out": str(out), "rows": len(table), "failed": failed, "trained": trained, "resumed": resumed,
            "seconds": seconds, "seconds_per_training": float(table["seconds"].mean()),
            "val_acc_mean": float(table["val_acc"].mean()), "train": objective.config,
            "train_data": objective.images.source,
            "backend": "dask" if args.scheduler else ("processes" if args.workers > 1 else "in-process")}
