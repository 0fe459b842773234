"""`push`: build one service's image (its build context, for its architecture) and push it
to the service's ECR repository.

Tags are immutable (the repository says so), so the default tag is the git commit of the
build context: a tag always means one build. A dirty context would make that a lie, so it is
refused. A service without an [image] table builds the sample server (server/).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions

from fargate_env import outputs
from fargate_env.config import ServiceConfig, select_service
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, call, refuse_placeholders
from fargate_env.ops.runner import CommandFailed, Runner, run
from fargate_env.paths import PROJECT_ROOT

PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
SAMPLE_CONTEXT = PROJECT_ROOT / "server"
Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Build:
    """What `docker buildx build` gets: the context, its Dockerfile, stage and arguments."""

    context: Path
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: dict[str, str] = field(default_factory=dict)


def service_build(name: str, svc: ServiceConfig, base: Path) -> Build:
    """The build of one service; `base`: the environment file's directory."""
    if svc.image is None:
        return Build(SAMPLE_CONTEXT)
    if svc.image.build is None:
        raise UserError(
            f"service {name} runs image.uri {svc.image.uri}: there is nothing to build or push"
        )
    build = svc.image.build
    return Build(build.context_dir(base), build.dockerfile, build.target, dict(build.args))


def git_tag(context: Path) -> str:
    """The commit the context was built from; refuse uncommitted changes in the context."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=context, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=context, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        raise UserError(
            f"cannot read the git commit of {context} for the image tag: pass --tag T"
        ) from None
    if dirty:
        raise UserError(
            f"{context} has uncommitted changes, so the commit would not name this build:"
            " commit them, or pass --tag T"
        )
    return head


def ensure_docker(runner: Runner, which: Which) -> str:
    docker = which("docker")
    if docker is None:
        raise UserError(
            "docker not found: install Docker with buildx (or run push on a machine that has it)"
        )
    if runner([docker, "info", "--format", "{{.ServerVersion}}"]) != 0:
        raise UserError("the Docker daemon is not reachable: start Docker (or set DOCKER_HOST)")
    if runner([docker, "buildx", "version"]) != 0:
        raise UserError("docker buildx is missing: install the buildx plugin")
    return docker


def tag_exists(ecr: object, repository: str, tag: str) -> bool:
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])  # type: ignore[attr-defined]
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ImageNotFoundException":
            return False
        raise aws_error(exc, "ECR DescribeImages") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error(exc, "ECR DescribeImages") from None
    return True


def registry_login(aws: Aws) -> tuple[str, str, str]:
    """(registry host, user, password) from ECR's authorization token (valid 12 h)."""
    data = call(aws.client("ecr").get_authorization_token, what="ECR GetAuthorizationToken")
    auth = data["authorizationData"][0]
    user, _, password = base64.b64decode(auth["authorizationToken"]).decode().partition(":")
    return auth["proxyEndpoint"].removeprefix("https://"), user, password


def build_command(docker: str, platform: str, image: str, build: Build) -> list[str]:
    # --provenance=false: one plain image manifest, not an index with an attestation manifest
    # that Fargate does not need and ECR's lifecycle rules count as an extra untagged image.
    command = [
        docker, "buildx", "build",
        "--platform", platform,
        "--provenance=false",
        "--file", str(build.context / build.dockerfile),
        "--tag", image,
        "--push",
    ]  # fmt: skip
    if build.target:
        command += ["--target", build.target]
    for name, value in build.args.items():
        command += ["--build-arg", f"{name}={value}"]
    return [*command, str(build.context)]


def push_image(
    aws: Aws,
    service: str | None = None,
    *,
    tag: str | None,
    base: Path = PROJECT_ROOT / "environments",
    runner: Runner = run,
    which: Which = shutil.which,
    progress: Callable[[str], None] = lambda _: None,
) -> str:
    """Build and push to `service`'s repository (None: the only service); returns the image.
    `base`: the directory of the environment file, which build contexts are relative to."""
    name, svc = select_service(aws.config, service)
    build = service_build(name, svc, base)
    refuse_placeholders(aws.config)
    docker = ensure_docker(runner, which)
    progress("checking AWS credentials")
    aws.check_credentials()
    tag = tag or git_tag(build.context)
    uri_key = outputs.per_service(outputs.REPOSITORY_URI, name)
    name_key = outputs.per_service(outputs.REPOSITORY_NAME, name)
    found = aws.stack_outputs(outputs.REGISTRY, uri_key, name_key)
    uri, repository = found[uri_key], found[name_key]
    if tag_exists(aws.client("ecr"), repository, tag):
        raise UserError(
            f"{repository}:{tag} already exists and tags are immutable: commit, or pass a new --tag"
        )
    registry, user, password = registry_login(aws)
    progress(f"logging in to {registry}")
    login = [docker, "login", "--username", user, "--password-stdin", registry]
    if runner(login, stdin=password.encode()) != 0:
        raise CommandFailed(f"docker login to {registry} failed (see above)")
    image = f"{uri}:{tag}"
    platform = PLATFORMS[svc.architecture]
    progress(f"building {build.context} for {platform} and pushing {image}")
    rc = runner(build_command(docker, platform, image, build), cwd=build.context)
    if rc != 0:
        raise CommandFailed(f"docker buildx build failed with exit code {rc} (see above)")
    return image
