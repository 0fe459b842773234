"""AWS_ENDPOINT_URL end to end: the real CLI, in its own process, against a moto_server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.ops.conftest import REGION, build_world, real_config
from tests.ops.test_rightsize import pattern, put_usage

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
CLI = Path(sys.executable).parent / "fargate-env"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_endpoint(aws_credentials, monkeypatch) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        # boto3 honours AWS_ENDPOINT_URL too, so the fixtures below build on the same server.
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args], env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def test_cli_reaches_the_emulator_through_aws_endpoint_url(moto_endpoint, env_file, http_server):
    # Nothing deployed yet: verify finds no stack on the emulator and says so in one line.
    missing = run_cli("verify", "--env-file", str(env_file))
    assert missing.returncode == 2, missing.stderr
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "demo-platform" in lines[0], missing.stderr

    # Deploy-looking state and busy metrics (p95 CPU 95 %) on the same emulator.
    world = build_world(real_config(), http_server.url)
    put_usage(world, pattern(400, 60, 95), pattern(400, 40, 50))
    assert boto3.client("cloudformation", region_name=REGION).describe_stacks()["Stacks"]

    result = run_cli("rightsize", "--env-file", str(env_file), "--service", "web", "--days", "14")
    assert result.returncode == 0, result.stderr
    assert "recommended: 512 cpu / 1024 MiB" in result.stdout, result.stdout
    assert "upsize" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
