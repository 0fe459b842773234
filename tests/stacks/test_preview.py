"""Preview stacks: the shared wildcard certificate and record (only with preview_domain), and one
preview's stack: host-header rule, one task, and the one-time schedule that deletes its stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aws_cdk.assertions import Match, Template

from fargate_env.app import build_app
from fargate_env.preview_spec import new_preview
from tests.conftest import make_config

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
NAME = "pr-42"
HOST = f"{NAME}.preview.demo.example.com"
NO_PREVIEWS = {
    "load_balancer": {
        "preview_domain": None,
        "preview_hosted_zone_id": None,
        "preview_hosted_zone_name": None,
    }
}
DELETE_STACK = "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The demo with preview pr-42 of `api` (image abc123, 48 h) and preview arm of an arm64,
    on-demand copy of web."""
    config = make_config(
        {"services": {"web": {"architecture": "arm64", "capacity": {"spot": False}}}}
    )
    previews = [
        new_preview(config, NAME, service="api", image_tag="abc123", ttl="48h", now=NOW),
        new_preview(config, "arm", service="web", image_tag=None, ttl="2d", now=NOW, priority=2),
    ]
    outdir = tmp_path_factory.mktemp("preview.out")
    app = build_app(config, outdir, validation=False, previews=previews)
    app.app.synth()

    def template(stack: str) -> dict:
        if stack == "manifest":
            return json.loads((outdir / "manifest.json").read_text())
        return json.loads((outdir / f"{stack}.template.json").read_text())

    return app, template


def of_type(template: dict, rtype: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def test_the_preview_routes_its_host_only_ahead_of_every_service_rule(built):
    app, template = built
    tpl = template("demo-preview-pr-42")
    (rule,) = of_type(tpl, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    props = rule["Properties"]
    assert props["Conditions"] == [{"Field": "host-header", "HostHeaderConfig": {"Values": [HOST]}}]
    assert props["Priority"] == 1
    ((tg_id, tg),) = of_type(tpl, "AWS::ElasticLoadBalancingV2::TargetGroup").items()
    assert props["Actions"][0]["TargetGroupArn"] == {"Ref": tg_id}
    service_priorities = [
        r["Properties"]["Priority"]
        for s in ("web", "api")
        for r in of_type(
            template(f"demo-service-{s}"), "AWS::ElasticLoadBalancingV2::ListenerRule"
        ).values()
    ]
    assert min(service_priorities) > app.previews["pr-42"].preview.priority
    assert tg["Properties"]["HealthCheckPath"] == "/health"


def test_the_schedule_deletes_its_own_stack_once_at_expiry(built):
    _, template = built
    tpl = template("demo-preview-pr-42")
    (schedule,) = of_type(tpl, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "at(2030-01-04T03:04:05)"  # NOW + 48 h
    assert props["ScheduleExpressionTimezone"] == "UTC"
    # CloudFormation rejects ActionAfterCompletion; the stack's deletion removes the schedule.
    assert "ActionAfterCompletion" not in props
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Name"] == "demo-preview-pr-42"
    target = props["Target"]
    assert target["Arn"] == DELETE_STACK
    assert target["Input"] == {"Fn::Join": ["", ['{"StackName":"', {"Ref": "AWS::StackId"}, '"}']]}
    (role_id,) = of_type(tpl, "AWS::IAM::Role").keys() - {
        k for k in of_type(tpl, "AWS::IAM::Role") if k.startswith("WebTaskDefinition")
    }
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_the_schedules_role_may_delete_this_stack_and_nothing_else(built):
    _, template = built
    tpl = template("demo-preview-pr-42")
    role_id = "ExpiryRole0EF470AE"
    role = tpl["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = json.dumps(trust["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert ":schedule/default/demo-preview-pr-42" in source
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    policies = [
        p["Properties"]
        for p in of_type(tpl, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    statements = policies[0]["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("cloudformation:DeleteStack", {"Ref": "AWS::StackId"}),
        (
            "iam:PassRole",
            {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
                "cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-us-east-1"
            },
        ),
    ]
    assert statements[1]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }


def test_a_preview_is_one_task_of_the_service_with_no_scaling_and_no_lambda(built):
    _, template = built
    tpl = template("demo-preview-pr-42")
    types = {r["Type"] for r in tpl["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Lambda::")}
    assert not {t for t in types if t.startswith("AWS::ApplicationAutoScaling::")}
    assert "AWS::CloudWatch::Alarm" not in types
    (service,) = of_type(tpl, "AWS::ECS::Service").values()
    assert service["Properties"]["DesiredCount"] == 1
    assert [s["CapacityProvider"] for s in service["Properties"]["CapacityProviderStrategy"]
            if s.get("Weight")] == ["FARGATE_SPOT"]  # fmt: skip
    (task,) = of_type(tpl, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["PATH_PREFIX"] == "/api" and env["LOG_LEVEL"] == "info"  # the service's own
    assert container["Image"]["Fn::Join"][1][-1].endswith(":abc123")
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "preview-pr-42"
    assert container["HealthCheck"]["Command"][-1] == "sample_server.healthcheck"
    (logs,) = of_type(tpl, "AWS::Logs::LogGroup").values()
    assert logs["Properties"]["RetentionInDays"] == 3


def test_a_preview_of_an_on_demand_service_stays_on_demand(built):
    _, template = built
    tpl = template("demo-preview-arm")
    (service,) = of_type(tpl, "AWS::ECS::Service").values()
    strategy = service["Properties"]["CapacityProviderStrategy"]
    assert [s["CapacityProvider"] for s in strategy] == ["FARGATE"]
    (rule,) = of_type(tpl, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Properties"]["Priority"] == 2
    assert "at(2030-01-04T03:04:05)" in json.dumps(tpl)


def test_preview_stacks_carry_what_preview_list_reads(built):
    """The stack tags `cdk deploy` sets (from the manifest), which `preview list` reads."""
    _, template = built
    artifact = template("manifest")["artifacts"]["demo-preview-pr-42"]
    tags = artifact["properties"]["tags"]
    assert tags["fargate-env:preview"] == "pr-42"
    assert tags["fargate-env:service"] == "api"
    assert tags["fargate-env:image-tag"] == "abc123"
    assert tags["fargate-env:created"] == "2030-01-02T03:04:05Z"
    assert tags["fargate-env:expires"] == "2030-01-04T03:04:05Z"
    assert tags["fargate-env:rule-priority"] == "1"
    assert tags["environment"] == "demo" and tags["managed-by"] == "fargate-env"


def test_a_preview_changes_no_other_stack(built, demo):
    _, template = built
    for stack in ("demo-service-api", "demo-monitoring", "demo-previews", "demo-registry"):
        assert template(stack) == demo.template_json(stack.removeprefix("demo-")), stack


def test_the_shared_previews_stack_adds_the_wildcard_certificate_and_record(demo):
    tpl = demo.template("previews")
    tpl.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": "*.preview.demo.example.com",
            "ValidationMethod": "DNS",
            "DomainValidationOptions": [
                Match.object_like({"HostedZoneId": "Z00000000000000000000"})
            ],
        },
    )
    tpl.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        {"ListenerArn": {"Fn::ImportValue": Match.string_like_regexp("demo-platform:.*Https")}},
    )
    tpl.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "*.preview.demo.example.com.",
            "Type": "A",
            "HostedZoneId": "Z00000000000000000000",
            "AliasTarget": Match.any_value(),
        },
    )
    tpl.resource_count_is("AWS::Lambda::Function", 0)


def test_without_preview_domain_there_is_no_previews_stack(synth):
    synthesized = synth(NO_PREVIEWS)
    assert synthesized.built.previews_shared is None
    assert not (synthesized.outdir / "demo-previews.template.json").exists()
    types = {
        r["Type"]
        for stack in synthesized.built.stacks
        for r in synthesized.template_json(
            stack.stack_name.removeprefix("demo-").replace("service-", "service:", 1)
        )["Resources"].values()
    }
    assert "AWS::CertificateManager::Certificate" not in types
    assert "AWS::Route53::RecordSet" not in types


def test_template_assertions_library_reads_the_preview(built):
    """The same template through aws_cdk.assertions, as the other stack tests read theirs."""
    _, template = built
    tpl = Template.from_json(template("demo-preview-pr-42"))
    tpl.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"Target": Match.object_like({"Arn": DELETE_STACK}), "State": "ENABLED"},
    )


def test_every_stack_carries_the_environment_tags_as_stack_tags(built):
    """`destroy` finds the environment's stacks by their own tags (not their resources')."""
    _, template = built
    for name, artifact in template("manifest")["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            tags = artifact["properties"]["tags"]
            assert tags["environment"] == "demo", name
            assert tags["managed-by"] == "fargate-env", name


def test_an_http_only_environment_gets_the_record_but_no_certificate(synth):
    synthesized = synth({"load_balancer": {"certificate_arn": None, "allow_http_only": True}})
    tpl = synthesized.template("previews")
    tpl.resource_count_is("AWS::CertificateManager::Certificate", 0)
    tpl.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerCertificate", 0)
    tpl.resource_count_is("AWS::Route53::RecordSet", 1)
