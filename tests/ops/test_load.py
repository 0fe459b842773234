"""load: bounded by time and a request cap, against a 127.0.0.1 server."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import OpsConfig
from fargate_env.errors import UserError
from fargate_env.ops import render
from fargate_env.ops.load import LoadReport, OkStatus, Sample, load, parse_ok_status, run_load
from tests.conftest import demo_text
from tests.ops.conftest import LocalServer, serve

runner = CliRunner()


def closed_port_url() -> str:
    """A 127.0.0.1 URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def flaky_url() -> Iterator[str]:
    """Request n gets: 200 when n % 4 is 0 or 3, 503 when 1, a dropped connection when 2.

    The first request (the CLI's preflight, or the first of a run) is answered 200.
    """
    counter = itertools.count()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with lock:
                n = next(counter)
            if n % 4 == 2:
                self.close_connection = True  # no response at all
                return
            body = b"ok"
            self.send_response(503 if n % 4 == 1 else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield url + "/"


# The table row's p50/p95/p99 cells when there is no latency: dashes, not 0.0.
NO_LATENCY_ROW = re.compile(r"^\s*\d+\s+\d+\s+[\d.]+\s+-\s+-\s+-\s*$", re.MULTILINE)


def rendered(report: LoadReport, max_error_rate: float | None = 0.0) -> str:
    out = io.StringIO()
    render.load(Console(file=out, width=80, color_system=None), report, max_error_rate)
    return out.getvalue()


def test_load_reports_requests_and_percentiles(http_server: LocalServer) -> None:
    started = time.monotonic()
    report = load(http_server.url + "/", duration_s=1.0, connections=4, rate=None, ops=OpsConfig())
    assert time.monotonic() - started < 3  # the duration bounds the run
    assert report.requests > 20 and report.errors == 0
    # preflight + every request of the run reached the server
    assert http_server.hits["/"] == report.requests + 1
    assert 0 < report.percentile_ms(50) <= report.percentile_ms(95) <= report.percentile_ms(99)


def test_request_cap_ends_the_run(http_server: LocalServer) -> None:
    report = asyncio.run(
        run_load(http_server.url + "/", duration_s=10, connections=3, max_requests=25)
    )
    assert report.requests == 25 and report.duration_s < 5


def test_rate_paces_the_run(http_server: LocalServer) -> None:
    report = asyncio.run(
        run_load(http_server.url + "/", duration_s=1.0, connections=4, max_requests=10_000, rate=40)
    )
    assert 35 <= report.requests <= 41


def test_errors_are_counted(http_server: LocalServer) -> None:
    http_server.health_status = 500
    report = asyncio.run(
        run_load(http_server.url + "/health", duration_s=0.5, connections=2, max_requests=10)
    )
    assert report.errors == report.requests == 10 and report.statuses == {500: 10}
    assert report.error_breakdown() == [("500", 10)] and report.answered == 0


def test_errors_are_broken_down_by_status_and_exception_class(flaky_url: str) -> None:
    report = asyncio.run(run_load(flaky_url, duration_s=10, connections=1, max_requests=40))
    assert report.requests == 40
    assert report.error_breakdown() == [("503", 10), ("RemoteProtocolError", 10)]
    assert report.answered == 20 and report.error_rate == pytest.approx(0.5)


def test_an_unreachable_url_answers_nothing_and_shows_no_latency() -> None:
    report = asyncio.run(run_load(closed_port_url(), duration_s=10, connections=2, max_requests=6))
    assert report.requests == report.errors == 6
    assert report.error_breakdown() == [("ConnectError", 6)] and report.answered == 0
    text = rendered(report)
    assert "ConnectError: 6" in text
    assert "no request was answered with 2xx: no latency to report" in text
    assert NO_LATENCY_ROW.search(text), text
    assert "fail: 6 of 6 requests failed (100.00%), over --max-error-rate 0" in text


def test_percentiles_say_how_many_answers_they_cover(flaky_url: str) -> None:
    report = asyncio.run(run_load(flaky_url, duration_s=10, connections=1, max_requests=8))
    text = rendered(report)
    assert "p50/p95/p99 over 4 answered (2xx)" in text
    assert "errors: 503: 2, RemoteProtocolError: 2" in text
    assert all(len(line) <= 80 for line in text.splitlines())


@pytest.mark.parametrize(
    ("samples", "max_error_rate", "passes"),
    [
        ([200] * 10, 0.0, True),
        ([200] * 9 + [503], 0.0, False),  # the default: one failure fails the run
        ([200] * 9 + [503], 0.1, True),
        ([200] * 8 + [503, None], 0.1, False),
        ([None] * 4, 1.0, True),
        ([], 1.0, False),  # nothing sent, nothing measured
    ],
)
def test_verdict_follows_max_error_rate(samples, max_error_rate, passes) -> None:
    report = LoadReport("u", samples=[Sample(0.0, 0.001, status, None) for status in samples])
    assert report.within(max_error_rate) is passes


def test_percentile_nearest_rank() -> None:
    report = LoadReport("u", samples=[Sample(0.0, i / 1000, 200, None) for i in range(1, 101)])
    assert report.percentile_ms(50) == pytest.approx(50)
    assert report.percentile_ms(99) == pytest.approx(99)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 0}, "--duration must be above 0 and at most 600 s"),
        ({"duration_s": 601}, "--duration must be above 0 and at most 600 s"),
        ({"connections": 0}, "--connections must be 1-256"),
        ({"rate": 0}, "--rate must be above 0"),
        ({"url": "ftp://x"}, "URL must look like http"),
        ({"max_error_rate": -0.1}, "--max-error-rate is a fraction 0-1"),
        (
            {"max_error_rate": 5},
            r"--max-error-rate is a fraction 0-1, e\.g\. 0\.01 for 1 % \(got 5\)",
        ),
        ({"max_error_rate": float("nan")}, "--max-error-rate is a fraction 0-1"),
    ],
)
def test_unbounded_or_malformed_runs_are_refused(kwargs: dict, message: str) -> None:
    args = {"url": "http://127.0.0.1:9/", "duration_s": 1, "connections": 1, "rate": None}
    args |= kwargs
    with pytest.raises(UserError, match=message):
        load(args.pop("url"), **args, ops=OpsConfig())


def test_cli_prints_table(http_server: LocalServer) -> None:
    result = runner.invoke(app, ["load", http_server.url + "/", "--duration", "0.5"])
    assert result.exit_code == 0, result.output
    for column in ("requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        assert column in result.output
    assert "within --max-error-rate 0" in result.output


def test_cli_exits_1_when_every_request_fails(http_server: LocalServer) -> None:
    http_server.health_status = 503
    result = runner.invoke(app, ["load", http_server.url + "/health", "--duration", "0.3"])
    assert result.exit_code == 1, result.output
    assert "errors: 503: " in result.output
    assert "no request was answered with 2xx" in result.output
    assert NO_LATENCY_ROW.search(result.output), result.output


@pytest.mark.parametrize(
    ("max_error_rate", "exit_code", "verdict"),
    [
        (None, 1, "fail: 4 of 8 requests failed (50.00%), over --max-error-rate 0"),
        ("0.4", 1, "fail: 4 of 8 requests failed (50.00%), over --max-error-rate 0.4"),
        ("0.5", 0, "pass: 4 of 8 requests failed (50.00%), within --max-error-rate 0.5"),
    ],
)
def test_cli_exit_code_follows_max_error_rate(
    flaky_url, tmp_path, max_error_rate, exit_code, verdict
):
    # A request cap, not a duration, ends the run: the same 8 requests on a loaded machine.
    env = tmp_path / "capped.toml"
    env.write_text(demo_text() + "\n[ops]\nload_max_requests = 8\n")
    args = ["load", flaky_url, "--duration", "30", "--connections", "1", "--env-file", str(env)]
    if max_error_rate is not None:
        args += ["--max-error-rate", max_error_rate]
    result = runner.invoke(app, args)
    assert result.exit_code == exit_code, result.output
    assert "errors: 503: 2, RemoteProtocolError: 2" in result.output
    assert "p50/p95/p99 over 4 answered (2xx)" in result.output
    assert verdict in result.output


@pytest.mark.parametrize("value", ["1.5", "-1", "nan"])
def test_cli_refuses_a_bad_max_error_rate_in_one_line(value: str) -> None:
    result = runner.invoke(app, ["load", "http://127.0.0.1:9/", "--max-error-rate", value])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--max-error-rate is a fraction 0-1" in lines[0]


def test_cli_max_duration_comes_from_env_config(http_server: LocalServer, tmp_path) -> None:

    env = tmp_path / "short.toml"
    env.write_text(demo_text() + "\n[ops]\nload_max_duration_seconds = 2\n")
    result = runner.invoke(
        app, ["load", http_server.url, "--duration", "3", "--env-file", str(env)]
    )
    assert result.exit_code == 2
    assert "at most 2 s" in result.output


def test_cli_unreachable_url_is_one_line() -> None:
    result = runner.invoke(app, ["load", "http://127.0.0.1:9/", "--duration", "1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach http://127.0.0.1:9/")


def test_a_redirect_is_not_a_success_by_default(http_server: LocalServer) -> None:
    """A 307 (an ALB's HTTP-to-HTTPS answer) never reached the application: it fails the run."""
    report = load(http_server.url + "/moved", duration_s=10, connections=1, rate=None,
                  ops=OpsConfig(load_max_requests=6))  # fmt: skip
    assert report.statuses == {307: 6} and report.errors == 6 and report.answered == 0
    assert report.error_breakdown() == [("307", 6)]


def test_ok_status_counts_redirects_when_told(http_server: LocalServer) -> None:
    ok = parse_ok_status("200-399")
    report = load(http_server.url + "/moved", duration_s=10, connections=1, rate=None,
                  ops=OpsConfig(load_max_requests=6), ok_status=ok)  # fmt: skip
    assert report.errors == 0 and report.answered == 6
    assert "p50/p95/p99 over 6 answered (2xx/3xx)" in rendered(report)


def test_cli_ok_status(http_server: LocalServer) -> None:
    url = http_server.url + "/moved"
    failed = runner.invoke(app, ["load", url, "--duration", "0.3"])
    assert failed.exit_code == 1, failed.output
    assert "errors: 307: " in failed.output
    passed = runner.invoke(app, ["load", url, "--duration", "0.3", "--ok-status", "200,307"])
    assert passed.exit_code == 0, passed.output
    assert "within --max-error-rate 0" in passed.output


@pytest.mark.parametrize(
    ("text", "ranges", "shown"),
    [
        ("200-299", ((200, 299),), "2xx"),
        ("200-399", ((200, 399),), "2xx/3xx"),
        ("304, 200,204", ((200, 200), (204, 204), (304, 304)), "200,204,304"),
    ],
)
def test_ok_status_parses_ranges_and_lists(text: str, ranges: tuple, shown: str) -> None:
    ok = parse_ok_status(text)
    assert ok == OkStatus(ranges) and str(ok) == shown
    assert 200 in ok and 500 not in ok and None not in ok


@pytest.mark.parametrize("value", ["2xx", "299-200", "200-600", "99", ""])
def test_cli_refuses_a_bad_ok_status_in_one_line(value: str) -> None:
    result = runner.invoke(app, ["load", "http://127.0.0.1:9/", "--ok-status", value])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--ok-status takes status codes or ranges" in lines[0]
