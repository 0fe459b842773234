"""`push`: build the sample image for one service's architecture and push it to its ECR repo.

Tags are immutable (the repository says so), so the default tag is the git commit of server/:
a tag always means one build. A dirty server/ tree would make that a lie, so it is refused.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions

from fargate_env import outputs
from fargate_env.config import select_service
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, call, refuse_placeholders
from fargate_env.ops.runner import CommandFailed, Runner, run
from fargate_env.paths import PROJECT_ROOT

PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
Which = Callable[[str], str | None]


def git_tag(root: Path = PROJECT_ROOT) -> str:
    """The commit that server/ was built from; refuse uncommitted changes under server/."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "server"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        raise UserError("cannot read the git commit for the image tag: pass --tag T") from None
    if dirty:
        raise UserError(
            "server/ has uncommitted changes, so the commit would not name this build:"
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


def build_command(docker: str, platform: str, image: str, context: Path) -> list[str]:
    # --provenance=false: one plain image manifest, not an index with an attestation manifest
    # that Fargate does not need and ECR's lifecycle rules count as an extra untagged image.
    return [
        docker, "buildx", "build",
        "--platform", platform,
        "--provenance=false",
        "--file", str(context / "Dockerfile"),
        "--tag", image,
        "--push",
        str(context),
    ]  # fmt: skip


def push_image(
    aws: Aws,
    service: str | None = None,
    *,
    tag: str | None,
    runner: Runner = run,
    which: Which = shutil.which,
    root: Path = PROJECT_ROOT,
    progress: Callable[[str], None] = lambda _: None,
) -> str:
    """Build and push to `service`'s repository (None: the only service); returns the image."""
    name, svc = select_service(aws.config, service)
    refuse_placeholders(aws.config)
    docker = ensure_docker(runner, which)
    progress("checking AWS credentials")
    aws.check_credentials()
    tag = tag or git_tag(root)
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
    progress(f"building {platform} and pushing {image}")
    rc = runner(build_command(docker, platform, image, root / "server"), cwd=root)
    if rc != 0:
        raise CommandFailed(f"docker buildx build failed with exit code {rc} (see above)")
    return image
