"""destroy against moto: previews first, then monitoring, services and shared stacks in order;
only this environment's tagged stacks; buckets emptied first; what stays, priced; refusals."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.ops.aws import Aws
from fargate_env.ops.destroy import delete_stages, plan_destroy
from tests.ops.conftest import REGION, real_config
from tests.ops.test_previews import deploy_preview, one_line_exit_2, stacks

cli = CliRunner()
TOPIC = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
BUCKET = "demo-access-logs"
REPOSITORY = "demo/web"


def create(name: str, template: dict, tags: dict[str, str]) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def deploy_environment(config, *, bucket_policy: str = "Retain") -> None:
    """Every stack of the demo, tagged as build_app tags them; the platform holds the access-log
    bucket (with 3 objects), the registry web's repository (retained, with one image)."""
    tags = config.stack_tags
    for part in ("network", "alerts", "monitoring", "previews"):
        create(config.stack_name(part), TOPIC, tags)
    for service in config.services:
        create(config.service_stack_name(service), TOPIC, tags)
    bucket = {"Type": "AWS::S3::Bucket", "DeletionPolicy": bucket_policy,
              "Properties": {"BucketName": BUCKET}}  # fmt: skip
    create(config.stack_name("platform"), {"Resources": {"AccessLogs": bucket}}, tags)
    s3 = boto3.client("s3", region_name=REGION)
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"alb/{n}.log.gz", Body=b"x" * 1024 * 1024)
    repository = {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                  "Properties": {"RepositoryName": REPOSITORY}}  # fmt: skip
    create(config.stack_name("registry"), {"Resources": {"web": repository}}, tags)
    deploy_preview(config, "pr-1", "web", 1)
    deploy_preview(config, "pr-2", "api", 2)
    # Not ours: no tags; another environment's.
    create("demo-network-copy", TOPIC, {})
    create("other-network", TOPIC, {**tags, "environment": "other"})


@pytest.fixture
def recorded(monkeypatch):
    """Every DeleteStack call, in order (moto deletes at once)."""
    calls: list[str] = []
    real = Aws.client

    def client(self, service):
        made = real(self, service)
        if service == "cloudformation" and not getattr(made, "_recorded", False):
            original = made.delete_stack

            def delete_stack(**kwargs):
                calls.append(kwargs["StackName"])
                return original(**kwargs)

            made.delete_stack = delete_stack
            made._recorded = True
        return made

    monkeypatch.setattr(Aws, "client", client)
    return calls


ORDER = [
    ["demo-preview-pr-1", "demo-preview-pr-2"],
    ["demo-previews"],
    ["demo-monitoring"],
    ["demo-service-api", "demo-service-web"],
    ["demo-platform", "demo-alerts", "demo-registry"],
    ["demo-network"],
]


def test_destroy_deletes_in_dependency_order_and_reports_what_stays(moto, env_file, recorded):
    config = real_config()
    deploy_environment(config)
    result = cli.invoke(app, ["destroy", "--env-file", str(env_file), "--yes"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert recorded == [name for stage in ORDER for name in stage]
    assert stacks() == {"demo-network-copy", "other-network"}
    # Retained: the bucket with its 3 MiB of logs, the repository; both still there, priced.
    assert "stays behind" in result.output
    assert BUCKET in result.output and REPOSITORY in result.output
    objects = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    assert objects["KeyCount"] == 3
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_the_plan_prices_what_stays_with_the_cost_models_prices(moto):
    config = real_config()
    deploy_environment(config)
    plan = plan_destroy(Aws.for_environment(config))
    assert [stage.stacks for stage in plan.stages] == ORDER
    (bucket,) = [item for item in plan.leftovers if item.kind == "S3 bucket"]
    assert bucket.size_gb == pytest.approx(3 / 1024)
    assert bucket.monthly_usd == pytest.approx(3 / 1024 * 0.023)
    (repository,) = [item for item in plan.leftovers if item.kind == "ECR repository"]
    assert repository.name == REPOSITORY and repository.stack == "demo-registry"
    assert plan.empty_first == {}


def test_a_bucket_whose_policy_is_delete_is_emptied_before_its_stack_is_deleted(moto):
    config = real_config()
    deploy_environment(config, bucket_policy="Delete")
    aws = Aws.for_environment(config)
    plan = plan_destroy(aws)
    assert plan.empty_first == {"demo-platform": [BUCKET]}
    assert BUCKET not in {item.name for item in plan.leftovers}
    events: list[str] = []
    outcome = delete_stages(aws, plan, progress=events.append)
    assert outcome.ok and outcome.emptied == {BUCKET: 3}
    emptied = events.index(f"emptied s3://{BUCKET} (3 objects)")
    assert emptied < events.index("deleting demo-platform")
    assert events.index("deleted demo-service-web") < emptied


def test_a_failing_delete_reports_what_was_deleted_and_what_is_left(moto, env_file, monkeypatch):
    config = real_config()
    deploy_environment(config)
    real = Aws.client

    def client(self, service):
        made = real(self, service)
        if service == "cloudformation":
            original = made.delete_stack

            def delete_stack(**kwargs):
                if kwargs["StackName"] == "demo-service-api":
                    raise botocore.exceptions.ClientError(
                        {"Error": {"Code": "ValidationError", "Message": "export in use"}},
                        "DeleteStack",
                    )
                return original(**kwargs)

            made.delete_stack = delete_stack
        return made

    monkeypatch.setattr(Aws, "client", client)
    result = cli.invoke(app, ["destroy", "--env-file", str(env_file), "--yes"], terminal_width=80)
    assert result.exit_code == 1, result.output
    assert "deleted demo-preview-pr-1" in result.output
    assert "deleted demo-monitoring" in result.output
    assert "failed demo-service-api" in result.output and "export in use" in result.output
    left = next(line for line in result.output.splitlines() if line.startswith("left"))
    for name in ("demo-service-api", "demo-platform", "demo-network"):
        assert name in left
    assert "demo-platform" in stacks() and "demo-network" in stacks()


def test_destroy_without_yes_on_a_non_interactive_shell_is_refused(moto, env_file, recorded):
    config = real_config()
    deploy_environment(config)
    result = cli.invoke(app, ["destroy", "--env-file", str(env_file)])
    assert result.exit_code == 2
    assert "stdin is not a terminal: pass --yes" in result.output.strip().splitlines()[-1]
    assert recorded == []


def test_destroy_on_a_terminal_asks_for_the_environment_name(moto, env_file, recorded, monkeypatch):
    config = real_config()
    deploy_environment(config)
    monkeypatch.setattr("fargate_env.cli.destroy.stdin_is_terminal", lambda: True)
    result = cli.invoke(app, ["destroy", "--env-file", str(env_file)], input="nope\n")
    assert result.exit_code == 1 and "nothing was deleted" in result.output
    assert recorded == []


def test_destroy_of_one_service_deletes_its_previews_then_its_stack(moto, env_file, recorded):
    config = real_config()
    deploy_environment(config)
    aws = Aws.for_environment(config)
    # moto has no ListImports: the monitoring stack imports nothing here.
    aws.client("cloudformation").list_imports = lambda **_: {"Imports": []}
    plan = plan_destroy(aws, "api")
    assert [stage.stacks for stage in plan.stages] == [["demo-preview-pr-2"], ["demo-service-api"]]
    # Its repository stays in the registry (measured: the repository does not exist in moto).
    assert [item.name for item in plan.leftovers] == ["demo/api"]
    assert delete_stages(aws, plan).ok
    assert recorded == ["demo-preview-pr-2", "demo-service-api"]


def test_destroy_of_a_service_the_monitoring_stack_imports_is_refused(moto, env_file):
    config = real_config()
    deploy_environment(config)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.delete_stack(StackName="demo-service-api")
    create(
        "demo-service-api",
        {"Resources": TOPIC["Resources"], "Outputs": {"Name": {"Value": "x",
         "Export": {"Name": "demo-service-api:ExportsOutputName"}}}},
        config.stack_tags,
    )  # fmt: skip
    aws = Aws.for_environment(config)
    aws.client("cloudformation").list_imports = lambda **_: {"Imports": ["demo-monitoring"]}
    with pytest.raises(Exception, match="demo-monitoring imports its outputs"):
        plan_destroy(aws, "api")


def test_destroy_of_an_unknown_service_is_one_line_exit_2(moto, env_file):
    deploy_environment(real_config())
    line = one_line_exit_2(
        cli.invoke(app, ["destroy", "--env-file", str(env_file), "--service", "nope", "--yes"])
    )
    assert "--service 'nope'" in line and "api, web" in line


def blank_resource_entries(monkeypatch) -> None:
    """DescribeStackResources as an emulator answers for types it skips: entries without a
    logical or physical id (the KeyError of issue 19)."""
    real = Aws.client

    def client(self, service):
        made = real(self, service)
        if service == "cloudformation":
            made.describe_stack_resources = lambda **_: {
                "StackResources": [{"StackName": "x", "ResourceStatus": "CREATE_COMPLETE"}, {}]
            }
        return made

    monkeypatch.setattr(Aws, "client", client)


def test_blank_stack_resource_entries_are_reported_not_a_crash(moto, env_file, monkeypatch):
    config = real_config()
    deploy_environment(config)
    blank_resource_entries(monkeypatch)
    result = cli.invoke(app, ["destroy", "--env-file", str(env_file), "--yes"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    # The template names both: what stays is still reported, by the template's names.
    assert BUCKET in result.output and REPOSITORY in result.output
    assert stacks() == {"demo-network-copy", "other-network"}


def test_a_retained_resource_nobody_names_is_reported_as_unnamed(moto, monkeypatch):
    config = real_config()
    deploy_environment(config)
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.delete_stack(StackName="demo-platform")
    bucket = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}
    create("demo-platform", {"Resources": {"Logs": bucket}}, config.stack_tags)
    blank_resource_entries(monkeypatch)
    plan = plan_destroy(Aws.for_environment(config))
    (unnamed,) = [item for item in plan.leftovers if item.kind == "S3 bucket"]
    assert unnamed.name == "Logs (name not reported by CloudFormation)"
    assert unnamed.stack == "demo-platform" and unnamed.monthly_usd == 0.0
