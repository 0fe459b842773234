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
