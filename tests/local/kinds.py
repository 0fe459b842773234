"""An environment with one service of each kind, its cloud assembly and its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.local.conftest import assembly_of, make_config

JOB_COMMAND = ["python", "-m", "sample_server.job"]
SCHEDULE = "cron(0 3 * * ? *)"
BACKEND_PORT = 8080
# web calls the backend by name, as Service Connect lets it in AWS.
KINDS = {
    "web": {
        "routing": {"default": True},
        "environment": {"UPSTREAM_URL": f"http://api:{BACKEND_PORT}/"},
    },
    "api": {"kind": "backend"},
    "worker": {"kind": "worker"},
    "nightly": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": JOB_COMMAND,
        "environment": {"JOB_ITEMS": "20"},
    },
    "broken": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": JOB_COMMAND,
        "environment": {"JOB_EXIT_CODE": "3"},
    },
    # Outlives any timeout a test gives it.
    "sleepy": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": ["python", "-c", "import time; time.sleep(600)"],
    },
}


def kinds_assembly(services: dict[str, Any], tmp_factory: pytest.TempPathFactory) -> Path:
    """The assembly of an environment of these [services.NAME] tables (once per worker)."""
    return assembly_of(make_config(services), tmp_factory)


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a TOML basic string for the plain values used here


def env_file(services: dict[str, Any], path: Path) -> Path:
    """The environment file of make_config(services), written to `path`."""
    lines = ['name = "local-test"', 'region = "us-east-1"', "[load_balancer]"]
    lines.append("allow_http_only = true")
    for name, svc in services.items():
        lines.append(f"[services.{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in svc.items())
    path.write_text("\n".join(lines) + "\n")
    return path
