"""The ASGI application: liveness, readiness, identity, a call to a configured upstream and a
CPU burner for scaling tests."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sample_server.logs import access_logger, logger
from sample_server.metadata import TaskInfo, fetch_task_info
from sample_server.settings import Settings

CPU_MS_MAX = 1000
# What /upstream keeps of the upstream's answer: enough for an identity page, bounded.
UPSTREAM_BODY_MAX = 4096
# No proxy from the environment: the call goes to the configured name itself.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_HEALTH_BODY = b'{"status":"ok"}'


@dataclass
class ServiceState:
    """Mutable lifecycle state shared by the app and the runner (one process, one loop)."""

    starting: bool = True
    draining: bool = False
    in_flight: int = 0
    task_info: TaskInfo = field(default_factory=TaskInfo)

    @property
    def ready(self) -> bool:
        return not self.starting and not self.draining


class AccessLogMiddleware:
    """One JSON line per request (probes excepted) and an in-flight count for the drain log.

    Probes hit quiet_paths every few seconds per target; logging them would drown the real
    traffic and cost CloudWatch ingestion for nothing.

    Pure ASGI rather than BaseHTTPMiddleware: it adds no task per request, which matters at
    a quarter of a vCPU.
    """

    def __init__(self, app: ASGIApp, state: ServiceState, quiet_paths: frozenset[str]) -> None:
        self.app = app
        self.state = state
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.quiet_paths:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app raises before starting a response

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.state.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.state.in_flight -= 1
            client = scope.get("client")
            access_logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope["query_string"].decode("latin-1"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    "client": client[0] if client else None,
                },
            )


class FaultMiddleware:
    """Rehearsal fault injection (Settings.fault_status): every request outside the probes is
    answered with that status; the probes still pass, as in a bad release that stays healthy."""

    def __init__(self, app: ASGIApp, status: int | None, probes: frozenset[str]) -> None:
        self.app = app
        self.status = status
        self.probes = probes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.status is None or scope["type"] != "http" or scope["path"] in self.probes:
            await self.app(scope, receive, send)
            return
        body = b'{"error":"fault injected (FAULT_STATUS)"}'
        response = Response(body, status_code=self.status, media_type="application/json")
        await response(scope, receive, send)


async def health(_: Request) -> Response:
    # Liveness only: no I/O, no dependency checks, so a slow dependency never gets a healthy
    # task killed by the ALB or the ECS container check.
    return Response(_HEALTH_BODY, media_type="application/json")


async def ready(request: Request) -> Response:
    state: ServiceState = request.app.state.service
    if state.ready:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "draining" if state.draining else "starting"}, status_code=503)


async def index(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    info: TaskInfo = request.app.state.service.task_info
    return JSONResponse(
        {
            "service": settings.service_name,
            "version": settings.version,
            "task_id": info.task_id,
            "availability_zone": info.availability_zone,
            "cluster": info.cluster,
        }
    )


def parse_cpu_ms(raw: str | None) -> int:
    """Validate ?ms=N: an integer in 1..CPU_MS_MAX; anything else is the client's error."""
    if raw is None:
        raise HTTPException(400, "query parameter ms is required")
    try:
        ms = int(raw.strip(), 10)
    except ValueError:
        raise HTTPException(400, "ms must be an integer") from None
    if not 0 < ms <= CPU_MS_MAX:
        raise HTTPException(400, f"ms must be between 1 and {CPU_MS_MAX}")
    return ms


def burn_cpu(ms: int) -> float:
    """Spin until this thread has used `ms` of CPU time (not wall time: under a CPU quota the
    wall time stretches, the work does not). Returns the CPU milliseconds actually used."""
    start = time.thread_time()
    deadline = start + ms / 1000
    x = 0
    while time.thread_time() < deadline:
        for i in range(2000):  # amortize the clock syscall
            x ^= i
    return (time.thread_time() - start) * 1000


def cpu_token_ok(request: Request) -> bool:
    token = request.app.state.settings.cpu_endpoint_token
    if token is None:
        return False
    # Bytes, not str: compare_digest rejects non-ASCII str, and a client controls the header.
    given = request.headers.get("x-cpu-token", "").encode("latin-1")
    return hmac.compare_digest(given, token.encode())


async def cpu(request: Request) -> Response:
    # The same 404 as an unknown path, whatever the method (see AnyMethod): a caller without
    # the token cannot tell that the endpoint exists.
    if not cpu_token_ok(request):
        raise HTTPException(404)
    if request.method != "GET":
        raise HTTPException(405, headers={"Allow": "GET"})
    ms = parse_cpu_ms(request.query_params.get("ms"))
    wall = time.perf_counter()
    # In a worker thread so the event loop keeps answering health checks meanwhile.
    used = await asyncio.to_thread(burn_cpu, ms)
    return JSONResponse(
        {
            "requested_ms": ms,
            "cpu_ms": round(used, 1),
            "wall_ms": round((time.perf_counter() - wall) * 1000, 1),
        }
    )


def call_upstream(url: str, timeout: float) -> tuple[int, object]:
    """GET `url`: (its status, its JSON body or the start of its text); OSError when nothing
    answers."""
    try:
        with _DIRECT.open(url, timeout=timeout) as resp:
            status, raw = resp.status, resp.read(UPSTREAM_BODY_MAX)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(UPSTREAM_BODY_MAX)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


async def upstream(request: Request) -> Response:
    """Call the one configured UPSTREAM_URL and report its answer (502 when none came)."""
    settings: Settings = request.app.state.settings
    url = settings.upstream_url
    assert url is not None  # the route exists only when it is set
    try:
        status, body = await asyncio.to_thread(
            call_upstream, url, settings.upstream_timeout_seconds
        )
    except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
        reason = getattr(exc, "reason", exc)
        return JSONResponse({"upstream": url, "error": str(reason)}, status_code=502)
    return JSONResponse({"upstream": url, "status": status, "body": body})


class AnyMethod:
    """A request/response endpoint as a bare ASGI app: Starlette then routes every method to
    it instead of answering 405 itself, which would tell a caller without the token that
    the path exists."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _warm_up(app: Starlette) -> None:
    """Everything that must happen before we call ourselves ready; failures are logged, not
    fatal, because the metadata only decorates the index page."""
    settings: Settings = app.state.settings
    state: ServiceState = app.state.service
    if settings.metadata_uri:
        try:
            state.task_info = await asyncio.wait_for(
                asyncio.to_thread(fetch_task_info, settings.metadata_uri), timeout=2.0
            )
        except (OSError, ValueError, TimeoutError) as exc:
            logger.warning("task metadata unavailable", extra={"error": repr(exc)})
    state.starting = False
    logger.info("ready", extra={"task_id": state.task_info.task_id})


def create_app(settings: Settings, state: ServiceState | None = None) -> Starlette:
    state = state or ServiceState()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Serve /health at once; /ready turns 200 when warm-up ends (not before serving starts).
        task = asyncio.create_task(_warm_up(app))
        yield
        task.cancel()

    prefix = settings.path_prefix
    # The ALB routes by path without stripping it, so the app's routes live under the prefix.
    # Probes answer there too, and at the root where the target group and container checks
    # hit them (a dict: with no prefix the two paths are one).
    probes = {
        path: handler
        for base, handler in (("/health", health), ("/ready", ready))
        for path in (base, prefix + base)
    }
    routes = [Route(path, handler, methods=["GET"]) for path, handler in probes.items()]
    routes.append(Route(prefix + "/", index, methods=["GET"]))
    if settings.upstream_url is not None:
        routes.append(Route(prefix + "/upstream", upstream, methods=["GET"]))
    if settings.cpu_endpoint_token is not None:
        routes.append(Route(prefix + "/cpu", AnyMethod(cpu), name="cpu"))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLogMiddleware, state=state, quiet_paths=frozenset(probes)),
            Middleware(FaultMiddleware, status=settings.fault_status, probes=frozenset(probes)),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = state
    return app
