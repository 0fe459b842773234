"""PreviewExpiry on a bare Stack(): a one-time UTC schedule that deletes its own stack through
Scheduler's universal target, with a role that may delete that one stack only, under the ids
the preview stack always gave them."""

import json

import aws_cdk as cdk
from aws_cdk.assertions import Template

from fargate_env.constructs.preview_expiry import DELETE_STACK_TARGET, PreviewExpiry

AT = "at(2030-01-03T03:00:00)"


def _bare() -> tuple[cdk.Stack, Template]:
    env = cdk.Environment(account="123456789012", region="us-east-1")
    stack = cdk.Stack(cdk.App(), "demo-preview-pr-1", env=env)
    PreviewExpiry(stack, schedule_name="demo-preview-pr-1", at_expression=AT)
    return stack, Template.from_stack(stack)


def test_schedule_fires_once_at_expiry_and_deletes_its_own_stack():
    _, template = _bare()
    schedules = template.find_resources("AWS::Scheduler::Schedule")
    assert list(schedules) == ["Expiry"]
    props = schedules["Expiry"]["Properties"]
    assert props["Name"] == "demo-preview-pr-1"
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (AT, "UTC")
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Target"]["Arn"] == DELETE_STACK_TARGET
    # {"StackName": <this stack's id>}, joined at deploy time.
    target_input = json.dumps(props["Target"]["Input"])
    assert '\\"StackName\\":\\"' in target_input and '{"Ref": "AWS::StackId"}' in target_input
    # The role must be able to act before the schedule can fire.
    assert "ExpiryPolicy" in str(schedules["Expiry"]["DependsOn"])


def test_role_may_delete_only_this_stack_and_only_for_this_schedule():
    _, template = _bare()
    roles = template.find_resources("AWS::IAM::Role")
    assert [k for k in roles if k.startswith("ExpiryRole")] == list(roles)
    trust = next(iter(roles.values()))["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "schedule/default/demo-preview-pr-1" in json.dumps(trust["Condition"]["ArnEquals"])
    policies = template.find_resources("AWS::IAM::Policy")
    assert [k.startswith("ExpiryPolicy") for k in policies] == [True]
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    delete = next(s for s in statements if s["Sid"] == "DeleteThisStackOnly")
    assert (delete["Action"], delete["Resource"]) == (
        "cloudformation:DeleteStack",
        {"Ref": "AWS::StackId"},
    )
    passrole = next(s for s in statements if s["Sid"] == "PassTheDeployRoleToCloudFormation")
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }
