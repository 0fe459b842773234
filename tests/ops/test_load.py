"""load: bounded by time and a request cap, against a 127.0.0.1 server."""

from __future__ import annotations

import asyncio
import time

import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import OpsConfig
from fargate_env.errors import UserError
from fargate_env.ops.load import LoadReport, Sample, load, run_load
from tests.ops.conftest import LocalServer

runner = CliRunner()


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
    ],
)
def test_unbounded_or_malformed_runs_are_refused(kwargs: dict, message: str) -> None:
    args = {"url": "http://127.0.0.1:9/", "duration_s": 1, "connections": 1, "rate": None} | kwargs
    with pytest.raises(UserError, match=message):
        load(args.pop("url"), **args, ops=OpsConfig())


def test_cli_prints_table(http_server: LocalServer) -> None:
    result = runner.invoke(app, ["load", http_server.url + "/", "--duration", "0.5"])
    assert result.exit_code == 0, result.output
    for column in ("requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        assert column in result.output


def test_cli_max_duration_comes_from_env_config(http_server: LocalServer, tmp_path) -> None:
    from tests.conftest import DEMO_TOML

    env = tmp_path / "short.toml"
    env.write_text(DEMO_TOML.read_text() + "\n[ops]\nload_max_duration_seconds = 2\n")
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
