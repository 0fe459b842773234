"""Fixtures for the rehearsal: real HAProxy and real tasks, always stopped.

The tasks are Docker containers when an engine answers and sample-server:local exists, and
processes otherwise; under CI=true a missing engine or image fails the tests instead (.ci/run
starts one and builds the image). Each config is synthesized once per test worker.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fargate_env.config import EnvironmentConfig, load_config, parse_config
from fargate_env.local import containers
from fargate_env.local.rehearsal import Rehearsal
from fargate_env.local.templates import LOCAL_IMAGE, Deployed, read_deployed, synthesize

REPO = Path(__file__).resolve().parents[2]
# The health-check numbers at a tenth of their durations (interval 10 s -> 1 s): the same
# thresholds and the same ratios, in test time.
SCALE = 0.1
IN_CI = os.environ.get("CI") == "true"


def _runtime() -> tuple[str, str]:
    version, problem = containers.engine_version()
    if version is not None and not containers.image_present(LOCAL_IMAGE):
        problem = f"no image {LOCAL_IMAGE} (make image)"
    return ("process", problem) if problem else ("docker", f"Docker {version}")


RUNTIME, RUNTIME_WHY = _runtime()


@pytest.fixture(scope="session")
def runtime() -> str:
    """ "docker" or "process": what the rehearsal tests run their tasks as."""
    if RUNTIME != "docker" and IN_CI:
        pytest.fail(f"CI=true runs the rehearsal on containers: {RUNTIME_WHY}")
    return RUNTIME


def make_config(services: dict[str, Any]) -> EnvironmentConfig:
    """An HTTP-only environment with these [services.NAME] tables."""
    return parse_config(
        {
            "name": "local-test",
            "region": "us-east-1",
            "load_balancer": {"allow_http_only": True},
            "services": services,
        }
    )


_ASSEMBLIES: dict[str, Path] = {}


def assembly_of(config: EnvironmentConfig, tmp_factory: pytest.TempPathFactory) -> Path:
    """The config synthesized (once per worker and distinct config); treat it as read-only,
    copy it to edit it (edited_assembly)."""
    key = config.model_dump_json()
    if key not in _ASSEMBLIES:
        _ASSEMBLIES[key] = synthesize(config, tmp_factory.mktemp("synth"))
    return _ASSEMBLIES[key]


def deployed_of(config: EnvironmentConfig, tmp_factory: pytest.TempPathFactory) -> Deployed:
    return read_deployed(assembly_of(config, tmp_factory))


def edited_assembly(source: Path, dest: Path, stack: str) -> tuple[Path, dict]:
    """A copy of an assembly, and the parsed template of `stack` to edit; write it back with
    save_template."""
    shutil.copytree(source, dest)
    return dest, json.loads((dest / f"{stack}.template.json").read_text())


def save_template(assembly: Path, stack: str, template: dict) -> None:
    (assembly / f"{stack}.template.json").write_text(json.dumps(template))


def resource(template: dict, rtype: str) -> dict:
    """The properties of the one resource of `rtype` in a template."""
    (found,) = [r for r in template["Resources"].values() if r["Type"] == rtype]
    return found["Properties"]


# Two services that need no PATH_PREFIX support: `api` is routed paths the sample server
# answers at its root, `web` takes everything else. `api` has a health check of its own
# (interval 5 s, x0.1 = 0.5 s; deregistration delay 5 s) so per-backend numbers show.
PAIR = {
    "web": {"routing": {"default": True}},
    "api": {
        "routing": {"path_patterns": ["/ready", "/cpu*"]},
        "health_check": {
            "path": "/ready",
            "interval_seconds": 5,
            "timeout_seconds": 3,
            "deregistration_delay_seconds": 5,
        },
    },
}


@pytest.fixture(scope="module")
def demo_config() -> EnvironmentConfig:
    return load_config(REPO / "environments" / "demo.toml")


@pytest.fixture(scope="module")
def pair_config() -> EnvironmentConfig:
    return make_config(PAIR)


@pytest.fixture(scope="module")
def pair_deployed(
    pair_config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory
) -> Deployed:
    return deployed_of(pair_config, tmp_path_factory)


def rehearsal_of(
    config: EnvironmentConfig,
    deployed: Deployed,
    runtime: str,
    workdir: Path,
    scale: float = SCALE,
) -> Rehearsal:
    """Two tasks per service at `scale`, in `workdir`, on `runtime` (use it as a context)."""
    return Rehearsal(
        config,
        tasks=2,
        scale=scale,
        workdir=workdir,
        deployed=deployed,
        runtime=runtime,  # type: ignore[arg-type]
    )


@pytest.fixture
def pair(
    pair_config: EnvironmentConfig, pair_deployed: Deployed, runtime: str, tmp_path: Path
) -> Iterator[Rehearsal]:
    with rehearsal_of(pair_config, pair_deployed, runtime, tmp_path) as r:
        yield r
