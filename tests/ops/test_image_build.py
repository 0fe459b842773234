"""The sample image, built for real for each Fargate architecture the engine here can build,
with the command `push` uses when the docker CLI has no buildx (`docker build --platform`).

An architecture the engine cannot build is skipped with push's own refusal line, so the test
report says what was built and what was not (and how to enable it). Needs a Docker engine and
a Python base image: the official one, or `make image`'s local stand-ins.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest

from fargate_env.ops.images import (
    PLATFORMS,
    Build,
    capture,
    engine_platforms,
    legacy_build_command,
)
from fargate_env.paths import PROJECT_ROOT

OFFICIAL = "python:3.11-slim-bookworm"
# scripts/local-base-image.sh: the runtime and build-stage stand-ins (no registry here).
LOCAL = ("fargate-env-base:python3.11-bookworm", "fargate-env-base:python3.11-bookworm-build")


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def base_images() -> dict[str, str] | None:
    """Build args naming base images that are here: the official one, else the stand-ins."""
    if docker("image", "inspect", OFFICIAL).returncode == 0:
        return {}
    if all(docker("image", "inspect", image).returncode == 0 for image in LOCAL):
        return {"BASE_IMAGE": LOCAL[0], "BUILD_IMAGE": LOCAL[1]}
    return None


@pytest.mark.parametrize("architecture", list(PLATFORMS))
def test_sample_image_builds_for_each_architecture_the_engine_can(architecture: str) -> None:
    if shutil.which("docker") is None or docker("info").returncode != 0:
        pytest.skip("no Docker engine answers")
    platform = PLATFORMS[architecture]
    engine = engine_platforms("docker", capture)
    if platform not in engine.platforms:
        pytest.skip(f"not built: {engine.refusal(platform, architecture)}")
    args = base_images()
    if args is None:
        pytest.skip(f"no base image here ({OFFICIAL}, or `make image`'s {LOCAL[0]})")
    tag = f"fargate-env-test-build:{architecture}-{uuid.uuid4().hex[:8]}"
    context = PROJECT_ROOT / "server"
    started = time.monotonic()
    try:
        build = subprocess.run(
            legacy_build_command("docker", platform, tag, Build(context, args=args)),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
        built = docker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", tag).stdout.strip()
        assert built == platform
        print(f"built {platform} ({engine.builder} builder) in {time.monotonic() - started:.1f} s")
    finally:
        docker("image", "rm", tag)  # only the tag this test created
