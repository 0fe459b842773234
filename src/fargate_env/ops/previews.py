"""`preview up | list | extend | down` against a deployed environment.

A preview is found again by its stack's tags (fargate_env.preview_spec); its expiry is its
EventBridge Scheduler schedule (named like its stack), which `extend` moves in place. The
template still holds the first expiry: CloudFormation reports that one resource as drifted,
and a later `preview up` writes a new expiry from its --ttl.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import botocore.exceptions

from fargate_env import outputs
from fargate_env.assembly import Environment, Stack
from fargate_env.cost.estimate import estimate
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, call, deployed_template, refuse_placeholders
from fargate_env.ops.deploy import cdk_deploy, ensure_image, with_image_tag
from fargate_env.ops.destroy import Outcome, Plan, Stage, delete_stages, our_stacks
from fargate_env.ops.runner import Runner, run
from fargate_env.paths import CDK_BIN, PROJECT_ROOT
from fargate_env.preview_spec import (
    Preview,
    at_expression,
    check_name,
    check_ttl,
    new_preview,
    parse_at_expression,
    require_previews,
)

# What UpdateSchedule would otherwise reset (it replaces the whole schedule).
CARRIED_OVER = (
    "GroupName", "Description", "FlexibleTimeWindow", "Target", "State", "KmsKeyArn",
    "StartDate", "EndDate", "ActionAfterCompletion",
)  # fmt: skip


@dataclass
class Deployed:
    preview: Preview
    stack: str
    status: str
    expires: datetime
    monthly_usd: float | None = None


def deployed_previews(aws: Aws, *, priced: bool = False) -> list[Deployed]:
    """Every preview stack of the environment, by its tags; `priced`: its deployed template
    priced with the cost model."""
    found = []
    for stack, live in our_stacks(aws).items():
        preview = Preview.from_tags(live.tags)
        if preview is None:
            continue
        expires = _schedule_expiry(aws, stack) or preview.expires
        item = Deployed(preview, stack, live.status, expires)
        if priced:
            item.monthly_usd = _monthly(aws, stack)
        found.append(item)
    return sorted(found, key=lambda d: d.preview.created)


def _schedule_expiry(aws: Aws, name: str) -> datetime | None:
    try:
        schedule = aws.client("scheduler").get_schedule(Name=name)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise aws_error(exc, f"Scheduler GetSchedule {name}") from None
    return parse_at_expression(schedule.get("ScheduleExpression", ""))


def _monthly(aws: Aws, stack: str) -> float:
    deployed = Environment([Stack.from_template(stack, deployed_template(aws, stack))], aws.region)
    return estimate(deployed, aws.region, aws.config.cost.usage).exact_total


def find(aws: Aws, name: str) -> Deployed:
    check_name(name)
    previews = deployed_previews(aws)
    for item in previews:
        if item.preview.name == name:
            return item
    names = ", ".join(p.preview.name for p in previews) or "none"
    raise UserError(
        f"no preview {name!r} in environment {aws.config.name!r} ({aws.region}); previews: {names}"
    )


def free_priority(aws: Aws, existing: list[Deployed], name: str) -> int:
    """The preview's listener-rule priority: its own when it exists, else the lowest free one
    in 1..previews.max_active; more previews than that is a user error."""
    limit = aws.config.previews.max_active
    for item in existing:
        if item.preview.name == name:
            return item.preview.priority
    if len(existing) >= limit:
        names = ", ".join(p.preview.name for p in existing)
        raise UserError(
            f"{len(existing)} previews exist ({names}): previews.max_active is {limit};"
            " run `fargate-env preview down NAME` first"
        )
    taken = {item.preview.priority for item in existing}
    return next(p for p in range(1, limit + 1) if p not in taken)


def preview_up(
    aws: Aws,
    name: str,
    *,
    service: str | None,
    image_tag: str | None,
    ttl: str | None,
    outdir: Path,
    now: datetime,
    runner: Runner = run,
    which: Callable[[str], str | None] = shutil.which,
    cdk_bin: Path = CDK_BIN,
    validation: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[Preview, int]:
    """Validate, check the image, synthesize with the preview, `cdk deploy` the stacks it
    needs (network, registry, platform, previews) and its own; returns cdk's exit code."""
    config = aws.config
    new_preview(config, name, service=service, image_tag=image_tag, ttl=ttl, now=now)
    refuse_placeholders(config)
    if which("npx") is None:
        raise UserError("npx not found: install Node.js 20 (with npm), then run `npm ci`")
    if not cdk_bin.exists():
        raise UserError("the pinned CDK CLI is not installed: run `npm ci` in the project root")
    progress(f"checking AWS credentials ({aws.check_credentials()})")
    existing = deployed_previews(aws)
    mine = next((d for d in existing if d.preview.name == name), None)
    preview = new_preview(
        config, name, service=service, image_tag=image_tag, ttl=ttl, now=now,
        priority=free_priority(aws, existing, name),
        created=mine.preview.created if mine else None,
    )  # fmt: skip
    if mine and mine.preview.service != preview.service:
        raise UserError(
            f"preview {name!r} runs service {mine.preview.service!r}; `preview down {name}`"
            " first to reuse the name for another service"
        )
    ensure_image(aws, with_image_tag(config, preview.service, preview.image_tag), preview.service)
    outdir = outdir.resolve()
    progress("synthesizing")
    from fargate_env.synth import synthesize  # the CDK app: loaded only to synthesize

    synthesize(config, outdir, validation=validation, previews=[preview])
    parts = (outputs.NETWORK, outputs.REGISTRY, outputs.PLATFORM, outputs.PREVIEWS)
    stacks = [config.stack_name(p) for p in parts] + [config.preview_stack_name(name)]
    return preview, runner(cdk_deploy(outdir, [*stacks, "--exclusively"]), cwd=PROJECT_ROOT)


def preview_extend(aws: Aws, name: str, ttl: str, *, now: datetime) -> datetime:
    """Move the preview's one-time schedule to now + ttl; returns the new expiry."""
    require_previews(aws.config)
    check_name(name)
    lifetime = check_ttl(aws.config, ttl)
    item = find(aws, name)
    scheduler = aws.client("scheduler")
    try:
        current = scheduler.get_schedule(Name=item.stack)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            raise UserError(
                f"preview {name!r} has no expiry schedule any more (status {item.status}):"
                " it is being deleted"
            ) from None
        raise aws_error(exc, f"Scheduler GetSchedule {item.stack}") from None
    expires = now + lifetime
    # UpdateSchedule replaces the whole schedule: carry every setting over.
    update = {key: current[key] for key in CARRIED_OVER if current.get(key) is not None}
    call(
        scheduler.update_schedule,
        what=f"Scheduler UpdateSchedule {item.stack}",
        Name=item.stack,
        ScheduleExpression=at_expression(expires),
        ScheduleExpressionTimezone="UTC",
        **update,
    )
    return expires


def preview_down(
    aws: Aws, name: str, *, progress: Callable[[str], None] = lambda _: None, **kwargs
) -> Outcome:
    """Delete one preview's stack now (it must be one of this environment's previews)."""
    item = find(aws, name)
    return delete_stages(aws, Plan([Stage("preview", [item.stack])]), progress=progress, **kwargs)
