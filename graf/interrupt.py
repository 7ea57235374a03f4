"""SIGINT / SIGTERM for the long commands: the exceptions they raise, and a check that raises
a stop again where a library swallowed it.

Python raises a signal's exception at whatever bytecode runs when the signal arrives. When
that is a ``__del__``, a weakref or garbage-collector callback, or C code that clears errors,
the exception is reported as "ignored" (or dropped) and the program goes on, so a Ctrl-C would
be lost and a 100000-seed search would run to its end. While :func:`handlers` is active each
signal is also recorded, and every long loop calls :func:`check` before it keeps a finished
step (a query, a seed, a run, a net): a stop whose exception was swallowed is raised there, and
the step it may have disturbed is not kept.

Without :func:`handlers` (the library used from a notebook) :func:`check` does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

__all__ = ["Terminated", "handlers", "check", "pending"]


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by :func:`handlers` (as SIGINT raises KeyboardInterrupt)."""


_pending: list[int] = []  # the signals received while handlers() is active, in order


def _exception(signum: int) -> BaseException:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame):  # pragma: no cover - exercised through subprocesses
    _pending.append(int(signum))
    raise _exception(signum)


def pending() -> int | None:
    """The first signal received while :func:`handlers` is active, or None."""
    return _pending[0] if _pending else None


def check() -> None:
    """Raise again the stop of a signal already received (KeyboardInterrupt or :class:`Terminated`)."""
    if _pending:
        raise _exception(_pending[0])


@contextlib.contextmanager
def handlers() -> Iterator[None]:
    """While active (in the main thread only): SIGTERM raises :class:`Terminated`, SIGINT raises
    KeyboardInterrupt unless it was ignored or given another handler, and both are recorded for
    :func:`check`. The previous handlers come back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_signal)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not SIG_IGN (a background job) nor a user's
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _on_signal)
    _pending.clear()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _pending.clear()
