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

__all__ = ["main", "COMMANDS", "emit_json", "add_space_argument"]

#: subcommand name -> module with ``add_arguments(parser)``, ``run(args) -> dict`` and ``HELP``.
COMMANDS: dict[str, str] = {
    "features": "graf.cli.features",
    "evaluate": "graf.cli.evaluate",
    "explain": "graf.cli.explain",
    "search": "graf.cli.search",
    "proxies": "graf.cli.proxies",
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
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = args._module.run(args)
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
