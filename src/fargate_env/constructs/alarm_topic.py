"""AlarmTopic: the environment's encrypted alarm topic, its key, and who may publish to it."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

# Services that publish to the topic, each with its statement id and the ARN pattern of this
# account's publishers in that service (the confused-deputy guard).
PUBLISHERS = {
    "cloudwatch.amazonaws.com": ("AllowCloudWatchAlarms", "cloudwatch:{region}:{account}:alarm:*"),
    "budgets.amazonaws.com": ("AllowBudgets", "budgets::{account}:*"),
    "events.amazonaws.com": ("AllowEventRules", "events:{region}:{account}:rule/*"),
}
# What a publisher needs on the topic's key (SNS developer guide, "Key management").
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")


class AlarmTopic(Construct):
    """An SNS topic under a customer-managed key that CloudWatch, Budgets and EventBridge may
    publish to, each only from this account.

    The AWS-managed alias/aws/sns key's policy cannot be edited, so no service could publish
    through it. The topic has a fixed name so its ARN is known without a reference: the key
    policy names it, and service stacks use it without a cross-stack export.
    """

    def __init__(self, scope: Construct, construct_id: str, *, topic_name: str) -> None:
        super().__init__(scope, construct_id)
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
        self.topic_arn = f"arn:{partition}:sns:{region}:{account}:{topic_name}"

        self.key = kms.Key(
            self,
            "Key",
            description=f"{topic_name}: encrypts the alarm topic; usable by its publishers",
            enable_key_rotation=True,
            # It only protects notifications in flight: nothing to keep once the stack is gone,
            # and a retained key would keep costing $1/month.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # SNS calls KMS with the topic's ARN as encryption context: the publishers may use the
        # key for this one topic and nothing else.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPublishersThroughThisTopic",
                actions=list(KEY_ACTIONS),
                principals=[iam.ServicePrincipal(p) for p in PUBLISHERS],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self.topic_arn}
                },
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name=f"{topic_name}",
            master_key=self.key,
            enforce_ssl=True,  # Deny sns:Publish without aws:SecureTransport
        )
        for service, (sid, source) in PUBLISHERS.items():
            source_arn = f"arn:{partition}:" + source.format(region=region, account=account)
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=["sns:Publish"],
                    principals=[iam.ServicePrincipal(service)],
                    resources=[self.topic.topic_arn],
                    conditions={
                        "ArnLike": {"aws:SourceArn": source_arn},
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                )
            )
