"""The lifecycle suite's harness: moto's server (with moto_gaps) on a free localhost port, the
pinned CDK CLI and the project's own `fargate-env` run as subprocesses, and what an account
already holds (a certificate, a hosted zone, pushed images).

Everything here runs as a user runs it: the environment variables are the only difference
(fake credentials, AWS_ENDPOINT_URL=http://localhost:PORT). `localhost`, not 127.0.0.1: the CDK
CLI addresses the bootstrap bucket by virtual host.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.conftest import demo_data, merge
from tests.ops.conftest import toml_text

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"  # what `npx --no-install cdk` runs (paths.CDK_BIN)
FARGATE_ENV = ROOT / ".venv" / "bin" / "fargate-env"
ACCOUNT = "123456789012"  # moto's account: real-looking, 12 digits
REGION = "us-east-1"
# An image manifest for put_image: moto's ECR speaks the ECR API, not the registry protocol,
# so `fargate-env push` (docker buildx build --push) cannot push to it.
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + "0" * 64,
        },
        "layers": [],
    }
)
_started: float | None = None  # when the emulator fixture started the suite
# Commands the README quotes, timed by the scenarios: printed with the suite's wall time.
TIMES: dict[str, float] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lifecycle: drives moto + the CDK CLI (tests/lifecycle)")


def _figures() -> list[str]:
    if _started is None:
        return []
    lines = [f"lifecycle: {what}: {seconds:.1f} s" for what, seconds in TIMES.items()]
    return [*lines, f"lifecycle suite: {time.monotonic() - _started:.0f} s"]


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """The suite's figures under the results (it runs in one process: Makefile)."""
    for line in _figures():
        terminalreporter.write_line(line)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@dataclass
class Emulator:
    port: int
    env: dict[str, str]

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.port}"

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def run(self, args: list[str], *, cwd: Path = ROOT, timeout: float = 600) -> Result:
        """One command as a user runs it; its output is echoed into the test's log."""
        started = time.monotonic()
        done = subprocess.run(
            args, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        result = Result(args, done.returncode, done.stdout, done.stderr,
                        time.monotonic() - started)  # fmt: skip
        print(f"$ {' '.join(map(str, args))}  ({result.seconds:.1f} s, exit {result.code})")
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        return result

    def fargate_env(self, *args: str | Path) -> Result:
        return self.run([str(FARGATE_ENV), *map(str, args)])


@dataclass
class Result:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """moto's server with moto_gaps applied, started here and stopped by its PID."""
    global _started
    _started = time.monotonic()
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.lifecycle.serve_moto", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=f"http://localhost:{port}",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        NODE_NO_WARNINGS="1",
        COLUMNS="80",
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://localhost:{port}/moto-api/", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield Emulator(port, env)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def bootstrapped(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Emulator:
    """`cdk bootstrap aws://ACCOUNT/us-east-1`, once per account and region as the README
    says; run outside the project so the CLI does not synthesize the app for it."""
    result = emulator.run(
        [str(CDK), "bootstrap", f"aws://{ACCOUNT}/{REGION}"], cwd=tmp_path_factory.mktemp("boot")
    )
    assert result.code == 0, result.output
    return emulator


@dataclass
class Account:
    """What the account holds before fargate-env: an ACM certificate and a hosted zone."""

    certificate_arn: str
    zone_id: str


@pytest.fixture(scope="session")
def account(emulator: Emulator) -> Account:
    cert = emulator.client("acm").request_certificate(
        DomainName="*.demo.example.com", ValidationMethod="DNS"
    )["CertificateArn"]
    zone = emulator.client("route53").create_hosted_zone(
        Name="demo.example.com", CallerReference="lifecycle"
    )["HostedZone"]["Id"]
    return Account(cert, zone.split("/")[-1])


def write_env(path: Path, account: Account, overrides: dict | None = None) -> Path:
    """The demo environment with a real account, certificate and zone, as a TOML file."""
    real = {
        "account": ACCOUNT,
        "load_balancer": {
            "certificate_arn": account.certificate_arn,
            "preview_hosted_zone_id": account.zone_id,
        },
    }
    path.write_text(toml_text(merge(merge(demo_data(), real), overrides or {})))
    return path


def put_images(emulator: Emulator, repositories: list[str], tag: str) -> None:
    """What `fargate-env push` leaves in ECR: `tag` in each repository (see MANIFEST)."""
    ecr = emulator.client("ecr")
    for repository in repositories:
        ecr.put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag=tag)


def stacks(emulator: Emulator) -> dict[str, str]:
    """Every live stack (but the CDK's own), by name: its status."""
    found = {}
    for page in emulator.client("cloudformation").get_paginator("describe_stacks").paginate():
        for s in page["Stacks"]:
            if s["StackStatus"] != "DELETE_COMPLETE" and s["StackName"] != "CDKToolkit":
                found[s["StackName"]] = s["StackStatus"]
    return found


# --- the demo environment, deployed once for the whole suite -------------------------------
# Its services: web and api (web), orders (backend), nightly (job); a worker joins in test_2.
DEMO_SERVICES = tuple(demo_data()["services"])
DEMO_STACKS = {
    f"demo-{part}"
    for part in ("network", "registry", "platform", "alerts", "previews", "monitoring")
} | {f"demo-service-{name}" for name in DEMO_SERVICES}  # fmt: skip


@dataclass
class Deployed:
    emulator: Emulator
    env_file: Path
    out: Path


@pytest.fixture(scope="session")
def deployed(bootstrapped: Emulator, account: Account, tmp_path_factory) -> Deployed:
    """Scenario 1's steps: deploy --only registry, the images pushed, deploy."""
    work = tmp_path_factory.mktemp("demo")
    env_file = write_env(work / "demo.toml", account)
    out = work / "cdk.out"
    first = bootstrapped.fargate_env("deploy", "--env-file", env_file, "--only", "registry",
                                     "--out", out)  # fmt: skip
    assert first.code == 0, first.output
    put_images(bootstrapped, [f"demo/{name}" for name in DEMO_SERVICES], "initial")
    full = bootstrapped.fargate_env("deploy", "--env-file", env_file, "--out", out)
    assert full.code == 0, full.output
    TIMES["first full deploy"] = full.seconds
    return Deployed(bootstrapped, env_file, out)


def stack_outputs(emulator: Emulator, name: str) -> dict[str, str]:
    (stack,) = emulator.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def assert_all_complete(emulator: Emulator, expected: set[str]) -> None:
    live = stacks(emulator)
    assert set(live) >= expected, sorted(expected - set(live))
    bad = {name: status for name, status in live.items()
           if name in expected and not status.endswith("_COMPLETE")}  # fmt: skip
    assert not bad and not any("ROLLBACK" in live[n] for n in expected), live
