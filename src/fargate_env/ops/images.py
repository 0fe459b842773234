"""`push`: build one service's image (its build context, for its architecture) and push it
to the service's ECR repository.

Tags are immutable (the repository says so), so the default tag is the git commit of the
build context: a tag always means one build. A dirty context would make that a lie, so it is
refused. A service without an [image] table builds the sample server (server/).

The build uses buildx when the docker CLI has it (build and push in one step), else the legacy
builder (`docker build --platform`, then `docker push`). Before anything reaches AWS the engine
is asked which platforms it builds: its own (`docker version`), plus what buildx reports, or,
for the legacy builder on a local engine, what the kernel's binfmt_misc emulates (QEMU). A
service whose architecture is none of them is refused in one line that says how to enable it.
"""

from __future__ import annotations

import base64
import os
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
# Runs a command and returns (exit code, stdout): the engine's answers, not shown to the user.
Probe = Callable[[list[str]], tuple[int, str]]
# binfmt_misc handlers QEMU registers (qemu-user-static, tonistiigi/binfmt) -> the platform.
BINFMT = Path("/proc/sys/fs/binfmt_misc")
EMULATORS = {"qemu-aarch64": "linux/arm64", "qemu-x86_64": "linux/amd64"}
# Docker's documented way to add emulators to an engine ("Multi-platform builds", QEMU).
ENABLE_EMULATION = "docker run --privileged --rm tonistiigi/binfmt --install {arch}"


def capture(cmd: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return 127, ""
    return done.returncode, done.stdout


@dataclass(frozen=True)
class Engine:
    """What the Docker engine here can build, and with which builder."""

    builder: str  # "buildx" or "legacy"
    native: str  # e.g. linux/amd64
    platforms: frozenset[str]

    def refusal(self, platform: str, field: str) -> str:
        arch = platform.split("/")[1]
        return (
            f"{field}: this Docker engine builds {', '.join(sorted(self.platforms))}, not"
            f" {platform}; enable QEMU emulation with"
            f" `{ENABLE_EMULATION.format(arch=arch)}` (or apt-get install qemu-user-static"
            f" binfmt-support), or push from an {arch} machine"
        )


def local_engine() -> bool:
    """Whether the engine runs on this kernel (binfmt_misc here is the engine's)."""
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def emulated(binfmt: Path = BINFMT) -> set[str]:
    """Platforms the kernel runs through an enabled QEMU binfmt_misc handler."""
    found = set()
    for name, platform in EMULATORS.items():
        try:
            if (binfmt / name).read_text().splitlines()[0].strip() == "enabled":
                found.add(platform)
        except (OSError, IndexError):
            continue
    return found


def engine_platforms(
    docker: str, probe: Probe, *, local: bool | None = None, binfmt: Path = BINFMT
) -> Engine:
    """Ask the engine (and buildx, when present) which platforms it can build."""
    rc, out = probe([docker, "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"])
    native = out.strip() if rc == 0 and out.strip() else "unknown"
    platforms = {native}
    if probe([docker, "buildx", "version"])[0] == 0:
        rc, out = probe([docker, "buildx", "inspect", "--bootstrap"])
        for line in out.splitlines() if rc == 0 else []:
            if line.strip().startswith("Platforms:"):
                items = line.split(":", 1)[1].split(",")
                platforms |= {p.strip().rstrip("*") for p in items if p.strip()}
        return Engine("buildx", native, frozenset(platforms))
    if local_engine() if local is None else local:
        platforms |= emulated(binfmt)
    return Engine("legacy", native, frozenset(platforms))


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


def legacy_build_command(docker: str, platform: str, image: str, build: Build) -> list[str]:
    """The legacy builder: one platform, one plain manifest; `docker push` follows."""
    args = [a for k, v in build.args.items() for a in ("--build-arg", f"{k}={v}")]
    target = ["--target", build.target] if build.target else []
    return [
        docker, "build",
        "--platform", platform,
        *args,
        *target,
        "--file", str(build.context / build.dockerfile),
        "--tag", image,
        str(build.context),
    ]  # fmt: skip


def push_image(
    aws: Aws,
    service: str | None = None,
    *,
    tag: str | None,
    base: Path = PROJECT_ROOT / "environments",
    runner: Runner = run,
    which: Which = shutil.which,
    progress: Callable[[str], None] = lambda _: None,
    probe: Probe | None = None,
) -> str:
    """Build and push to `service`'s repository (None: the only service); returns the image.
    `base`: the directory of the environment file, which build contexts are relative to."""
    name, svc = select_service(aws.config, service)
    build = service_build(name, svc, base)
    refuse_placeholders(aws.config)
    docker = ensure_docker(runner, which)
    platform = PLATFORMS[svc.architecture]
    engine = engine_platforms(docker, probe or capture)
    if platform not in engine.platforms:
        raise UserError(engine.refusal(platform, f"services.{name}.architecture"))
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
    progress(f"building {build.context} for {platform} ({engine.builder} builder), pushing {image}")
    if engine.builder == "buildx":
        rc = runner(build_command(docker, platform, image, build), cwd=build.context)
        if rc != 0:
            raise CommandFailed(f"docker buildx build failed with exit code {rc} (see above)")
        return image
    rc = runner(legacy_build_command(docker, platform, image, build), cwd=build.context)
    if rc != 0:
        raise CommandFailed(f"docker build failed with exit code {rc} (see above)")
    rc = runner([docker, "push", image])
    if rc != 0:
        raise CommandFailed(f"docker push failed with exit code {rc} (see above)")
    return image
