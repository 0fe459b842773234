"""AWS facts the config enforces, each with where it comes from. Nothing here is tunable."""

from __future__ import annotations

# Values CloudWatch Logs accepts for retentionInDays.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)

# Fargate task sizes: cpu units -> allowed memory MiB (AWS ECS developer guide, task sizes).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}

# TLS policies that offer TLS 1.3 and 1.2 only (ELB docs, "Security policies").
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
)

# ALB quotas (ELB docs, "Quotas for your Application Load Balancers").
ALB_TARGET_GROUPS = 100  # per load balancer, not adjustable
ALB_RULES = 100  # per load balancer excluding default rules, adjustable
ALB_CONDITION_VALUES = 5  # per rule
ALB_WILDCARDS = 5  # per rule
# Listener-rule priorities are 1-50000, unique per listener.
RULE_PRIORITY_MAX = 50_000
# ALB path patterns and host headers are at most 128 characters each.
ALB_CONDITION_VALUE_LENGTH = 128

# AWS Budgets accepts at most 10 e-mail subscribers per notification (Budgets quotas).
MAX_BUDGET_EMAILS = 10

# Fargate's stopTimeout maximum (ECS task definition parameters).
FARGATE_STOP_TIMEOUT_MAX = 120

# CloudFront's origin-facing managed prefix list (com.amazonaws.global.cloudfront.origin-facing)
# has one id per region; CDK's PrefixList.from_lookup would need credentials at synth. Ids as
# `aws ec2 describe-managed-prefix-lists` returns them (collected from public templates that
# use them, 2026-11); other regions: load_balancer.cloudfront.origin_prefix_list_id.
CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS = {
    "ap-northeast-1": "pl-58a04531",
    "ap-northeast-2": "pl-22a6434b",
    "ap-south-1": "pl-9aa247f3",
    "ap-southeast-1": "pl-31a34658",
    "ap-southeast-2": "pl-b8a742d1",
    "ca-central-1": "pl-38a64351",
    "eu-central-1": "pl-a3a144ca",
    "eu-north-1": "pl-fab65393",
    "eu-west-1": "pl-4fa04526",
    "eu-west-2": "pl-93a247fa",
    "eu-west-3": "pl-75b1541c",
    "sa-east-1": "pl-5da64334",
    "us-east-1": "pl-3b927c52",
    "us-east-2": "pl-b6a144df",
    "us-west-1": "pl-4ea04527",
    "us-west-2": "pl-82a045eb",
}
# CloudFront uses ACM certificates from this region only (CloudFront developer guide,
# "Requirements for using SSL/TLS certificates with CloudFront").
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"
# The viewer TLS policy with a custom domain (TLS 1.2 only, modern ciphers).
CLOUDFRONT_TLS_POLICY = "TLSv1.2_2021"
# CloudFront price classes, cheapest first (edge locations used).
CLOUDFRONT_PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

# ECS deployment configuration (ECS API reference: DeploymentConfiguration,
# CanaryConfiguration, LinearConfiguration): bake times are whole minutes 0-1440 (24 h);
# percentages are multiples of 0.1, canary 0.1-100, linear step 3-100.
ECS_BAKE_MINUTES_MAX = 1440
ECS_CANARY_PERCENT = (0.1, 100.0)
ECS_LINEAR_STEP_PERCENT = (3.0, 100.0)
# CloudFormation rejects a linear deployment whose bake time + step bake x steps exceeds
# 33 hours (AWS::ECS::Service LinearConfiguration), to stay inside its 36-hour timeout.
CFN_LINEAR_DEPLOY_MINUTES_MAX = 33 * 60
# AWS Regions (AWS General Reference, "Regions and Zones"; commercial, GovCloud and China).
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-south-2", "eu-north-1",
    "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
    "us-gov-east-1", "us-gov-west-1",
    "cn-north-1", "cn-northwest-1",
)  # fmt: skip


def partition(region: str) -> str:
    """The ARN partition of a region: aws, aws-us-gov or aws-cn."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


# EC2 instance families a NAT instance may use, with their sizes (EC2 "Instance types"
# specifications; bare metal left out). Families not listed are refused, not guessed.
_T = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge")
_STD = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
_GRAVITON = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
NAT_INSTANCE_SIZES: dict[str, tuple[str, ...]] = {
    "t2": _T,
    "t3": _T,
    "t3a": _T,
    "t4g": _T,
    "a1": ("medium", "large", "xlarge", "2xlarge", "4xlarge"),
    "m5": _STD,
    "m5a": _STD,
    "m6i": (*_STD, "32xlarge"),
    "m6a": (*_STD, "32xlarge", "48xlarge"),
    "m7i": (*_STD, "48xlarge"),
    "m7a": ("medium", *_STD, "32xlarge", "48xlarge"),
    "m6g": _GRAVITON,
    "m7g": _GRAVITON,
    "c5": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge"),
    "c5n": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
    "c6i": (*_STD, "32xlarge"),
    "c6a": (*_STD, "32xlarge", "48xlarge"),
    "c7i": (*_STD, "48xlarge"),
    "c6g": _GRAVITON,
    "c6gn": _GRAVITON,
    "c7g": _GRAVITON,
    "c7gn": _GRAVITON,
    "r5": _STD,
    "r6i": (*_STD, "32xlarge"),
    "r6g": _GRAVITON,
    "r7g": _GRAVITON,
}

# Resource tags (Tagging AWS resources, "Tag naming limits and requirements"): at most 50 per
# resource, keys 1-128 and values 0-256 Unicode characters of letters, digits, spaces and
# _ . : / = + - @; the "aws:" prefix is reserved for AWS.
TAGS_PER_RESOURCE = 50
TAG_KEY_LENGTH = 128
TAG_VALUE_LENGTH = 256
TAG_PUNCTUATION = "_.:/=+-@"

# EventBridge / Application Auto Scaling cron years (EventBridge "Cron expressions").
CRON_YEARS = (1970, 2199)

# Fargate Linux platform versions a service may pin, newest first; "LATEST" is 1.4.0 today
# (ECS developer guide, "Fargate Linux platform versions"). ARM64 needs 1.4.0 or later, on
# FARGATE_SPOT too (ECS API reference, CapacityProviderStrategyItem: "FARGATE_SPOT supports
# Linux tasks with the ARM64 architecture on platform version 1.4.0 or later").
FARGATE_PLATFORM_VERSIONS = ("LATEST", "1.4.0", "1.3.0")
FARGATE_ARM64_MIN_PLATFORM = ("1.4.0",)

# Fargate Spot: a task gets a two-minute warning (SIGTERM) before it is stopped (ECS docs,
# "Fargate capacity providers"); deregistration and the stop timeout must fit in it.
FARGATE_SPOT_NOTICE_SECONDS = 120


# Resource types that hold data, with what is lost when CloudFormation replaces or deletes one,
# and the properties whose change makes it create a new resource (createOnlyProperties in the
# CloudFormation resource schemas, as cfn-lint ships them). AWS::KMS::Key has none in its
# schema, but CloudFormation refuses to update KeySpec, KeyUsage, Origin or MultiRegion of a
# key in place (AWS::KMS::Key reference, "Important"): the key would have to be replaced.
DATA_HOLDING: dict[str, tuple[str, tuple[str, ...]]] = {
    "AWS::ECR::Repository": ("images", ("RepositoryName", "EncryptionConfiguration")),
    "AWS::Logs::LogGroup": ("log events", ("LogGroupName",)),
    "AWS::S3::Bucket": ("objects", ("BucketName", "BucketNamePrefix", "BucketNamespace")),
    "AWS::KMS::Key": (
        "everything encrypted with it",
        ("KeySpec", "KeyUsage", "Origin", "MultiRegion"),
    ),
}
# DeletionPolicy / UpdateReplacePolicy values that keep the old resource (CloudFormation
# "DeletionPolicy attribute"): its data is not lost, only left outside the stack.
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")

# ECS task definitions (ECS developer guide, "Amazon ECS service quotas": task definition
# size, 64 KiB; the RegisterTaskDefinition request is refused above it).
ECS_TASK_DEFINITION_BYTES = 64 * 1024

# VPC CIDR blocks (VPC user guide, "VPC CIDR blocks"): a VPC's IPv4 block is /16 to /28.
# CreateVpc refuses (InvalidVpc.Range) blocks in this network, loopback, link-local,
# multicast and reserved space; AWS tells you not to use 172.17.0.0/16 (Docker's default
# bridge: Cloud9, SageMaker and the local rehearsal's containers conflict with it).
VPC_PREFIX_RANGE = (16, 28)
VPC_REFUSED_RANGES = {
    block: f"{what} space, which CreateVpc refuses"
    for block, what in {
        "0.0.0.0/8": "'this network'",
        "127.0.0.0/8": "loopback",
        "169.254.0.0/16": "link-local",
        "224.0.0.0/4": "multicast",
        "240.0.0.0/4": "reserved",
    }.items()
}
VPC_AVOIDED_RANGES = {
    "172.17.0.0/16": "Docker's default bridge, which AWS says not to use for a VPC"
}

# Docker/OCI image references (distribution/reference grammar): a tag is at most 128
# characters; a digest is sha256 followed by 64 hex characters.
IMAGE_TAG_LENGTH = 128
# Tags every registry moves to each new build: a deploy that names one is not pinned, and in
# an IMMUTABLE ECR repository (ours) it can be pushed once and never moved.
MUTABLE_TAGS = ("latest",)
