"""deploy: placeholders, credentials and image checks first; the cdk command line, never run."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.config import ConfigError
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.deploy import run_deploy
from tests.ops.conftest import ONE_SERVICE, REGION, real_config

cli = CliRunner()

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_TYPE, "layers": []})


class Recorder:
    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.calls: list[tuple[list[str], Path | None]] = []

    def __call__(
        self, cmd: list[str], *, stdin: bytes | None = None, cwd: Path | None = None
    ) -> int:
        self.calls.append((cmd, cwd))
        return self.code


def npx(_: str) -> str:
    return "/usr/bin/npx"


def push(config, service: str, tag: str) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    repository = config.repository_name(service)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    ecr.put_image(
        repositoryName=repository,
        imageManifest=MANIFEST,
        imageManifestMediaType=MEDIA_TYPE,
        imageTag=tag,
    )


def deploy(config, tmp_path, cdk_bin, **kwargs) -> tuple[int, list[str], Path]:
    """run_deploy with the cdk call recorded; (exit code, cdk command, --out)."""
    runner = Recorder(code=kwargs.pop("code", 0))
    out = tmp_path / "cdk.out"
    kwargs.setdefault("image_tag", None)
    rc = run_deploy(Aws.for_environment(config), outdir=out, runner=runner, which=npx,
                    cdk_bin=cdk_bin, validation=False, **kwargs)  # fmt: skip
    ((cmd, _cwd),) = runner.calls
    return rc, cmd, out


def targets(cmd: list[str]) -> list[str]:
    """What follows `--app <dir>` up to --require-approval: the stacks and --all/--exclusively."""
    return cmd[cmd.index("--app") + 2 : cmd.index("--require-approval")]


def test_synthesizes_then_hands_the_assembly_to_pinned_cdk(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    push(config, "web", "initial")
    push(config, "api", "initial")
    rc, cmd, out = deploy(config, tmp_path, cdk_bin, code=3)
    assert rc == 3  # cdk's exit code is ours
    assert cmd == [
        "npx", "--no-install", "cdk", "deploy", "--app", str(out.resolve()), "--all",
        "--require-approval", "never", "--progress", "events",
        "--outputs-file", str(out.resolve() / "outputs.json"),
    ]  # fmt: skip
    assert (out / "manifest.json").is_file()


def test_service_deploys_its_stack_after_the_shared_ones_it_needs(moto, tmp_path, cdk_bin):
    config = real_config()
    push(config, "api", "abc123")  # web has no image: not deployed, not checked
    _, cmd, out = deploy(config, tmp_path, cdk_bin, service="api", image_tag="abc123")
    assert targets(cmd) == [
        "demo-network", "demo-registry", "demo-platform", "demo-alerts", "demo-service-api",
        "--exclusively",
    ]  # fmt: skip
    # the --image-tag override reached api's stack, and only api's
    assert "abc123" in (out / "demo-service-api.template.json").read_text()
    assert "abc123" not in (out / "demo-service-web.template.json").read_text()


def test_one_service_needs_no_service_option(moto, tmp_path, cdk_bin) -> None:
    config = real_config(ONE_SERVICE)
    push(config, "web", "t1")
    _, cmd, out = deploy(config, tmp_path, cdk_bin, image_tag="t1")
    assert targets(cmd) == ["--all"]
    assert "t1" in (out / "demo-service-web.template.json").read_text()


def test_image_tag_with_several_services_needs_the_service(moto, tmp_path, cdk_bin) -> None:
    aws = Aws.for_environment(real_config())
    with pytest.raises(UserError, match=r"^--image-tag sets one service's image: add --service"):
        run_deploy(aws, image_tag="t1", outdir=tmp_path, which=npx, cdk_bin=cdk_bin)


def test_every_deployed_service_needs_its_image(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    push(config, "web", "initial")
    aws = Aws.for_environment(config)
    kwargs = {"outdir": tmp_path / "o", "runner": Recorder(), "which": npx, "cdk_bin": cdk_bin}
    with pytest.raises(UserError, match="repository demo/api of service api does not exist yet"):
        run_deploy(aws, image_tag=None, **kwargs)
    push(config, "api", "other")
    with pytest.raises(
        UserError,
        match=r"^image demo/api:initial of service api is not in ECR: run `fargate-env push"
        r" --env demo --service api` and deploy with --service api --image-tag",
    ):
        run_deploy(aws, image_tag=None, **kwargs)
    assert kwargs["runner"].calls == []


def test_a_uri_service_is_not_checked_in_ecr_and_takes_no_image_tag(moto, tmp_path, cdk_bin):
    nginx = {"image": {"build": None, "uri": "nginx:1.27"}, "image_tag": None}
    config = real_config({"services": {"api": nginx}})
    push(config, "web", "initial")  # api has no repository at all: nothing to check
    rc, cmd, out = deploy(config, tmp_path, cdk_bin)
    assert rc == 0 and targets(cmd) == ["--all"]
    assert '"Image": "nginx:1.27"' in (out / "demo-service-api.template.json").read_text()
    with pytest.raises(UserError, match=r"^--image-tag: service api runs image.uri nginx:1.27;"):
        deploy(config, tmp_path, cdk_bin, service="api", image_tag="t2")


def test_only_registry_skips_the_image_check(moto, tmp_path, cdk_bin) -> None:
    runner = Recorder()
    aws = Aws.for_environment(real_config())
    out = tmp_path / "o"
    run_deploy(aws, image_tag=None, outdir=out, only="registry", runner=runner, which=npx,
               cdk_bin=cdk_bin, validation=False)  # fmt: skip
    cmd = runner.calls[0][0]
    assert targets(cmd) == ["demo-registry", "--exclusively"]


def test_missing_repository_names_the_first_steps(moto, tmp_path, cdk_bin) -> None:
    aws = Aws.for_environment(real_config())
    kwargs = {"outdir": tmp_path / "o", "runner": Recorder(), "which": npx, "cdk_bin": cdk_bin}
    with pytest.raises(
        UserError,
        match=r"repository demo/web of service web does not exist yet: run `fargate-env deploy"
        r" --env demo --only registry`, then `fargate-env push --env demo --service web`$",
    ):
        run_deploy(aws, image_tag=None, **kwargs)
    assert kwargs["runner"].calls == []


def test_bad_image_tag_service_and_stack_part(moto, tmp_path, cdk_bin) -> None:
    aws = Aws.for_environment(real_config())
    kwargs = {"outdir": tmp_path, "which": npx, "cdk_bin": cdk_bin}
    with pytest.raises(ConfigError, match=r"--image-tag: services\.api\.image_tag"):
        run_deploy(aws, image_tag="bad tag!", service="api", **kwargs)
    with pytest.raises(UserError, match="--only must be one of network, registry, platform,"):
        run_deploy(aws, image_tag=None, only="db", **kwargs)
    with pytest.raises(UserError, match=r"--only must be one of .*; a service's stack: --service"):
        run_deploy(aws, image_tag=None, only="service", **kwargs)
    with pytest.raises(UserError, match="--only registry and --service api: pick one"):
        run_deploy(aws, image_tag=None, only="registry", service="api", **kwargs)
    with pytest.raises(ConfigError, match="--service 'db': environment 'demo' has web, api"):
        run_deploy(aws, image_tag=None, service="db", **kwargs)


def test_missing_cdk_cli(moto, tmp_path) -> None:
    aws = Aws.for_environment(real_config())
    with pytest.raises(UserError, match="run `npm ci`"):
        run_deploy(aws, image_tag=None, outdir=tmp_path, which=npx, cdk_bin=tmp_path / "nope")
    with pytest.raises(UserError, match="npx not found"):
        run_deploy(aws, image_tag=None, outdir=tmp_path, which=lambda _: None)


def test_cli_unknown_service_is_one_line_exit_2(aws_credentials, env_file, tmp_path) -> None:
    args = ["deploy", "--env-file", str(env_file), "--service", "db", "--out", str(tmp_path / "o")]
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --service 'db': environment 'demo' has web, api"
    ]


def test_cli_refuses_placeholders(aws_credentials) -> None:
    result = cli.invoke(app, ["deploy", "--env", "demo"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: environment 'demo' still holds a demo placeholder in account (and 2 more): set"
        " your own value in its environments/*.toml before using AWS"
    ]


def test_cli_no_credentials(no_credentials, env_file, tmp_path) -> None:
    result = cli.invoke(app, ["deploy", "--env-file", str(env_file), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: no AWS credentials found: set AWS_PROFILE (then `aws sso login` if it is an SSO"
        " profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]
    assert not (tmp_path / "o").exists()  # nothing half-written
