"""The image can't be built here (no Docker engine): lint it, and hold its user, port and
HEALTHCHECK to the environment config and to the command the task definition runs."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    return load_config(REPO / "environments" / "demo.toml")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), " ".join(args.split())))
    assert len(stages) >= 2, "multi-stage build expected"
    return stages[-1]


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


def test_slim_base_and_module_entrypoint() -> None:
    froms = [args for kw, args in instructions() if kw == "FROM"]
    assert froms and "slim" in froms[0]
    assert json.loads(only("CMD")) == ["python", "-m", "sample_server"]


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (SERVER / ".dockerignore").read_text().split()
    assert "**" in lines and "!src/" in lines and "!pyproject.toml" in lines
