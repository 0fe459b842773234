"""deploy: placeholders, credentials and image checks first; the cdk command line, never run."""

from __future__ import annotations

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
from tests.ops.conftest import REGION, real_config

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


@pytest.fixture
def cdk_bin(tmp_path: Path) -> Path:
    path = tmp_path / "node_modules" / ".bin" / "cdk"
    path.parent.mkdir(parents=True)
    path.write_text("")
    return path


def push(config, tag: str) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=config.repository_name)
    ecr.put_image(
        repositoryName=config.repository_name,
        imageManifest=MANIFEST,
        imageManifestMediaType=MEDIA_TYPE,
        imageTag=tag,
    )


def test_synthesizes_then_hands_the_assembly_to_pinned_cdk(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    push(config, "abc123")
    runner = Recorder(code=3)
    out = tmp_path / "cdk.out"
    rc = run_deploy(Aws.for_environment(config), image_tag="abc123", outdir=out, runner=runner,
                    which=npx, cdk_bin=cdk_bin, validation=False)  # fmt: skip
    assert rc == 3  # cdk's exit code is ours
    ((cmd, _cwd),) = runner.calls
    assert cmd == [
        "npx", "--no-install", "cdk", "deploy", "--app", str(out.resolve()), "--all",
        "--require-approval", "never", "--progress", "events",
        "--outputs-file", str(out.resolve() / "outputs.json"),
    ]  # fmt: skip
    assert (out / "manifest.json").is_file()
    # the --image-tag override reached the synthesized service
    assert "abc123" in "".join(p.read_text() for p in out.glob("*.template.json"))


def test_only_registry_skips_the_image_check(moto, tmp_path, cdk_bin) -> None:
    runner = Recorder()
    aws = Aws.for_environment(real_config())
    out = tmp_path / "o"
    run_deploy(aws, image_tag=None, outdir=out, only="registry", runner=runner, which=npx,
               cdk_bin=cdk_bin, validation=False)  # fmt: skip
    cmd = runner.calls[0][0]
    assert cmd[cmd.index("--app") + 2 : cmd.index("--app") + 4] == [
        "demo-registry",
        "--exclusively",
    ]


def test_missing_repository_and_image(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    aws = Aws.for_environment(config)
    kwargs = {"outdir": tmp_path / "o", "runner": Recorder(), "which": npx, "cdk_bin": cdk_bin}
    with pytest.raises(UserError, match="--only registry`, then `fargate-env push"):
        run_deploy(aws, image_tag=None, **kwargs)
    push(config, "other")
    with pytest.raises(UserError, match="image demo/sample-server:initial is not in ECR"):
        run_deploy(aws, image_tag=None, **kwargs)
    assert kwargs["runner"].calls == []


def test_bad_image_tag_and_stack_part(moto, tmp_path, cdk_bin) -> None:
    aws = Aws.for_environment(real_config())
    with pytest.raises(ConfigError, match=r"--image-tag: service\.image_tag"):
        run_deploy(aws, image_tag="bad tag!", outdir=tmp_path, which=npx, cdk_bin=cdk_bin)
    with pytest.raises(UserError, match="--only must be one of"):
        run_deploy(aws, image_tag=None, outdir=tmp_path, only="db", which=npx, cdk_bin=cdk_bin)


def test_missing_cdk_cli(moto, tmp_path) -> None:
    aws = Aws.for_environment(real_config())
    with pytest.raises(UserError, match="run `npm ci`"):
        run_deploy(aws, image_tag=None, outdir=tmp_path, which=npx, cdk_bin=tmp_path / "nope")
    with pytest.raises(UserError, match="npx not found"):
        run_deploy(aws, image_tag=None, outdir=tmp_path, which=lambda _: None)


def test_cli_refuses_placeholders(aws_credentials) -> None:
    result = cli.invoke(app, ["deploy", "--env", "demo"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: environment 'demo' still holds a demo placeholder in account (and 1 more): set"
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
