"""push: command construction and ECR login against moto; the engine's answers (platforms,
builder) are mocked here, docker is never run (tests/ops/test_image_build.py builds for real)."""

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
from fargate_env.ops import images
from fargate_env.ops.aws import Aws
from fargate_env.ops.images import emulated, engine_platforms, git_tag, push_image
from fargate_env.ops.runner import CommandFailed
from tests.ops.conftest import ONE_SERVICE, REGION, create_stack, real_config, write_env_file

cli = CliRunner()

REAL_CAPTURE = images.capture
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


def fake_engine(native: str = "linux/amd64", buildx: str | None = "linux/amd64, linux/arm64"):
    """A probe answering like an engine: its own platform, and buildx's list (None: no buildx)."""

    def probe(cmd: list[str]) -> tuple[int, str]:
        line = " ".join(cmd[1:])
        if line.startswith("version"):
            return 0, native + "\n"
        if line.startswith("buildx"):
            if buildx is None:
                return 1, ""
            return 0, f"Name: default\nPlatforms: {buildx}\n" if "inspect" in line else "v0\n"
        return 1, ""

    return probe


@pytest.fixture(autouse=True)
def engine_with_buildx(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unless a test says otherwise, the engine has buildx and builds both platforms."""
    monkeypatch.setattr(images, "capture", fake_engine())


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
    login, stdin = runner.calls[1]
    token = boto3.client("ecr", region_name=REGION).get_authorization_token()
    user, _, password = base64.b64decode(
        token["authorizationData"][0]["authorizationToken"]
    ).decode().partition(":")  # fmt: skip
    assert login == ["/usr/bin/docker", "login", "--username", user, "--password-stdin",
                     "123456789012.dkr.ecr.us-east-1.amazonaws.com"]  # fmt: skip
    assert stdin == password.encode() and password not in " ".join(login)
    build = commands[2]
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


def test_legacy_builder_builds_for_the_platform_then_pushes(moto) -> None:
    """No buildx (the docker CLI here has none): `docker build --platform`, then `docker push`."""
    config = real_config({"services": {"api": {"architecture": "arm64"}}})
    uri = registry(config)["api"]
    runner = Recorder()
    engine = fake_engine(native="linux/arm64", buildx=None)
    image = push_image(
        Aws.for_environment(config), "api", tag="t2", runner=runner, which=docker, probe=engine
    )
    build, push = (cmd for cmd, _ in runner.calls[-2:])
    assert build[:2] == ["/usr/bin/docker", "build"]
    assert build[build.index("--platform") + 1] == "linux/arm64"
    assert build[build.index("--tag") + 1] == image == f"{uri}:t2"
    assert push == ["/usr/bin/docker", "push", image]


def test_engine_that_cannot_build_the_platform_is_refused_before_aws(moto) -> None:
    config = real_config({"services": {"api": {"architecture": "arm64"}}})
    runner = Recorder()
    engine = fake_engine(buildx=None)  # no buildx; binfmt_misc decides, and has no QEMU here
    with pytest.raises(UserError) as info:
        push_image(
            Aws.for_environment(config), "api", tag="t", runner=runner, which=docker, probe=engine
        )
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith("services.api.architecture: this Docker engine builds")
    assert "not linux/arm64" in line and "tonistiigi/binfmt --install arm64" in line
    assert [cmd[1] for cmd, _ in runner.calls] == ["info"]  # no login, no build


def test_buildx_platform_list_and_binfmt_emulators(tmp_path: Path) -> None:
    buildx = engine_platforms("docker", fake_engine(buildx="linux/amd64*, linux/arm64, linux/386"))
    assert buildx.builder == "buildx"
    assert buildx.platforms == {"linux/amd64", "linux/arm64", "linux/386"}
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/bin/qemu-aarch64-static\n")
    (tmp_path / "qemu-x86_64").write_text("disabled\n")
    assert emulated(tmp_path) == {"linux/arm64"}
    legacy = engine_platforms("docker", fake_engine(buildx=None), local=True, binfmt=tmp_path)
    assert (legacy.builder, legacy.platforms) == ("legacy", {"linux/amd64", "linux/arm64"})
    remote = engine_platforms("docker", fake_engine(buildx=None), local=False, binfmt=tmp_path)
    assert remote.platforms == {"linux/amd64"}  # a remote engine's kernel is not this one


def test_cli_refuses_an_unbuildable_platform_in_one_line(
    aws_credentials, tmp_path, monkeypatch
) -> None:
    """A docker on PATH whose engine builds linux/amd64 only and has no buildx."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1" in info) exit 0;; version) echo linux/amd64; exit 0;; *) exit 1;; esac\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")  # remote: no binfmt_misc read
    monkeypatch.setattr(images, "capture", REAL_CAPTURE)  # ask the fake docker above
    env_file = write_env_file(
        tmp_path / "arm.toml", {"services": {"api": None, "web": {"architecture": "arm64"}}}
    )
    result = cli.invoke(app, ["push", "--env-file", str(env_file), "--tag", "t"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: services.web.architecture: this Docker engine builds")
    assert "linux/amd64, not linux/arm64" in line
