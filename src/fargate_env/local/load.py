"""A small paced HTTP/1.1 load client on asyncio: it records every request's time, status and
which target served it, so a failure can be placed inside (or outside) a detection window."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Sample:
    t: float  # time.monotonic() when the request was sent
    latency_s: float
    status: int | None  # None: connection error, no HTTP response
    served_by: str | None

    @property
    def ok(self) -> bool:
        # The ALB matcher counts only 2xx/3xx as success; so do we.
        return self.status is not None and 200 <= self.status < 400


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.samples)

    def failed(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    def by_target(self) -> Counter[str | None]:
        return Counter(s.served_by for s in self.samples if s.ok)

    def p99_ms(self) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(s.latency_s for s in self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    def max_gap_s(self, target: str, start: float, end: float) -> float:
        """Longest stretch in [start, end] without a success from `target`."""
        times = [
            start,
            *sorted(s.t for s in self.samples if s.served_by == target and s.ok),
            end,
        ]
        times = [t for t in times if start <= t <= end]
        return max((b - a for a, b in itertools.pairwise(times)), default=end - start)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str | None, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    close = headers.get("connection", "").lower() == "close"
    return status, headers.get("x-served-by"), close


async def _connection(
    host: str,
    port: int,
    path: str,
    interval: float,
    until: float,
    out: list[Sample],
    timeout: float,
    stop: threading.Event | None,
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    next_at = time.monotonic()
    while (now := time.monotonic()) < until and not (stop and stop.is_set()):
        if next_at > now:
            await asyncio.sleep(next_at - now)
        next_at += interval
        sent = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), timeout
                )
            assert reader is not None
            writer.write(request)
            status, served_by, close = await asyncio.wait_for(_read_response(reader), timeout)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
            IndexError,
        ):
            out.append(Sample(sent, time.monotonic() - sent, None, None))
            close = True
        else:
            out.append(Sample(sent, time.monotonic() - sent, status, served_by))
        if close and writer is not None:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


async def run_load(
    url: str,
    *,
    duration_s: float,
    rate: float = 200.0,
    connections: int = 8,
    timeout: float = 5.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """`rate` requests/s in total over `connections` keep-alive connections, for `duration_s`
    at most (or until `stop` is set)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    result = LoadResult()
    until = time.monotonic() + duration_s
    interval = connections / rate
    await asyncio.gather(
        *(
            _connection(host, port, path, interval, until, result.samples, timeout, stop)
            for _ in range(connections)
        )
    )
    result.samples.sort(key=lambda s: s.t)
    return result


class BackgroundLoad:
    """run_load in a thread of its own, for driving traffic while the caller acts."""

    def __init__(self, url: str, *, max_duration_s: float, rate: float, connections: int) -> None:
        self._stop = threading.Event()
        self._result: LoadResult | None = None
        self._error: BaseException | None = None

        def target() -> None:
            try:
                self._result = asyncio.run(
                    run_load(
                        url,
                        duration_s=max_duration_s,
                        rate=rate,
                        connections=connections,
                        stop=self._stop,
                    )
                )
            except BaseException as exc:  # surfaced in stop()
                self._error = exc

        self._thread = threading.Thread(target=target, name="load", daemon=True)

    def __enter__(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def stop(self) -> LoadResult:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
