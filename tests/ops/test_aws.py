"""Session, credentials and stack outputs: every failure is one UserError line."""

from __future__ import annotations

import datetime

import pytest
from botocore.stub import Stubber

from fargate_env import outputs
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws, refuse_placeholders
from tests.conftest import make_config
from tests.ops.conftest import ACCOUNT, CERT, REGION, create_stack, real_config


def test_demo_placeholders_are_refused_by_name() -> None:
    with pytest.raises(UserError, match=r"demo placeholder in account"):
        refuse_placeholders(make_config())
    refuse_placeholders(real_config())  # a filled-in file passes


def test_env_vars_pick_region_and_endpoint(aws_credentials, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    aws = Aws.for_environment(real_config())
    assert aws.region == "eu-west-1"
    assert aws.client("ecs").meta.endpoint_url == "http://127.0.0.1:5999"
    assert aws.client("ecs").meta.region_name == "eu-west-1"


def test_without_env_vars_the_config_region_is_used(aws_credentials) -> None:
    aws = Aws.for_environment(real_config())
    assert aws.region == REGION
    assert "amazonaws.com" in aws.client("sts").meta.endpoint_url


def test_unknown_profile_is_one_line(aws_credentials, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(UserError, match="AWS_PROFILE='nope' is not in"):
        Aws.for_environment(real_config())


def test_credentials_checked_with_sts(moto) -> None:
    assert Aws.for_environment(real_config()).check_credentials().startswith("arn:aws:sts::")


def test_no_credentials(no_credentials) -> None:
    with pytest.raises(UserError, match="no AWS credentials found"):
        Aws.for_environment(real_config()).check_credentials()


def test_credentials_for_another_account(moto) -> None:
    other = {
        "account": "210987654321",
        "load_balancer": {"certificate_arn": CERT.replace(ACCOUNT, "210987654321")},
    }
    aws = Aws.for_environment(real_config(other))
    with pytest.raises(UserError, match="credentials are for account 123456789012"):
        aws.check_credentials()


def test_unreachable_endpoint(aws_credentials, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(UserError, match="cannot reach AWS for STS"):
        Aws.for_environment(real_config()).check_credentials()


def test_stack_outputs(moto) -> None:
    config = real_config()
    create_stack(config.stack_name(outputs.PLATFORM), {outputs.CLUSTER_NAME: "c"})
    create_stack(config.service_stack_name("api"), {outputs.SERVICE_NAME: "s"})
    aws = Aws.for_environment(config)
    assert aws.stack_outputs(outputs.PLATFORM, outputs.CLUSTER_NAME)[outputs.CLUSTER_NAME] == "c"
    assert aws.service_outputs("api", outputs.SERVICE_NAME)[outputs.SERVICE_NAME] == "s"
    with pytest.raises(UserError, match="stack demo-platform has no output BaseUrl"):
        aws.stack_outputs(outputs.PLATFORM, outputs.BASE_URL)
    with pytest.raises(
        UserError,
        match=r"stack demo-service-api has no output TargetGroupArn: .*redeploy with"
        r" `fargate-env deploy --env demo --service api`",
    ):
        aws.service_outputs("api", outputs.TARGET_GROUP_ARN)


def test_missing_per_service_registry_output_names_the_registry_fix(moto) -> None:
    config = real_config()
    key = outputs.per_service(outputs.REPOSITORY_URI, "api")
    create_stack(config.stack_name(outputs.REGISTRY), {key: "uri"})
    aws = Aws.for_environment(config)
    assert aws.stack_outputs(outputs.REGISTRY, key)[key] == "uri"
    web = outputs.per_service(outputs.REPOSITORY_URI, "web")
    with pytest.raises(UserError, match=rf"no output {web}: .*deploy --env demo --only registry`"):
        aws.stack_outputs(outputs.REGISTRY, web)


def test_missing_stack_names_stack_region_and_fix(moto) -> None:
    aws = Aws.for_environment(real_config())
    with pytest.raises(
        UserError,
        match=r"^stack demo-service-api not found in us-east-1: run"
        r" `fargate-env deploy --env demo --service api` first",
    ):
        aws.service_outputs("api")
    with pytest.raises(UserError, match=r"stack demo-platform not found .* --env demo` first"):
        aws.stack_outputs(outputs.PLATFORM)
    with pytest.raises(UserError, match=r"deploy --env demo --only registry"):
        aws.stack_outputs(outputs.REGISTRY)


def test_rolled_back_stack_is_refused(aws_credentials) -> None:
    aws = Aws.for_environment(real_config())
    cfn = aws.client("cloudformation")
    name = "demo-service-web"
    stack = {
        "StackName": name,
        "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "StackStatus": "ROLLBACK_COMPLETE",
    }
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": name})
        with pytest.raises(
            UserError,
            match=rf"stack {name} is ROLLBACK_COMPLETE: .*deploy --env demo --service web`",
        ):
            aws.service_outputs("web")
