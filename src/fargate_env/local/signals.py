"""How a local command stops: SIGTERM and SIGHUP end it as Ctrl-C does, unwinding through
every clean-up (tasks, HAProxy, work directory); steps that must not be cut in two hold
them; a clean-up in progress ignores them."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# What stops a rehearsal like Ctrl-C: `kill`, a closed terminal, a supervisor's stop.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so every clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _signals(handler: Any, signums: tuple[int, ...]) -> Iterator[None]:
    """`handler` for `signums` inside the block (only the main thread may change signal
    handlers; elsewhere this is a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def stop_on_signals() -> contextlib.AbstractContextManager[None]:
    """SIGTERM and SIGHUP raise Stopped inside the block, so the `with Rehearsal` around the
    work stops every task and HAProxy and removes its work directory, as on Ctrl-C."""

    def stop(signum: int, _frame: object) -> None:
        if _held is not None:
            _held.append(signum)
            return
        raise Stopped(signum)

    return _signals(stop, STOP_SIGNALS)


# Stop signals that arrived inside deferred_signals(), or None outside one.
_held: list[int] | None = None


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGTERM and SIGHUP until the block ends, then raise Stopped: for steps an
    exception must not cut in two (a thread half started cannot be joined). A handler, not
    a signal mask: the kernel hands a process's signal to any thread that does not block
    it, and Python runs the handler in the main thread all the same."""
    global _held
    if _held is not None:  # nested: the outer block delivers
        yield
        return
    _held = []
    try:
        yield
    finally:
        held, _held = _held, None
        if held:
            raise Stopped(held[0])


def no_interrupt() -> contextlib.AbstractContextManager[None]:
    """Let a clean-up finish: a second Ctrl-C, SIGTERM or SIGHUP while processes are being
    stopped is ignored."""
    return _signals(signal.SIG_IGN, (signal.SIGINT, *STOP_SIGNALS))
