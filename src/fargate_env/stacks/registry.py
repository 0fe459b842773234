"""RegistryStack: one private ECR repository per service that `push` builds (none for an
image.uri), deployed before any image is pushed."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, CfnWaitConditionHandle, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import RegistryConfig
from fargate_env.constructs.common import removal_policy

# What another account needs to pull an image (ECR docs, "Repository policy examples").
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


class RegistryStack(Stack):
    """Scan on push, immutable tags, encryption and lifecycle rules that bound storage cost."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_names: Mapping[str, str],
        registry: RegistryConfig,
        **kwargs,
    ) -> None:
        """`repository_names`: service -> repository name, for the services `push` builds
        (an image.uri service pulls from another registry: nothing to push here)."""
        super().__init__(scope, construct_id, **kwargs)
        self.repositories: dict[str, ecr.Repository] = {}
        for service, repository_name in repository_names.items():
            # The construct id is the service name: adding a service never renames another's.
            repository = _repository(self, service, repository_name, registry)
            self.repositories[service] = repository
            CfnOutput(
                self,
                outputs.per_service(outputs.REPOSITORY_URI, service),
                value=repository.repository_uri,
            )
            CfnOutput(
                self,
                outputs.per_service(outputs.REPOSITORY_NAME, service),
                value=repository.repository_name,
            )
        if not self.repositories:
            # Every image comes from another registry. CloudFormation refuses a stack without
            # resources, and the other stacks still order themselves after this one: a free
            # no-op resource keeps it deployable.
            CfnWaitConditionHandle(self, "NoRepositories")


def _repository(scope: Construct, cid: str, name: str, reg: RegistryConfig) -> ecr.Repository:
    repository = ecr.Repository(
        scope,
        cid,
        repository_name=name,
        image_scan_on_push=True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        # AES256 at rest; a KMS key would add $1/month and buys nothing for non-prod images.
        encryption=ecr.RepositoryEncryption.AES_256,
        removal_policy=removal_policy(reg.removal_policy),
        empty_on_delete=reg.removal_policy == "destroy",
        lifecycle_rules=[
            ecr.LifecycleRule(
                rule_priority=1,
                description=f"expire untagged images after {reg.untagged_expiry_days} days",
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=Duration.days(reg.untagged_expiry_days),
            ),
            ecr.LifecycleRule(
                rule_priority=2,
                description=f"keep the last {reg.keep_tagged_images} images",
                tag_status=ecr.TagStatus.ANY,
                max_image_count=reg.keep_tagged_images,
            ),
        ],
    )
    # ECR encrypts with AES256 anyway; state it so the template says so (CDK omits it).
    cfn_repo = repository.node.default_child
    cfn_repo.encryption_configuration = ecr.CfnRepository.EncryptionConfigurationProperty(
        encryption_type="AES256"
    )
    if reg.pull_accounts:
        repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CrossAccountPull",
                actions=list(PULL_ACTIONS),
                principals=[iam.AccountPrincipal(a) for a in reg.pull_accounts],
            )
        )
    return repository
