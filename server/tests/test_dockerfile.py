"""The Dockerfile without Docker: lint it, and hold its user, port and HEALTHCHECK to the
environment config and to the command the task definition runs, its base to the official slim
image and its pins to requirements.lock. test_image.py runs the built image."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fargate_env.config import EnvironmentConfig, load_config

SERVER = Path(__file__).resolve().parents[1]
REPO = SERVER.parent
DOCKERFILE = SERVER / "Dockerfile"
# The container health check of the ECS task definition (contract with the service stack).
TASK_HEALTHCHECK = ["python", "-m", "sample_server.healthcheck"]
OFFICIAL_BASE = "python:3.11-slim-bookworm"


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    return load_config(REPO / "environments" / "demo.toml")


def stages() -> list[list[tuple[str, str]]]:
    """(INSTRUCTION, arguments) per stage, continuation lines joined; stage 0 holds what comes
    before the first FROM (the global ARGs)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            found.append([])
        found[-1].append((keyword.upper(), " ".join(args.split())))
    assert len(found) >= 3, "multi-stage build expected"
    return found


def instructions() -> list[tuple[str, str]]:
    """The final stage."""
    return stages()[-1]


def only(keyword: str) -> str:
    found = [args for kw, args in instructions() if kw == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def test_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    proc = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runs_as_the_configured_non_root_user(config: EnvironmentConfig) -> None:
    user = only("USER")
    assert user == config.services["web"].container_user
    assert user not in ("root", "0")
    assert f"--uid {user}" in " ".join(args for kw, args in instructions() if kw == "RUN")


def test_exposes_the_container_port(config: EnvironmentConfig) -> None:
    assert only("EXPOSE") == str(config.services["web"].container_port)
    assert f"PORT={config.services['web'].container_port}" in only("ENV")


def test_healthcheck_matches_task_definition(config: EnvironmentConfig) -> None:
    hc = config.services["web"].health_check
    flags, _, command = only("HEALTHCHECK").partition(" CMD ")
    options = dict(opt.removeprefix("--").split("=", 1) for opt in flags.split())
    assert options == {
        "interval": f"{hc.container_interval_seconds}s",
        "timeout": f"{hc.container_timeout_seconds}s",
        "start-period": f"{hc.container_start_period_seconds}s",
        "retries": str(hc.container_retries),
    }
    assert json.loads(command) == TASK_HEALTHCHECK


def test_official_slim_base_by_default_and_module_entrypoint() -> None:
    """Both stages start from build args whose defaults are the official slim image; no
    `# syntax=` line, which makes the builder pull its frontend from a registry."""
    global_args = dict(args.split("=", 1) for kw, args in stages()[0] if kw == "ARG")
    assert global_args == {"BASE_IMAGE": OFFICIAL_BASE, "BUILD_IMAGE": OFFICIAL_BASE}
    build, *_, runtime = stages()[1:]
    assert build[0] == ("FROM", "${BUILD_IMAGE} AS build")
    assert runtime[0] == ("FROM", "${BASE_IMAGE}")
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE.read_text(), re.M | re.I)
    assert json.loads(only("CMD")) == ["python", "-m", "sample_server"]


def lock_versions() -> dict[str, str]:
    pins = (REPO / "requirements.lock").read_text().split()
    return dict(canonical_pin(pin) for pin in pins if "==" in pin)


def canonical_pin(pin: str) -> tuple[str, str]:
    name, _, version = pin.partition("==")
    return re.sub(r"[-_.]+", "-", name).lower(), version


def test_image_pins_match_the_lock() -> None:
    """The build stage pins the transitive deps at the versions the tests ran with."""
    run = " ".join(args for kw, args in stages()[1] if kw == "RUN")
    pins = dict(canonical_pin(pin) for pin in re.findall(r"[\w.-]+==[\w.+-]+", run))
    assert pins, "the build stage pins no packages"
    lock = lock_versions()
    assert {name: lock.get(name) for name in pins} == pins


def test_runtime_drops_the_installers() -> None:
    run = " ".join(args for kw, args in stages()[1] if kw == "RUN")
    assert re.search(r"pip uninstall --yes( --quiet)? pip setuptools wheel", run)


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (SERVER / ".dockerignore").read_text().split()
    assert "**" in lines and "!src/" in lines and "!pyproject.toml" in lines
