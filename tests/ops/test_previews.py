"""preview up / list / extend / down against moto (CloudFormation, ECR, Scheduler), and every
bad input as one line with exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.previews import deployed_previews, preview_extend, preview_up
from fargate_env.preview_spec import Preview
from tests.ops.conftest import REGION, real_config, stacks, write_env_file
from tests.ops.test_deploy import Recorder, npx, push

cli = CliRunner()
NOW = datetime(2030, 1, 2, 3, 0, 0, tzinfo=UTC)
DELETE_STACK = "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
# What a preview stack's template holds that the cost model prices: its log group.
TEMPLATE = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                   "Properties": {"RetentionInDays": 3}}}}  # fmt: skip


def deploy_preview(config, name: str, service: str = "web", priority: int = 1) -> Preview:
    """What `preview up` leaves in the account: the tagged stack and its schedule."""
    preview = Preview(name, service, "abc123", NOW, NOW + timedelta(hours=48), priority)
    stack = config.preview_stack_name(name)
    tags = {**config.stack_tags, **preview.tags()}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=stack,
        TemplateBody=json.dumps(TEMPLATE),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    boto3.client("scheduler", region_name=REGION).create_schedule(
        Name=stack,
        ScheduleExpression=preview.at_expression,
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": DELETE_STACK, "RoleArn": f"arn:aws:iam::123456789012:role/{stack}",
                "Input": json.dumps({"StackName": stack})},
    )  # fmt: skip
    return preview


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["up", "Pr_42", "--service", "web"], ["DNS label"]),
        (["up", "x-", "--service", "web"], ["DNS label"]),
        (["up", "a" * 33, "--service", "web"], ["DNS label"]),
        (["up", "pr-1", "--service", "web", "--ttl", "8d"], ["--ttl", "between 1h and 7d"]),
        (["up", "pr-1", "--service", "web", "--ttl", "0h"], ["--ttl", "between"]),
        (["up", "pr-1", "--service", "web", "--ttl", "soon"], ["--ttl", "90m, 48h or 7d"]),
        (["up", "pr-1", "--service", "nope"], ["--service 'nope'", "web, api"]),
        (["up", "pr-1"], ["--service is required"]),
        (["extend", "pr-1", "--ttl", "30d"], ["--ttl", "between"]),
    ],
)
def test_bad_preview_input_is_one_line_exit_2(env_file, args, words, moto):
    line = one_line_exit_2(cli.invoke(app, ["preview", *args, "--env-file", str(env_file)]))
    assert all(word in line for word in words), line
    assert stacks() == set()


def test_previews_without_preview_domain_are_one_line_exit_2(tmp_path, moto):
    path = write_env_file(
        tmp_path / "plain.toml",
        {
            "load_balancer": {
                "preview_domain": None,
                "preview_hosted_zone_id": None,
                "preview_hosted_zone_name": None,
            }
        },
    )
    for args in (["up", "pr-1", "--service", "web"], ["list"], ["down", "pr-1"]):
        line = one_line_exit_2(cli.invoke(app, ["preview", *args, "--env-file", str(path)]))
        assert "load_balancer.preview_domain" in line
    line = one_line_exit_2(
        cli.invoke(app, ["synth", "--env-file", str(path), "--preview", "pr-1", "-s", "web"])
    )
    assert "load_balancer.preview_domain" in line


def test_down_of_an_unknown_preview_is_one_line_exit_2(env_file, moto):
    config = real_config()
    deploy_preview(config, "pr-1")
    line = one_line_exit_2(
        cli.invoke(app, ["preview", "down", "pr-9", "--env-file", str(env_file)])
    )
    assert "no preview 'pr-9'" in line and "pr-1" in line
    assert config.preview_stack_name("pr-1") in stacks()


def test_more_than_max_active_previews_is_refused_before_anything_runs(moto, tmp_path):
    config = real_config()
    for n in range(config.previews.max_active):
        deploy_preview(config, f"pr-{n}", priority=n + 1)
    recorder = Recorder()
    with pytest.raises(UserError, match=r"previews\.max_active is 5"):
        preview_up(
            Aws.for_environment(config), "pr-new", service="web", image_tag="abc123", ttl="24h",
            outdir=tmp_path / "cdk.out", now=NOW, runner=recorder, which=npx,
            cdk_bin=Path(__file__),
        )  # fmt: skip
    assert recorder.calls == [] and not (tmp_path / "cdk.out").exists()


# --- up / list / extend / down -------------------------------------------------------------


def test_up_deploys_the_preview_and_the_stacks_it_needs_at_the_lowest_free_priority(moto, tmp_path):
    config = real_config()
    deploy_preview(config, "pr-1", priority=1)
    push(config, "api", "abc123")
    recorder = Recorder()
    preview, rc = preview_up(
        Aws.for_environment(config), "pr-2", service="api", image_tag="abc123", ttl="24h",
        outdir=tmp_path / "cdk.out", now=NOW, runner=recorder, which=npx,
        cdk_bin=Path(__file__), validation=False,
    )  # fmt: skip
    assert rc == 0 and preview.priority == 2 and preview.expires == NOW + timedelta(hours=24)
    ((cmd, _),) = recorder.calls
    start = cmd.index("--app") + 2
    assert cmd[start : cmd.index("--exclusively")] == [
        "demo-network", "demo-registry", "demo-platform", "demo-previews", "demo-preview-pr-2",
    ]  # fmt: skip
    template = (tmp_path / "cdk.out" / "demo-preview-pr-2.template.json").read_text()
    assert "at(2030-01-03T03:00:00)" in template and "pr-2.preview.demo.example.com" in template


def test_up_refuses_an_image_that_is_not_in_ecr(moto, tmp_path):
    config = real_config()
    push(config, "api", "other")
    with pytest.raises(UserError, match="not in ECR"):
        preview_up(
            Aws.for_environment(config), "pr-2", service="api", image_tag="abc123", ttl=None,
            outdir=tmp_path / "cdk.out", now=NOW, runner=Recorder(), which=npx,
            cdk_bin=Path(__file__),
        )  # fmt: skip


def test_list_reads_previews_by_stack_tags_with_expiry_and_cost(moto, env_file):
    config = real_config()
    deploy_preview(config, "pr-1", "web", 1)
    deploy_preview(config, "pr-2", "api", 2)
    # Not previews of this environment: no preview tag; another environment's preview.
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="demo-service-web", TemplateBody=json.dumps(TEMPLATE),
        Tags=[{"Key": k, "Value": v} for k, v in config.stack_tags.items()],
    )  # fmt: skip
    other = real_config({"name": "other", "tags": {"environment": "other"}})
    deploy_preview(other, "pr-3")
    found = deployed_previews(Aws.for_environment(config), priced=True)
    assert [(d.preview.name, d.preview.service, d.preview.priority) for d in found] == [
        ("pr-1", "web", 1),
        ("pr-2", "api", 2),
    ]
    assert found[0].expires == NOW + timedelta(hours=48)
    # The preview log assumption (0.1 GB/month) ingested x $0.50 + 3 days' worth kept x $0.03.
    gb = config.cost.usage.preview_log_ingest_gb_month
    assert found[0].monthly_usd == pytest.approx(gb * (0.5 + 3 / (365 / 12) * 0.03))
    result = cli.invoke(app, ["preview", "list", "--env-file", str(env_file)], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "pr-1" in result.output and "pr-2" in result.output and "pr-3" not in result.output
    assert "01-04 03:00" in result.output and "0.05" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_extend_moves_the_schedule(moto):
    config = real_config()
    deploy_preview(config, "pr-1")
    later = NOW + timedelta(hours=5)
    expires = preview_extend(Aws.for_environment(config), "pr-1", "24h", now=later)
    assert expires == later + timedelta(hours=24)
    schedule = boto3.client("scheduler", region_name=REGION).get_schedule(Name="demo-preview-pr-1")
    assert schedule["ScheduleExpression"] == "at(2030-01-03T08:00:00)"
    assert schedule["Target"]["Arn"] == DELETE_STACK
    found = deployed_previews(Aws.for_environment(config))
    assert found[0].expires == expires


def test_extend_carries_every_setting_over_to_update_schedule(moto):
    """UpdateSchedule replaces the whole schedule; moto keeps what it is not sent, so a
    Stubber checks exactly what is sent."""
    config = real_config()
    deploy_preview(config, "pr-1")
    aws = Aws.for_environment(config)
    scheduler = aws.client("scheduler")
    target = {"Arn": DELETE_STACK, "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": "{}"}
    current = {
        "Name": "demo-preview-pr-1", "GroupName": "default", "ScheduleExpression": "at(x)",
        "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target, "State": "ENABLED",
        "ActionAfterCompletion": "NONE", "Description": "deletes stack demo-preview-pr-1",
    }  # fmt: skip
    with Stubber(scheduler) as stub:
        stub.add_response("get_schedule", current, {"Name": "demo-preview-pr-1"})  # list
        stub.add_response("get_schedule", current, {"Name": "demo-preview-pr-1"})
        stub.add_response(
            "update_schedule",
            {"ScheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/x"},
            {
                "Name": "demo-preview-pr-1", "GroupName": "default",
                "ScheduleExpression": "at(2030-01-03T03:00:00)",
                "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": target, "State": "ENABLED", "ActionAfterCompletion": "NONE",
                "Description": "deletes stack demo-preview-pr-1",
            },
        )  # fmt: skip
        preview_extend(aws, "pr-1", "24h", now=NOW)
        stub.assert_no_pending_responses()


def test_down_deletes_that_preview_only(moto, env_file):
    config = real_config()
    deploy_preview(config, "pr-1")
    deploy_preview(config, "pr-2", priority=2)
    result = cli.invoke(app, ["preview", "down", "pr-1", "--env-file", str(env_file)])
    assert result.exit_code == 0, result.output
    assert "deleted demo-preview-pr-1" in result.output
    assert stacks() == {"demo-preview-pr-2"}
