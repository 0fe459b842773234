"""`deploy`: check credentials, synthesize, hand the assembly to the pinned CDK CLI.

Flags given to `cdk deploy`, and why:
  --app <outdir>          deploy exactly what we synthesized (and checked), not a re-synth
  --all                   every stack in dependency order (no --service, no --only)
  <stacks> --exclusively  `--service NAME`: the shared stacks it depends on (network, registry,
                          platform, alerts; cdk skips the unchanged ones) and that service's
                          stack, nothing else; `--only PART`: that one shared stack (registry
                          before the first push). The monitoring stack (dashboard rows of a new
                          service) follows on the next deploy without --service.
  --require-approval never  the security review is `fargate-env check` (cdk-nag) before this;
                          an approval prompt would hang a non-interactive run
  --progress events       one line per resource event: readable in CI logs and terminals
  --outputs-file          the stack outputs on disk for the next steps
npx --no-install: use node_modules' pinned aws-cdk, never fetch another version.

Before cdk runs: each deployed service is kept on the image tag it runs (ops.status), the
plan against the deployed stacks is reported (ops.plan), and orphans are refused or, with
--prune, deleted first (ops.orphans).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions

from fargate_env import outputs
from fargate_env.config import EnvironmentConfig, parse_config, select_service
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, refuse_placeholders
from fargate_env.ops.orphans import prune as prune_orphans
from fargate_env.ops.orphans import refuse_unsafe
from fargate_env.ops.plan import Plan, deployed_stacks, make_plan, orphan_prices
from fargate_env.ops.runner import Runner, run
from fargate_env.ops.status import keep_running_tags
from fargate_env.paths import CDK_BIN, PROJECT_ROOT

Which = Callable[[str], str | None]


# The shared stacks a service stack depends on: those deployed before any service stack.
SERVICE_DEPENDENCIES = outputs.SHARED_PARTS[: outputs.SHARED_PARTS.index(outputs.ALERTS) + 1]


def with_image_tag(
    config: EnvironmentConfig, service: str | None, tag: str | None
) -> EnvironmentConfig:
    """`--image-tag` sets one service's image: `service`'s, or the only service's."""
    if tag is None:
        return config
    if service is None and len(config.services) > 1:
        raise UserError(
            f"--image-tag sets one service's image: add --service NAME (environment"
            f" {config.name!r} has {', '.join(config.services)})"
        )
    name, svc = select_service(config, service)
    if not svc.builds_image:
        assert svc.image is not None
        raise UserError(
            f"--image-tag: service {name} runs image.uri {svc.image.uri}; change image.uri"
            " in the environment file instead"
        )
    data = config.model_dump()
    data["services"][name]["image_tag"] = tag
    return parse_config(data, "--image-tag")


def stack_targets(config: EnvironmentConfig, only: str | None, service: str | None) -> list[str]:
    """What `cdk deploy` is given after --app: see the module docstring."""
    if only:
        return [config.stack_name(only), "--exclusively"]
    if service:
        shared = [config.stack_name(part) for part in SERVICE_DEPENDENCIES]
        return [*shared, config.service_stack_name(service), "--exclusively"]
    return ["--all"]


def cdk_command(
    config: EnvironmentConfig, outdir: Path, only: str | None, service: str | None = None
) -> list[str]:
    return cdk_deploy(outdir, stack_targets(config, only, service))


def cdk_deploy(outdir: Path, targets: list[str]) -> list[str]:
    """`cdk deploy` of `targets` from the assembly in `outdir` (flags: the module docstring)."""
    return [
        "npx", "--no-install", "cdk", "deploy",
        "--app", str(outdir),
        *targets,
        "--require-approval", "never",
        "--progress", "events",
        "--outputs-file", str(outdir / "outputs.json"),
    ]  # fmt: skip


def ensure_image(aws: Aws, config: EnvironmentConfig, service: str) -> None:
    """The service stack waits hours for tasks whose image is missing: check before deploying."""
    repo, tag = config.repository_name(service), config.services[service].image_tag
    push = f"`fargate-env push --env {config.name} --service {service}`"
    try:
        aws.client("ecr").describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])
    except botocore.exceptions.ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "RepositoryNotFoundException":
            raise UserError(
                f"repository {repo} of service {service} does not exist yet: run `fargate-env"
                f" deploy --env {config.name} --only registry`, then {push}"
            ) from None
        if code == "ImageNotFoundException":
            raise UserError(
                f"image {repo}:{tag} of service {service} is not in ECR: run {push} and deploy"
                f" with --service {service} --image-tag set to the pushed tag"
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
    service: str | None = None,
    runner: Runner = run,
    which: Which = shutil.which,
    validation: bool = True,
    cdk_bin: Path = CDK_BIN,
    progress: Callable[[str], None] = lambda _: None,
    prune: bool = False,
    report: Callable[[Plan], None] = lambda _: None,
    **waiting: object,
) -> int:
    """`service`: deploy only that service (None: every stack); returns cdk's exit code.

    Every deployed service stays on the image tag it runs (ECS), but the one `--image-tag`
    sets; the plan against what is deployed is `report`ed before anything changes; orphans
    are refused, or deleted first with `prune` (ops.orphans)."""
    if only is not None and service is not None:
        raise UserError(
            f"--only {only} and --service {service}: pick one (--only names a shared stack)"
        )
    if only is not None and only not in outputs.SHARED_PARTS:
        raise UserError(
            f"--only must be one of {', '.join(outputs.SHARED_PARTS)} (got {only!r});"
            " a service's stack: --service NAME"
        )
    if service is not None:
        service, _ = select_service(aws.config, service)
    with_image_tag(aws.config, service, image_tag)  # --image-tag needs one service: ask first
    refuse_placeholders(aws.config)
    if which("npx") is None:
        raise UserError("npx not found: install Node.js 20 (with npm), then run `npm ci`")
    if not cdk_bin.exists():
        raise UserError("the pinned CDK CLI is not installed: run `npm ci` in the project root")
    progress("checking AWS credentials")
    caller = aws.check_credentials()
    progress(f"deploying as {caller}")
    tagged = select_service(aws.config, service)[0] if image_tag else None
    config, kept = keep_running_tags(aws, aws.config, except_service=tagged)
    for k in kept:
        progress(f"{k.service} stays on image tag {k.tag}, the one it runs (the file says"
                 f" {k.file_tag}; --image-tag changes it)")  # fmt: skip
    config = with_image_tag(config, service, image_tag)
    if only is None:
        for name in [service] if service else config.services:
            if config.services[name].builds_image:  # an image.uri is not in our ECR
                ensure_image(aws, config, name)
    outdir = outdir.resolve()
    progress("synthesizing")
    from fargate_env.synth import synthesize  # the CDK app: loaded only to synthesize

    new = synthesize(config, outdir, validation=validation)
    progress("comparing with the deployed stacks")
    old = deployed_stacks(aws)
    targets = stack_targets(config, only, service)
    plan = make_plan(
        config.name,
        new,
        old,
        price=orphan_prices(config, aws.region, new, old),
        targets=None if "--all" in targets else {t for t in targets if not t.startswith("--")},
    )
    report(plan)
    refuse_unsafe(plan, prune=prune, env=config.name)
    prune_orphans(aws, plan, outdir, runner=runner, cdk_deploy=cdk_deploy, progress=progress,
                  **waiting)  # fmt: skip
    return runner(cdk_command(config, outdir, only, service), cwd=PROJECT_ROOT)
