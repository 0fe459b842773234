"""`deploy`: check credentials, synthesize, hand the assembly to the pinned CDK CLI.

Flags given to `cdk deploy`, and why:
  --app <outdir>          deploy exactly what we synthesized (and checked), not a re-synth
  --all / <stack>         every stack in dependency order, or `--only registry` for the first push
  --require-approval never  the security review is `fargate-env check` (cdk-nag) before this;
                          an approval prompt would hang a non-interactive run
  --progress events       one line per resource event: readable in CI logs and terminals
  --outputs-file          the stack outputs on disk for the next steps
npx --no-install: use node_modules' pinned aws-cdk, never fetch another version.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions

from fargate_env import outputs
from fargate_env.app import PROJECT_ROOT
from fargate_env.config import EnvironmentConfig, parse_config
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, refuse_placeholders
from fargate_env.ops.runner import Runner, run
from fargate_env.synth import synthesize

Which = Callable[[str], str | None]


def with_image_tag(config: EnvironmentConfig, tag: str | None) -> EnvironmentConfig:
    if tag is None:
        return config
    data = config.model_dump()
    data["service"]["image_tag"] = tag
    return parse_config(data, "--image-tag")


def cdk_command(config: EnvironmentConfig, outdir: Path, only: str | None) -> list[str]:
    targets = [config.stack_name(only), "--exclusively"] if only else ["--all"]
    return [
        "npx", "--no-install", "cdk", "deploy",
        "--app", str(outdir),
        *targets,
        "--require-approval", "never",
        "--progress", "events",
        "--outputs-file", str(outdir / "outputs.json"),
    ]  # fmt: skip


def ensure_image(aws: Aws, config: EnvironmentConfig) -> None:
    """The service stack waits hours for tasks whose image is missing: check before deploying."""
    repo, tag = config.repository_name, config.service.image_tag
    try:
        aws.client("ecr").describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])
    except botocore.exceptions.ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "RepositoryNotFoundException":
            raise UserError(
                f"repository {repo} does not exist yet: run `fargate-env deploy --env"
                f" {config.name} --only registry`, then `fargate-env push --env {config.name}`"
            ) from None
        if code == "ImageNotFoundException":
            raise UserError(
                f"image {repo}:{tag} is not in ECR: run `fargate-env push --env {config.name}`"
                " and deploy with --image-tag set to the pushed tag"
            ) from None
        raise aws_error(exc, "ECR DescribeImages") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error(exc, "ECR DescribeImages") from None


def run_deploy(
    aws: Aws,
    *,
    image_tag: str | None,
    outdir: Path,
    only: str | None = None,
    runner: Runner = run,
    which: Which = shutil.which,
    validation: bool = True,
    cdk_bin: Path = PROJECT_ROOT / "node_modules" / ".bin" / "cdk",
    progress: Callable[[str], None] = lambda _: None,
) -> int:
    """Returns cdk's exit code."""
    config = with_image_tag(aws.config, image_tag)
    refuse_placeholders(config)
    if only is not None and only not in outputs.STACK_PARTS:
        raise UserError(f"--only must be one of {', '.join(outputs.STACK_PARTS)} (got {only!r})")
    if which("npx") is None:
        raise UserError("npx not found: install Node.js 20 (with npm), then run `npm ci`")
    if not cdk_bin.exists():
        raise UserError("the pinned CDK CLI is not installed: run `npm ci` in the project root")
    progress("checking AWS credentials")
    caller = aws.check_credentials()
    progress(f"deploying as {caller}")
    if only != outputs.REGISTRY:
        ensure_image(aws, config)
    outdir = outdir.resolve()
    progress("synthesizing")
    synthesize(config, outdir, validation=validation)
    return runner(cdk_command(config, outdir, only), cwd=PROJECT_ROOT)
