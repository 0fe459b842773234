"""PreviewExpiry: an EventBridge Scheduler one-time schedule that deletes the stack it is in
when the preview expires. No Lambda: the schedule calls CloudFormation's DeleteStack through
Scheduler's universal target, with a role that may delete this one stack and nothing else.

Built in the scope it is given, under the ids the preview stack always used (the schedule is
named, so a replacement would collide with itself): see constructs/__init__.py.
"""

from __future__ import annotations

from aws_cdk import DefaultStackSynthesizer, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

# EventBridge Scheduler's universal target for CloudFormation DeleteStack.
DELETE_STACK_TARGET = "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"


class PreviewExpiry:
    """`at_expression`: Scheduler's at(...) in UTC; `schedule_name`: the schedule's name, which
    the role's trust policy names too. The stack's deletion removes the schedule with it."""

    def __init__(self, scope: Construct, *, schedule_name: str, at_expression: str) -> None:
        stack = Stack.of(scope)
        self.role = iam.Role(
            scope,
            "ExpiryRole",
            description=f"{schedule_name}: EventBridge Scheduler deletes this one stack",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL,
                # Only this account's schedule of this name may use the role.
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler",
                            resource="schedule",
                            resource_name=f"default/{schedule_name}",
                        )
                    },
                },
            ),
        )
        policy = iam.Policy(scope, "ExpiryPolicy", statements=_statements(stack))
        policy.attach_to_role(self.role)
        self.schedule = scheduler.CfnSchedule(
            scope,
            "Expiry",
            name=schedule_name,
            description=f"deletes stack {schedule_name} when the preview expires",
            schedule_expression=at_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=DELETE_STACK_TARGET,
                role_arn=self.role.role_arn,
                input=stack.to_json_string({"StackName": stack.stack_id}),
            ),
        )
        # No ActionAfterCompletion: CloudFormation's AWS::Scheduler::Schedule does not accept it
        # (the API does; CDK's CfnSchedule and cfn-lint's schema have no such property, see
        # aws/aws-cdk#27455), and it is not needed: deleting the stack deletes the schedule.
        # The role must be able to act by the time the schedule can fire.
        self.schedule.node.add_dependency(policy)


def _statements(stack: Stack) -> list[iam.PolicyStatement]:
    statements = [
        iam.PolicyStatement(
            sid="DeleteThisStackOnly",
            actions=["cloudformation:DeleteStack"],
            resources=[stack.stack_id],
        )
    ]
    synthesizer = stack.synthesizer
    if isinstance(synthesizer, DefaultStackSynthesizer):
        # CloudFormation deletes with the role the stack was deployed with (CDK's bootstrap
        # execution role): the caller must be allowed to pass it, to CloudFormation only.
        statements.append(
            iam.PolicyStatement(
                sid="PassTheDeployRoleToCloudFormation",
                actions=["iam:PassRole"],
                resources=[Fn.sub(synthesizer.cloud_formation_execution_role_arn)],
                conditions={
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            )
        )
    return statements
