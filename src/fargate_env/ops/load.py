"""Bounded HTTP load with httpx: a time limit AND a request cap, latency percentiles at the end.

A run passes when its error rate is within a bound (default 0: any failed request fails it).
A request succeeds when its status is in the success set: 2xx unless told otherwise
(--ok-status 200-399 also counts redirects, which never reached the application's answer).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from fargate_env.config import OpsConfig
from fargate_env.errors import UserError
from fargate_env.ops.stats import percentile

MAX_CONNECTIONS = 256
_STATUS_RANGE = re.compile(r"^([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?$")


@dataclass(frozen=True)
class OkStatus:
    """The HTTP statuses counted as success: inclusive ranges, e.g. ((200, 299),)."""

    ranges: tuple[tuple[int, int], ...] = ((200, 299),)

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(lo <= status <= hi for lo, hi in self.ranges)

    def __str__(self) -> str:
        """ "2xx", "2xx/3xx", "200,204,301-308": whole hundreds by their class."""

        def one(lo: int, hi: int) -> str:
            if lo % 100 == 0 and hi % 100 == 99:
                return "/".join(f"{c}xx" for c in range(lo // 100, hi // 100 + 1))
            return f"{lo}-{hi}" if lo != hi else str(lo)

        return ",".join(one(lo, hi) for lo, hi in self.ranges)


OK_2XX = OkStatus()


def parse_ok_status(text: str) -> OkStatus:
    """ "200-399" or "200,204,301-308" -> OkStatus; bad input is one line naming the fix."""
    ranges = []
    for part in text.replace(" ", "").split(","):
        match = _STATUS_RANGE.match(part)
        lo = int(match.group(1)) if match else 0
        hi = int(match.group(2) or lo) if match else 0
        if not match or hi < lo:
            raise UserError(
                "--ok-status takes status codes or ranges of 100-599, comma-separated,"
                f" e.g. 200-299 or 200,204,301-308 (got {text!r})"
            )
        ranges.append((lo, hi))
    return OkStatus(tuple(sorted(ranges)))


@dataclass(frozen=True)
class Sample:
    """One request: when it was sent, how long it took, and who answered."""

    t: float  # time.monotonic() when the request was sent
    latency_s: float
    status: int | None  # None: no HTTP response (connection refused, reset, timeout)
    served_by: str | None  # the X-Served-By header a load balancer may add
    error: str | None = None  # with no response: the exception's class, e.g. "ConnectError"

    @property
    def outcome(self) -> str:
        """What a failed request is counted under: its status code or its exception's class."""
        return str(self.status) if self.status is not None else self.error or "no response"


@dataclass
class LoadReport:
    url: str
    duration_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    ok_status: OkStatus = OK_2XX

    def ok(self, sample: Sample) -> bool:
        """A success: answered with a status in ok_status (2xx unless told otherwise)."""
        return sample.status in self.ok_status

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def errors(self) -> int:
        return sum(not self.ok(s) for s in self.samples)

    @property
    def answered(self) -> int:
        """Requests answered with a success status: the ones the percentiles cover."""
        return sum(self.ok(s) for s in self.samples)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def error_breakdown(self) -> list[tuple[str, int]]:
        """Failed requests by status code or exception class, most frequent first."""
        counts = Counter(s.outcome for s in self.samples if not self.ok(s))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def within(self, max_error_rate: float) -> bool:
        """The run's verdict; a run that sent nothing measured nothing and does not pass."""
        return self.requests > 0 and self.error_rate <= max_error_rate

    @property
    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.samples if s.status is not None)

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of successful requests' latency (0 if none: check answered)."""
        return percentile([s.latency_s for s in self.samples if self.ok(s)], p) * 1000

    def failed(self) -> list[Sample]:
        return [s for s in self.samples if not self.ok(s)]

    def by_target(self) -> Counter[str | None]:
        return Counter(s.served_by for s in self.samples if self.ok(s))

    def max_gap_s(self, target: str, start: float, end: float) -> float:
        """Longest stretch in [start, end] without a success from `target`."""
        served = sorted(s.t for s in self.samples if s.served_by == target and self.ok(s))
        times = [start, *(t for t in served if start <= t <= end), end]
        return max((b - a for a, b in itertools.pairwise(times)), default=end - start)


def check_duration(duration_s: float, ops: OpsConfig) -> None:
    if not 0 < duration_s <= ops.load_max_duration_seconds:
        raise UserError(
            f"--duration must be above 0 and at most {ops.load_max_duration_seconds} s"
            f" (ops.load_max_duration_seconds) (got {duration_s:g})"
        )


def validate(
    url: str,
    duration_s: float,
    connections: int,
    rate: float | None,
    ops: OpsConfig,
    max_error_rate: float = 0.0,
) -> None:
    """Refuse anything unbounded or malformed before a single request is sent."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"URL must look like http(s)://host[:port]/path (got {url!r})")
    check_duration(duration_s, ops)
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise UserError(f"--connections must be 1-{MAX_CONNECTIONS} (got {connections})")
    if rate is not None and rate <= 0:
        raise UserError(f"--rate must be above 0 requests/s, or left out (got {rate:g})")
    if not 0 <= max_error_rate <= 1:  # also refuses nan
        raise UserError(
            f"--max-error-rate is a fraction 0-1, e.g. 0.01 for 1 % (got {max_error_rate:g})"
        )


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
    headers: dict[str, str] | None = None,
    ok_status: OkStatus = OK_2XX,
) -> LoadReport:
    """`connections` workers send GETs until the duration, the request cap or `stop` ends the run.

    With `rate` the workers share an open-loop schedule (one slot every 1/rate s), so a slow
    server does not lower the offered load; without it each worker sends as fast as it can.
    """
    report = LoadReport(url, ok_status=ok_status)
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
            if (t0 := time.monotonic()) >= deadline:
                return
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                latency = time.monotonic() - t0
                report.samples.append(Sample(t0, latency, None, None, type(exc).__name__))
                continue
            served_by = response.headers.get("x-served-by")
            report.samples.append(
                Sample(t0, time.monotonic() - t0, response.status_code, served_by)
            )

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=timeout_s, headers=headers) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    report.samples.sort(key=lambda sample: sample.t)
    report.duration_s = time.monotonic() - started
    return report


class BackgroundLoad:
    """run_load in a thread and event loop of its own, stoppable while the caller acts."""

    def __init__(self, url: str, **run_load_kwargs: Any) -> None:
        self._stop = threading.Event()
        self._report: LoadReport | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, run_load_kwargs), name="load", daemon=True
        )

    def _run(self, url: str, kwargs: dict[str, Any]) -> None:
        try:
            self._report = asyncio.run(run_load(url, stop=self._stop, **kwargs))
        except BaseException as exc:  # surfaced by finish()
            self._error = exc

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def finish(self, timeout_s: float | None = None) -> LoadReport | None:
        """Stop the load and return its report (None if it did not end within `timeout_s`)."""
        self._stop.set()
        self._thread.join(timeout_s)
        if self._error is not None:
            raise self._error
        return self._report

    def __enter__(self) -> BackgroundLoad:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def load(
    url: str,
    *,
    duration_s: float,
    connections: int,
    rate: float | None,
    ops: OpsConfig,
    max_error_rate: float = 0.0,
    ok_status: OkStatus = OK_2XX,
) -> LoadReport:
    validate(url, duration_s, connections, rate, ops, max_error_rate)
    preflight(url, ops.http_timeout_seconds)
    return asyncio.run(
        run_load(
            url,
            duration_s=duration_s,
            connections=connections,
            max_requests=ops.load_max_requests,
            rate=rate,
            timeout_s=ops.http_timeout_seconds,
            ok_status=ok_status,
        )
    )
