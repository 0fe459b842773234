"""Silent TCP connections: bounded in time (HEADER_READ_TIMEOUT_SECONDS) and in number
(MAX_CONNECTIONS), so they cannot starve /health, which the ALB and the container check need."""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Server
from sample_server.__main__ import FD_HEADROOM
from sample_server.settings import Settings, SettingsError

IDLE = 300
HEALTH_BOUND_MS = 100


def open_idle(port: int, count: int, stack: contextlib.ExitStack) -> list[socket.socket]:
    """`count` connections that never send a byte; the stack closes them."""
    return [
        stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        for _ in range(count)
    ]


def accepted(pid: int, clients: list[socket.socket]) -> int:
    """How many of `clients` the server process `pid` has accepted: its sockets (by inode)
    whose TCP peer is one of them. One still in the kernel's accept queue does not count."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed while we list
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    ports = {sock.getsockname()[1] for sock in clients}
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        # fields: sl local_address rem_address st ... uid timeout inode
        count += fields[9] in inodes and int(fields[2].split(":")[1], 16) in ports
    return count


def health_ms(port: int) -> float:
    """GET /health on a fresh connection, connect to last byte, in milliseconds."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert (resp.status, body) == (200, b'{"status":"ok"}')
    return (time.perf_counter() - start) * 1000


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts sockets in /proc")
def test_300_idle_connections_do_not_slow_health(start_server: Callable[..., Server]) -> None:
    # A bound longer than the test, so every idle connection is still held while we measure.
    server = start_server(HEADER_READ_TIMEOUT_SECONDS="60")
    with contextlib.ExitStack() as stack:
        idle = open_idle(server.port, IDLE, stack)
        deadline = time.monotonic() + 5
        while accepted(server.proc.pid, idle) < IDLE and time.monotonic() < deadline:
            time.sleep(0.05)
        # The server holds them all, not just its first 128 with the rest queued in the kernel.
        assert accepted(server.proc.pid, idle) == IDLE
        timings = [health_ms(server.port) for _ in range(20)]
        # The container's own check (HEALTHCHECK / the task definition) gets through too.
        check = [sys.executable, "-m", "sample_server.healthcheck"]
        env = {**os.environ, "PORT": str(server.port), "HEALTH_TIMEOUT_SECONDS": "1"}
        assert subprocess.run(check, env=env, timeout=20).returncode == 0
    worst = max(timings)
    print(f"\n/health with {IDLE} idle connections held: worst {worst:.1f} ms of {len(timings)}")
    assert worst < HEALTH_BOUND_MS, timings


@pytest.mark.parametrize("sent", [b"", b"GET /health HTTP/1.1\r\nHost: x\r\n"])
def test_connection_without_a_request_head_is_closed_after_the_bound(
    start_server: Callable[..., Server], sent: bytes
) -> None:
    server = start_server(HEADER_READ_TIMEOUT_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(sent)
        start = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            # Blocks until the server closes; 5 s without that fails the test.
            assert sock.recv(1024) == b""
        waited = time.monotonic() - start
    assert 0.8 <= waited < 3, waited


def test_keep_alive_connection_serves_requests_within_the_bound(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(HEADER_READ_TIMEOUT_SECONDS="1")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            time.sleep(0.5)  # idle, but less than the bound each time
            conn.request("GET", "/health")
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
            assert not resp.will_close
    finally:
        conn.close()


def test_idle_keep_alive_connection_is_closed_after_the_bound_too(
    start_server: Callable[..., Server],
) -> None:
    # hyper's one timer covers the wait for every request head, not just the first: a load
    # balancer that keeps idle connections longer than the bound may reuse one as it closes.
    server = start_server(HEADER_READ_TIMEOUT_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 ")
        start = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1024) == b""
        waited = time.monotonic() - start
    assert 0.8 <= waited < 3, waited


def test_connection_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.header_read_timeout_seconds, defaults.max_connections) == (5.0, 1024)
    env = {"HEADER_READ_TIMEOUT_SECONDS": "0.5", "MAX_CONNECTIONS": "4096"}
    assert Settings.from_env(env).header_read_timeout_seconds == 0.5
    assert Settings.from_env(env).max_connections == 4096
    for bad in (
        {"HEADER_READ_TIMEOUT_SECONDS": "0"},
        {"HEADER_READ_TIMEOUT_SECONDS": "soon"},
        {"MAX_CONNECTIONS": "8"},
        {"MAX_CONNECTIONS": "lots"},
    ):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings.from_env(bad)


def test_bad_connection_setting_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sample_server"],
        env={**os.environ, "HEADER_READ_TIMEOUT_SECONDS": "-1"},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "sample_server: HEADER_READ_TIMEOUT_SECONDS must be between 0.1 and 4100, got -1.0\n"
    )


def limit_open_files(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@pytest.mark.skipif(not Path("/proc/self/limits").is_file(), reason="reads /proc limits")
def test_open_files_limit_is_raised_to_fit_max_connections(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(MAX_CONNECTIONS="2000", preexec_fn=limit_open_files(256, 4096))
    limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
    line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
    assert int(line.split()[3]) >= 2000 + FD_HEADROOM, line


def test_max_connections_beyond_the_open_files_limit_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sample_server"],
        env={**os.environ, "MAX_CONNECTIONS": "1024"},
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=limit_open_files(512, 512),
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "sample_server: MAX_CONNECTIONS=1024 needs 1088 open files, the limit is 512\n"
    )
