"""The ``graf`` command line: one subcommand module each, registered in :data:`COMMANDS`.

Heavy imports happen inside each subcommand's ``run`` so ``graf --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any, Sequence

from graf.interrupt import Terminated

__all__ = ["main", "COMMANDS", "emit_json", "add_space_argument", "Interrupted", "Terminated", "say", "progress", "read_archs"]


class Interrupted(Exception):
    """A command stopped by SIGINT / SIGTERM after keeping what it had finished (``message`` says what)."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


def stopped(exc: BaseException, kept: str) -> Interrupted:
    """The :class:`Interrupted` for a KeyboardInterrupt or :class:`Terminated` ``exc``; ``kept`` says what was written."""
    import signal

    signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
    return Interrupted(int(signum), kept)

#: subcommand name -> module with ``add_arguments(parser)``, ``run(args) -> dict`` and ``HELP``.
COMMANDS: dict[str, str] = {
    "features": "graf.cli.features",
    "evaluate": "graf.cli.evaluate",
    "explain": "graf.cli.explain",
    "search": "graf.cli.search",
    "proxies": "graf.cli.proxies",
    "train": "graf.cli.train",
}


def _strict(value: Any) -> Any:
    """``value`` with every non-finite float (and numpy scalar) made JSON-safe: NaN and inf become null."""
    import math

    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit_json(payload: dict[str, Any]) -> None:
    """Print ``payload`` as one line of strict JSON (NaN/inf as null; the last line of stdout for ``--json``)."""
    sys.stdout.write(json.dumps(_strict(payload), default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def say(args: argparse.Namespace, message: str) -> None:
    """An informational line on stderr (``graf <command>: message``), unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(f"graf {args.command}: {message}", file=sys.stderr, flush=True)


def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars (on stderr): not with ``--quiet`` or ``--no-progress``."""
    return not (getattr(args, "quiet", False) or getattr(args, "no_progress", False))


def read_archs(args: argparse.Namespace, space):
    """The architectures of ``--archs`` (each once; the dropped duplicates are reported as the API reports them)."""
    from graf.archfile import duplicates_message, read_arch_file

    archs = read_arch_file(args.archs, space.parse)
    message = duplicates_message(archs)
    if message:
        say(args, message)
    return archs


def add_space_argument(p: argparse.ArgumentParser) -> None:
    """``--space``, its choices read from the space registry."""
    from graf.spaces import SPACES

    p.add_argument("--space", default="nb201", choices=sorted(SPACES),
                   help="search space (default: nb201): " + "; ".join(f"{n}: {s.description}" for n, s in SPACES.items()))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graf", description="Predict NAS accuracy without training.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument(
            "--data-dir",
            default=os.environ.get("GRAF_DATA_DIR"),
            help="benchmark data folder laid out like shared/data (default: $GRAF_DATA_DIR)",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
        p.add_argument("--overwrite", action="store_true",
                       help="replace output files that exist (default: an existing output is an error)")
        p.add_argument("-q", "--quiet", action="store_true",
                       help="print only errors on stderr (no progress bars or summary lines); stdout then holds "
                            "nothing but the --json line")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 2 an error (one line on stderr), 130 / 143 stopped
    by SIGINT / SIGTERM (one line saying what was kept)."""
    import signal

    from graf.interrupt import handlers

    args = _parser().parse_args(argv)
    try:
        with handlers():
            result = args._module.run(args)
    except (KeyboardInterrupt, Terminated, Interrupted) as exc:
        if not isinstance(exc, Interrupted):
            exc = stopped(exc, "nothing was written")
        name = signal.Signals(exc.signum).name
        sys.stderr.write("\n")  # end a progress bar's line
        print(f"graf {args.command}: stopped by {name}: {exc}", file=sys.stderr)
        if args.json:
            emit_json({"error": f"stopped by {name}: {exc}"})
        return 128 + exc.signum
    except (ValueError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"graf {args.command}: error: {message}", file=sys.stderr)
        if args.json:
            emit_json({"error": str(message)})
        return 2
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
