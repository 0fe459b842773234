"""`destroy` and `preview down`: delete the environment's stacks in dependency order, and say
what stays behind.

Only stacks that carry this environment's tags (`environment`, `managed-by: fargate-env`) are
ever deleted: a command never deletes what it did not create. Order (each stage waits for the
one before; stacks within a stage are deleted together):

  1. previews          each imports the platform, network and registry
  2. <env>-previews    the wildcard certificate and record
  3. <env>-monitoring  imports every service stack
  4. <env>-service-*   import the platform, network and registry
  5. platform, alerts, registry
  6. network           the platform imports the VPC

What stays is read from the deployed templates' DeletionPolicy, not from the config: a retained
ECR repository keeps its images, a retained access-log bucket its logs, each priced per month
with the cost model's price table. An access-log bucket whose policy is Delete is emptied with
boto3 right before its stack is deleted (CloudFormation cannot delete a bucket with objects);
ECR repositories use CloudFormation's EmptyOnDelete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import botocore.exceptions

from fargate_env import outputs
from fargate_env.assembly import Resource, Stack
from fargate_env.config import COST_TAG, service_of_stack
from fargate_env.config.limits import KEEPING_POLICIES
from fargate_env.cost.prices import PriceTable
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, aws_error, call, deployed_template
from fargate_env.preview_spec import TAG_PREVIEW, TAG_SERVICE

GB = 1024**3
MANAGED_BY = ("managed-by", "fargate-env")
# CloudFormation statuses of a stack that is gone.
GONE = {"DELETE_COMPLETE"}
RETAINED = set(KEEPING_POLICIES)


class DestroyFailed(UserError):
    """A delete failed after others succeeded: the report says what is gone and what is left."""

    exit_code = 1


@dataclass
class Stage:
    label: str
    stacks: list[str]


@dataclass
class Leftover:
    kind: str  # "ECR repository", "S3 bucket"
    name: str
    stack: str
    size_gb: float
    monthly_usd: float


@dataclass
class Plan:
    stages: list[Stage]
    leftovers: list[Leftover] = field(default_factory=list)
    # Buckets emptied right before their stack is deleted (DeletionPolicy Delete).
    empty_first: dict[str, list[str]] = field(default_factory=dict)

    @property
    def stacks(self) -> list[str]:
        return [name for stage in self.stages for name in stage.stacks]


@dataclass
class Outcome:
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)
    emptied: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left


# --- what is deployed ---------------------------------------------------------------------


@dataclass
class Live:
    tags: dict[str, str]
    status: str


def our_stacks(aws: Aws) -> dict[str, Live]:
    """Every live stack of this environment that fargate-env created, by name."""
    cfn = aws.client("cloudformation")
    found: dict[str, Live] = {}
    try:
        for page in cfn.get_paginator("describe_stacks").paginate():
            for stack in page["Stacks"]:
                tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
                if stack["StackStatus"] in GONE:
                    continue
                if (
                    tags.get(COST_TAG) != aws.config.name
                    or tags.get(MANAGED_BY[0]) != (MANAGED_BY[1])
                ):
                    continue
                found[stack["StackName"]] = Live(tags, stack["StackStatus"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise aws_error(exc, "CloudFormation DescribeStacks") from None
    return found


def preview_stacks(stacks: dict[str, Live], service: str | None = None) -> list[str]:
    return [
        name
        for name, live in stacks.items()
        if TAG_PREVIEW in live.tags and (service is None or live.tags.get(TAG_SERVICE) == service)
    ]


def stages(aws: Aws, stacks: dict[str, Live], service: str | None) -> list[Stage]:
    """The deletion stages of what is deployed (empty stages dropped)."""
    config = aws.config
    if service is not None:
        own = config.service_stack_name(service)
        plan = [
            Stage("previews", preview_stacks(stacks, service)),
            Stage("service", [own] if own in stacks else []),
        ]
        return [s for s in plan if s.stacks]
    name = config.stack_name
    services = sorted(s for s in stacks if service_of_stack(s, config.name) is not None)
    plan = [
        Stage("previews", preview_stacks(stacks)),
        Stage("previews (shared)", [name(outputs.PREVIEWS)]),
        Stage("monitoring", [name(outputs.MONITORING)]),
        Stage("services", services),
        Stage("shared", [name(outputs.PLATFORM), name(outputs.ALERTS), name(outputs.REGISTRY)]),
        Stage("network", [name(outputs.NETWORK)]),
    ]
    present = [Stage(s.label, [n for n in s.stacks if n in stacks]) for s in plan]
    return [s for s in present if s.stacks]


def _physical_ids(aws: Aws, stack: str) -> dict[str, str]:
    """Logical id -> physical id. An entry naming neither (emulators answer so for resource
    types they skip) tells nothing: it is left out, and `_stays` reports the resource."""
    resources = call(
        aws.client("cloudformation").describe_stack_resources,
        what=f"CloudFormation DescribeStackResources {stack}",
        StackName=stack,
    ).get("StackResources", [])
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }


def _repository_gb(aws: Aws, name: str) -> float:
    ecr = aws.client("ecr")
    total = 0
    try:
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=name):
            total += sum(image.get("imageSizeInBytes", 0) for image in page["imageDetails"])
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
            return 0.0
        raise aws_error(exc, f"ECR DescribeImages {name}") from None
    return total / GB


def _bucket_gb(aws: Aws, bucket: str) -> float:
    s3 = aws.client("s3")
    total = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            total += sum(v.get("Size", 0) for v in page.get("Versions", []))
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return 0.0
        raise aws_error(exc, f"S3 ListObjectVersions {bucket}") from None
    return total / GB


STORAGE = {
    "AWS::ECR::Repository": ("ECR repository", "ecr_gb_month", _repository_gb),
    "AWS::S3::Bucket": ("S3 bucket", "s3_gb_month", _bucket_gb),
}
# The template property naming each storage type, when CloudFormation does not name it.
NAME_PROPERTY = {"AWS::ECR::Repository": "RepositoryName", "AWS::S3::Bucket": "BucketName"}


def _physical_name(resource: Resource, ids: dict[str, str]) -> str | None:
    """The deployed name: CloudFormation's answer, else the template's own literal name."""
    named = resource.get(NAME_PROPERTY[resource.type])
    return ids.get(resource.logical_id) or (named if isinstance(named, str) else None)


def plan_destroy(aws: Aws, service: str | None = None) -> Plan:
    """What `destroy` would delete, in order, and what would stay behind (with its price)."""
    stacks = our_stacks(aws)
    config = aws.config
    if service is not None:
        own = config.service_stack_name(service)
        if own not in stacks and not preview_stacks(stacks, service):
            deployed = sorted(
                name for s in stacks if (name := service_of_stack(s, config.name)) is not None
            )
            raise UserError(
                f"--service {service!r}: no stack {own} and no preview of it in {aws.region}"
                f" (deployed services: {', '.join(deployed) or 'none'})"
            )
        if own in stacks:
            refuse_imported(aws, own, set(preview_stacks(stacks, service)))
    plan = Plan(stages(aws, stacks, service))
    prices = PriceTable(aws.region)
    # Stacks whose storage decides what stays: the whole environment's registry and platform,
    # or, for one service, its repository in the registry (which stays deployed).
    registry = config.stack_name(outputs.REGISTRY)
    storage_stacks = [registry, config.stack_name(outputs.PLATFORM)] if service is None else []
    for stack in storage_stacks:
        if stack not in stacks:
            continue
        deployed_stack = Stack.from_template(stack, deployed_template(aws, stack))
        ids = _physical_ids(aws, stack)
        for logical_id, resource in deployed_stack.resources.items():
            if resource.type not in STORAGE:
                continue
            kind, price_key, measure = STORAGE[resource.type]
            physical = _physical_name(resource, ids)
            retained = resource.deletion_policy in RETAINED
            if physical is None:
                # Neither CloudFormation nor the template names it: say so, never guess.
                if retained:
                    unnamed = f"{logical_id} (name not reported by CloudFormation)"
                    plan.leftovers.append(Leftover(kind, unnamed, stack, 0.0, 0.0))
                continue
            if retained:
                gb = measure(aws, physical)
                usd = gb * prices.usd(price_key)
                plan.leftovers.append(Leftover(kind, physical, stack, gb, usd))
            elif resource.type == "AWS::S3::Bucket":
                plan.empty_first.setdefault(stack, []).append(physical)
    if service is not None and registry in stacks and service in config.services:
        repository = config.repository_name(service)
        gb = _repository_gb(aws, repository)
        usd = gb * prices.usd("ecr_gb_month")
        plan.leftovers.append(Leftover("ECR repository", repository, registry, gb, usd))
    return plan


def refuse_imported(aws: Aws, stack: str, deleting: set[str]) -> None:
    """A stack whose exports another stack imports cannot be deleted: say which, and the fix."""
    cfn = aws.client("cloudformation")
    described = call(
        cfn.describe_stacks, what=f"CloudFormation DescribeStacks {stack}", StackName=stack
    )["Stacks"][0]
    for output in described.get("Outputs", []):
        export = output.get("ExportName")
        if not export:
            continue
        try:
            importers = cfn.list_imports(ExportName=export).get("Imports", [])
        except botocore.exceptions.ClientError as exc:
            if "not imported" in str(exc):
                continue
            raise aws_error(exc, f"CloudFormation ListImports {export}") from None
        others = [name for name in importers if name not in deleting]
        if others:
            service = service_of_stack(stack, aws.config.name)
            raise UserError(
                f"{stack} cannot go yet: {others[0]} imports its outputs; remove"
                f" [services.{service}] from the environment file, run `fargate-env deploy"
                f" --env {aws.config.name} --only {outputs.MONITORING}`, then destroy again"
            )


# --- deleting -----------------------------------------------------------------------------


def empty_bucket(aws: Aws, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were deleted."""
    s3 = aws.client("s3")
    count = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(keys), 1000):
                batch = keys[start : start + 1000]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                count += len(batch)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return count
        raise aws_error(exc, f"S3 emptying {bucket}") from None
    return count


def _status(aws: Aws, stack: str) -> tuple[str, str]:
    cfn = aws.client("cloudformation")
    try:
        found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except botocore.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return "DELETE_COMPLETE", ""
        raise aws_error(exc, f"CloudFormation DescribeStacks {stack}") from None
    return found["StackStatus"], found.get("StackStatusReason", "")


def delete_stages(
    aws: Aws,
    plan: Plan,
    *,
    progress: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Delete stage by stage; stop at the first stage with a failure. Never raises for a
    failed delete: the outcome says what was deleted, what failed and what is left."""
    cfn = aws.client("cloudformation")
    ops = aws.config.ops
    outcome = Outcome()
    remaining = plan.stacks
    for stage in plan.stages:
        for stack in stage.stacks:
            for bucket in plan.empty_first.get(stack, []):
                outcome.emptied[bucket] = empty_bucket(aws, bucket)
                progress(f"emptied s3://{bucket} ({outcome.emptied[bucket]} objects)")
            try:
                cfn.delete_stack(StackName=stack)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                outcome.failed[stack] = str(aws_error(exc, f"DeleteStack {stack}"))
                continue
            progress(f"deleting {stack}")
        waiting = [s for s in stage.stacks if s not in outcome.failed]
        deadline = clock() + ops.stack_delete_timeout_seconds
        while waiting:
            for stack in list(waiting):
                status, reason = _status(aws, stack)
                if status == "DELETE_COMPLETE":
                    waiting.remove(stack)
                    outcome.deleted.append(stack)
                    progress(f"deleted {stack}")
                elif status == "DELETE_FAILED":
                    waiting.remove(stack)
                    outcome.failed[stack] = f"DELETE_FAILED: {reason}".rstrip(": ")
            if waiting and clock() > deadline:
                for stack in waiting:
                    outcome.failed[stack] = (
                        f"still deleting after {ops.stack_delete_timeout_seconds} s"
                        " (ops.stack_delete_timeout_seconds)"
                    )
                break
            if waiting:
                sleep(ops.poll_interval_seconds)
        if outcome.failed:
            break
    done = set(outcome.deleted)
    outcome.left = [s for s in remaining if s not in done]
    return outcome
