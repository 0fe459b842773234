"""push: command construction and ECR login against moto, docker never run (no engine here)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from fargate_env import outputs
from fargate_env.cli import app
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.images import git_tag, push_image
from fargate_env.ops.runner import CommandFailed
from tests.ops.conftest import ONE_SERVICE, REGION, create_stack, real_config

cli = CliRunner()

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_TYPE, "layers": []})


class Recorder:
    """Runner that records each command (and its stdin) and answers with preset exit codes."""

    def __init__(self, codes: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[list[str], bytes | None]] = []
        self.codes = codes or {}

    def __call__(
        self, cmd: list[str], *, stdin: bytes | None = None, cwd: Path | None = None
    ) -> int:
        self.calls.append((cmd, stdin))
        line = " ".join(cmd[1:])
        return next((code for key, code in self.codes.items() if line.startswith(key)), 0)


def registry(config) -> dict[str, str]:
    """Every service's repository and the registry stack's per-service outputs: {name: uri}."""
    ecr = boto3.client("ecr", region_name=REGION)
    uris, values = {}, {}
    for name in config.services:
        repo = ecr.create_repository(repositoryName=config.repository_name(name))["repository"]
        uris[name] = repo["repositoryUri"]
        values[outputs.per_service(outputs.REPOSITORY_URI, name)] = repo["repositoryUri"]
        values[outputs.per_service(outputs.REPOSITORY_NAME, name)] = repo["repositoryName"]
    create_stack(config.stack_name(outputs.REGISTRY), values)
    return uris


def docker(_: str) -> str:
    return "/usr/bin/docker"


def test_push_builds_for_the_architecture_and_logs_in_with_ecr_token(moto) -> None:
    arm = {"architecture": "arm64", "capacity": {"spot": False}}
    config = real_config({"services": {"api": arm}})
    uri = registry(config)["api"]
    assert uri.endswith("/demo/api")
    runner = Recorder()
    image = push_image(
        Aws.for_environment(config), "api", tag="abc123", runner=runner, which=docker
    )
    assert image == f"{uri}:abc123"
    commands = [cmd for cmd, _ in runner.calls]
    assert commands[0][:2] == ["/usr/bin/docker", "info"]
    login, stdin = runner.calls[2]
    token = boto3.client("ecr", region_name=REGION).get_authorization_token()
    user, _, password = base64.b64decode(
        token["authorizationData"][0]["authorizationToken"]
    ).decode().partition(":")  # fmt: skip
    assert login == ["/usr/bin/docker", "login", "--username", user, "--password-stdin",
                     "123456789012.dkr.ecr.us-east-1.amazonaws.com"]  # fmt: skip
    assert stdin == password.encode() and password not in " ".join(login)
    build = commands[3]
    assert build[:3] == ["/usr/bin/docker", "buildx", "build"]
    assert build[build.index("--platform") + 1] == "linux/arm64"
    assert build[build.index("--tag") + 1] == f"{uri}:abc123"
    assert "--push" in build and build[-1].endswith("server")


def test_x86_platform_and_the_services_own_repository(moto) -> None:
    config = real_config({"services": {"api": {"architecture": "arm64",
                                               "capacity": {"spot": False}}}})  # fmt: skip
    uri = registry(config)["web"]
    runner = Recorder()
    image = push_image(Aws.for_environment(config), "web", tag="t1", runner=runner, which=docker)
    build = runner.calls[-1][0]
    assert build[build.index("--platform") + 1] == "linux/amd64"
    assert image == f"{uri}:t1" and uri.endswith("/demo/web")


def test_one_service_needs_no_name(moto) -> None:
    config = real_config(ONE_SERVICE)
    uri = registry(config)["web"]
    image = push_image(Aws.for_environment(config), tag="t1", runner=Recorder(), which=docker)
    assert image == f"{uri}:t1"


def test_registry_without_the_services_outputs_names_the_fix(moto) -> None:
    config = real_config()
    create_stack(config.stack_name(outputs.REGISTRY), {"Other": "x"})
    with pytest.raises(
        UserError,
        match=r"stack demo-registry has no output RepositoryUriApi: .*redeploy with"
        r" `fargate-env deploy --env demo --only registry`",
    ):
        push_image(Aws.for_environment(config), "api", tag="t", runner=Recorder(), which=docker)


def test_existing_tag_is_refused(moto) -> None:
    config = real_config()
    registry(config)
    boto3.client("ecr", region_name=REGION).put_image(
        repositoryName=config.repository_name("api"),
        imageManifest=MANIFEST,
        imageManifestMediaType=MEDIA_TYPE,
        imageTag="t1",
    )
    with pytest.raises(UserError, match="demo/api:t1 already exists and tags are immutable"):
        push_image(Aws.for_environment(config), "api", tag="t1", runner=Recorder(), which=docker)
    # the same tag in another service's repository is a new image
    push_image(Aws.for_environment(config), "web", tag="t1", runner=Recorder(), which=docker)


def test_docker_daemon_down(moto) -> None:
    with pytest.raises(UserError, match="Docker daemon is not reachable"):
        push_image(
            Aws.for_environment(real_config()),
            "web",
            tag="t",
            runner=Recorder({"info": 1}),
            which=docker,
        )


def test_build_failure_exits_1(moto) -> None:
    config = real_config()
    registry(config)
    with pytest.raises(CommandFailed, match="buildx build failed with exit code 7") as info:
        push_image(
            Aws.for_environment(config),
            "web",
            tag="t",
            runner=Recorder({"buildx build": 7}),
            which=docker,
        )
    assert info.value.exit_code == 1


def test_git_tag_is_the_contexts_commit_and_refuses_a_dirty_context(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()  # fmt: skip

    git("init", "-q")
    context = tmp_path / "api"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    (tmp_path / "notes.txt").write_text("outside the context: not part of the build\n")
    assert git_tag(context) == git("rev-parse", "--short=12", "HEAD")
    (context / "Dockerfile").write_text("FROM busybox\n")
    with pytest.raises(UserError, match=f"{context} has uncommitted changes"):
        git_tag(context)


def test_push_builds_the_services_own_context_with_its_dockerfile_target_and_args(
    moto, tmp_path: Path
) -> None:
    context = tmp_path / "code" / "api"
    context.mkdir(parents=True)
    build = {"context": "../code/api", "dockerfile": "docker/Dockerfile", "target": "runtime",
             "args": {"VERSION": "1.2"}}  # fmt: skip
    config = real_config({"services": {"api": {"image": {"build": build}}}})
    uri = registry(config)["api"]
    runner = Recorder()
    push_image(
        Aws.for_environment(config), "api", tag="t1", base=tmp_path / "envs", runner=runner,
        which=docker,
    )  # fmt: skip
    command = runner.calls[-1][0]
    assert command[command.index("--file") + 1] == str(context / "docker" / "Dockerfile")
    assert command[command.index("--target") + 1] == "runtime"
    assert command[command.index("--build-arg") + 1] == "VERSION=1.2"
    assert command[command.index("--tag") + 1] == f"{uri}:t1"
    assert command[-1] == str(context)


def test_a_uri_service_has_nothing_to_push(moto) -> None:
    uri = {"image": {"build": None, "uri": "nginx:1.27"}, "image_tag": None}
    config = real_config({"services": {"api": uri}})
    with pytest.raises(
        UserError, match=r"service api runs image.uri nginx:1\.27: there is nothing"
    ):
        push_image(Aws.for_environment(config), "api", tag="t", runner=Recorder(), which=docker)


def test_cli_without_docker_is_one_line(aws_credentials, env_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker binary anywhere on PATH
    result = cli.invoke(
        app, ["push", "--env-file", str(env_file), "--service", "api", "--tag", "t"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == ["error: docker not found: install Docker with buildx (or run push on a"
                     " machine that has it)"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "error: --service is required: environment 'demo' has web, api"),
        (["--service", "db"], "error: --service 'db': environment 'demo' has web, api"),
    ],
)
def test_cli_service_missing_or_unknown_is_one_line(aws_credentials, env_file, args, line):
    result = cli.invoke(app, ["push", "--env-file", str(env_file), "--tag", "t", *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [line]


def test_cli_one_service_needs_no_service_option(
    aws_credentials, one_service_env_file, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # stops at docker: --service was not asked for
    result = cli.invoke(app, ["push", "--env-file", str(one_service_env_file), "--tag", "t"])
    assert result.exit_code == 2 and "docker not found" in result.output


def test_cli_refuses_placeholders(aws_credentials) -> None:
    result = cli.invoke(app, ["push", "--env", "demo", "--service", "web", "--tag", "t"])
    assert result.exit_code == 2 and "demo placeholder in account" in result.output
