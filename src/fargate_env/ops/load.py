"""Bounded HTTP load with httpx: a time limit AND a request cap, latency percentiles at the end."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from fargate_env.config import OpsConfig
from fargate_env.errors import UserError

MAX_CONNECTIONS = 256


@dataclass
class LoadReport:
    url: str
    duration_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)  # successful requests only
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies_s) + self.errors

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of successful requests' latency."""
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


def validate(
    url: str, duration_s: float, connections: int, rate: float | None, ops: OpsConfig
) -> None:
    """Refuse anything unbounded or malformed before a single request is sent."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"URL must look like http(s)://host[:port]/path (got {url!r})")
    if not 0 < duration_s <= ops.load_max_duration_seconds:
        raise UserError(
            f"--duration must be above 0 and at most {ops.load_max_duration_seconds} s"
            f" (ops.load_max_duration_seconds) (got {duration_s:g})"
        )
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise UserError(f"--connections must be 1-{MAX_CONNECTIONS} (got {connections})")
    if rate is not None and rate <= 0:
        raise UserError(f"--rate must be above 0 requests/s, or left out (got {rate:g})")


def preflight(url: str, timeout_s: float) -> None:
    """One request first, so an unreachable URL is one clear line, not N thousand errors."""
    try:
        httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise UserError(
            f"cannot reach {url}: {type(exc).__name__}: {exc} (check the URL and that it is up)"
        ) from None


async def run_load(
    url: str,
    *,
    duration_s: float,
    connections: int,
    max_requests: int,
    rate: float | None = None,
    timeout_s: float = 10.0,
    stop: threading.Event | None = None,
) -> LoadReport:
    """`connections` workers send GETs until the duration, the request cap or `stop` ends the run.

    With `rate` the workers share an open-loop schedule (one slot every 1/rate s), so a slow
    server does not lower the offered load; without it each worker sends as fast as it can.
    """
    report = LoadReport(url)
    started = time.monotonic()
    deadline = started + duration_s
    sent = 0
    interval = 1 / rate if rate else 0.0

    def next_slot() -> float | None:
        nonlocal sent
        if sent >= max_requests or (stop is not None and stop.is_set()):
            return None
        at = started + sent * interval
        if at >= deadline:
            return None
        sent += 1
        return at

    async def worker(client: httpx.AsyncClient) -> None:
        while (slot := next_slot()) is not None:
            if (wait := slot - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            if time.monotonic() >= deadline:
                return
            t0 = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                report.errors += 1
                continue
            report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
            if response.status_code >= 400:
                report.errors += 1
            else:
                report.latencies_s.append(time.perf_counter() - t0)

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=timeout_s) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    report.duration_s = time.monotonic() - started
    return report


def load(
    url: str,
    *,
    duration_s: float,
    connections: int,
    rate: float | None,
    ops: OpsConfig,
) -> LoadReport:
    validate(url, duration_s, connections, rate, ops)
    preflight(url, ops.http_timeout_seconds)
    return asyncio.run(
        run_load(
            url,
            duration_s=duration_s,
            connections=connections,
            max_requests=ops.load_max_requests,
            rate=rate,
            timeout_s=ops.http_timeout_seconds,
        )
    )
