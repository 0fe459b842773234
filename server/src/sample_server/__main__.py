"""`python -m sample_server`: serve on $PORT until SIGTERM, then drain and exit 0."""

from __future__ import annotations

import asyncio
import logging.config
import os
import resource
import signal
import sys
import time

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server

from sample_server.app import ServiceState, create_app
from sample_server.logs import logger, logging_config
from sample_server.settings import Settings, SettingsError

# Descriptors besides the connections: listener, stdio, logs, the interpreter's own.
FD_HEADROOM = 64


def ensure_fd_room(max_connections: int) -> None:
    """Fit MAX_CONNECTIONS in the open-files limit, or fail at start-up rather than with EMFILE
    under load. (Importing granian's extension lifts the soft limit to the hard one; not
    relied on here.)"""
    need = max_connections + FD_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SettingsError(
            f"MAX_CONNECTIONS={max_connections} needs {need} open files, the limit is {hard}"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; return the process exit code.

    granian's embedded server runs in this process and loop (one process: half the RSS of a
    supervisor + worker, and the signal handler can flip readiness in the app's own state).
    Its stop() closes the listener and lets in-flight requests finish.
    """
    state = ServiceState()
    app = create_app(settings, state)
    server = Server(
        app,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=logging_config(settings.log_level),
        log_access=False,
        # HTTP/1 only (what the ALB speaks to targets): in auto mode granian first sniffs the
        # protocol with no timeout at all, so the header-read timer never starts on a
        # connection that sends nothing.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(settings.header_read_timeout_seconds * 1000))
        ),
        # Both cap the connections waiting for (backlog) and held by (backpressure) the server.
        backlog=settings.max_connections,
        backpressure=settings.max_connections,
    )
    loop = asyncio.get_running_loop()
    deadline_task: asyncio.Task[None] | None = None

    async def drain() -> None:
        logger.info(
            "draining",
            extra={
                "in_flight": state.in_flight,
                "delay_s": settings.shutdown_delay_seconds,
                "timeout_s": settings.shutdown_timeout_seconds,
            },
        )
        if settings.shutdown_delay_seconds:
            await asyncio.sleep(settings.shutdown_delay_seconds)
        server.stop()
        await asyncio.sleep(settings.shutdown_timeout_seconds)
        # Still here: something in flight refuses to finish. Leave before ECS's SIGKILL does,
        # and say so with a non-zero code.
        logger.error("drain timed out", extra={"in_flight": state.in_flight})
        logging.shutdown()
        os._exit(1)

    def on_signal(signum: int) -> None:
        nonlocal deadline_task
        if state.draining:
            return
        logger.info("signal received", extra={"signal": signal.Signals(signum).name})
        state.draining = True
        deadline_task = loop.create_task(drain())

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    started = time.perf_counter()
    logger.info(
        "starting",
        extra={"port": settings.port, "version": settings.version, "pid": os.getpid()},
    )
    await server.serve()
    if deadline_task is not None:
        deadline_task.cancel()
    logger.info("stopped", extra={"uptime_s": round(time.perf_counter() - started, 3)})
    return 0


def main() -> None:
    try:
        settings = Settings.from_env()
        ensure_fd_room(settings.max_connections)
    except SettingsError as exc:
        print(f"sample_server: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.config.dictConfig(logging_config(settings.log_level))
    try:
        code = asyncio.run(serve(settings))
    except OSError as exc:  # typically the port is taken
        logger.error("cannot serve", extra={"error": str(exc), "port": settings.port})
        code = 1
    # Leave without the interpreter's finalization: granian's runtime threads can still be
    # winding down then, and one that touches Python panics and aborts the process (exit 134
    # in a container, seen in the rolling restarts of tests/local after every request had been
    # answered). Everything worth keeping is flushed first.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
