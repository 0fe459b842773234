"""List prices per region, each with where it comes from and when it was read.

Prices are USD, Linux, on-demand list prices without free tier: the account this lands in may
already use its CloudWatch free tier, so the bill assumes none is left (say so, never hide it).
`verified=False` marks figures taken from a secondary source or memory, not re-read on the AWS
pricing page; re-check them before relying on the cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

from fargate_env.errors import UserError

HOURS_PER_MONTH = 730.0
HOURS_PER_WEEK = 168.0

# AL2023 AMIs map an 8 GiB gp3 root volume; the NAT instance template sets no
# BlockDeviceMappings, so it gets the AMI default (AL2023 AMI block-device mapping, 2026-11).
AMI_DEFAULT_ROOT_VOLUME_GB = 8.0


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    date: str
    verified: bool = True


def _p(usd: float, unit: str, source: str, date: str, verified: bool = True) -> Price:
    return Price(usd, unit, source, date, verified)


_AWS_CW = "aws.amazon.com/cloudwatch/pricing"
# Standard workflows, per state transition: $0.0250 per 1,000 in both regions below (AWS Step
# Functions pricing page, regional table); 4,000 a month are always free (not assumed left).
_SFN = _p(
    0.025 / 1000,
    "state transition ($0.0250 per 1,000)",
    "aws.amazon.com/step-functions/pricing",
    "2026-12-03",
)
_AWS_CF = "aws.amazon.com/cloudfront/pricing"
# CloudFront bills by where viewers are, not by the origin's region: these are the United
# States/Mexico/Canada and Europe/Israel/Turkiye rates (the edges of PriceClass_100), the same
# for every origin region. VPC origins and origin fetches from an ALB cost nothing extra.
_CLOUDFRONT: dict[str, Price] = {
    "cloudfront_transfer_gb": _p(0.085, "GB out (first 10 TB)", _AWS_CF, "2026-11-27"),
    "cloudfront_request": _p(
        0.0100 / 10_000, "HTTPS request ($0.0100 per 10,000)", f"{_AWS_CF}; wring.co", "2026-03-08"
    ),
}
# CloudFront's always-free tier, every month (not only the first year): 1 TB out, read as
# 1,000 GB (the lower of the two readings), and 10,000,000 HTTP(S) requests (_AWS_CF).
CLOUDFRONT_FREE_TRANSFER_GB = 1000.0
CLOUDFRONT_FREE_REQUESTS = 10_000_000
_US_EAST_1: dict[str, Price] = {
    "fargate_x86_vcpu_hour": _p(
        0.04048, "vCPU-hour", "vantage.sh Fargate post; wring.co", "2026-03-10"
    ),
    "fargate_x86_gb_hour": _p(
        0.004445, "GB-hour", "vantage.sh Fargate post; wring.co", "2026-03-10"
    ),
    "fargate_arm_vcpu_hour": _p(0.03238, "vCPU-hour", "vantage.sh; fortem.dev", "2026-06"),
    "fargate_arm_gb_hour": _p(0.00356, "GB-hour", "vantage.sh; fortem.dev", "2026-06"),
    # Spot floats; this is the commonly quoted figure (~70 % off), not a guarantee.
    "fargate_spot_x86_vcpu_hour": _p(
        0.01244323, "vCPU-hour", "aws.amazon.com/fargate/pricing", "2026-11", False
    ),
    "fargate_spot_x86_gb_hour": _p(
        0.00136649, "GB-hour", "aws.amazon.com/fargate/pricing", "2026-11", False
    ),
    # ARM64 on FARGATE_SPOT (ECS API reference, CapacityProviderStrategyItem, platform 1.4.0+).
    # AWS publishes only a live price; this is 70 % off ARM on-demand, the top of the 50-70 %
    # range fortem.dev quotes (2026-06), near the x86 Spot figure's own 69 % above. Unverified.
    "fargate_spot_arm_vcpu_hour": _p(
        0.009714, "vCPU-hour", "fortem.dev/fargate-spot (70 % off ARM)", "2026-06", False
    ),
    "fargate_spot_arm_gb_hour": _p(
        0.001068, "GB-hour", "fortem.dev/fargate-spot (70 % off ARM)", "2026-06", False
    ),
    "alb_hour": _p(0.0225, "ALB-hour", "cloud-horizons.com", "2026-05-08"),
    "alb_lcu_hour": _p(0.008, "LCU-hour", "cloud-horizons.com", "2026-05-08"),
    "nat_gateway_hour": _p(0.045, "NAT-hour", "cloudburn.io", "2026-02-24"),
    "nat_gateway_gb": _p(0.045, "GB processed", "cloudburn.io", "2026-02-24"),
    "public_ipv4_hour": _p(
        0.005, "IP-hour", "AWS public IPv4 charge announcement; doit.com", "2024-02-01"
    ),
    "ebs_gp3_gb_month": _p(0.08, "GB-month", "aws.amazon.com/ebs/pricing", "2026-11"),
    "logs_ingest_gb": _p(0.50, "GB ingested", _AWS_CW, "2026-11"),
    "logs_stored_gb_month": _p(0.03, "GB-month", _AWS_CW, "2026-11", False),
    "alarm_metric_month": _p(0.10, "alarm metric-month", _AWS_CW, "2026-11", False),
    "dashboard_month": _p(3.00, "dashboard-month", "factualminds.com; AWS free tier", "2026-06-13"),
    # Container Insights bills custom metrics; ~20 per cluster+service is our estimate.
    "custom_metric_month": _p(0.30, "metric-month", _AWS_CW, "2026-11", False),
    "kms_key_month": _p(1.00, "key-month", "aws.amazon.com/kms/pricing", "2026-11", False),
    "ecr_gb_month": _p(0.10, "GB-month", "cloudburn.io", "2026-03"),
    "sfn_state_transition": _SFN,
    "s3_gb_month": _p(0.023, "GB-month", "aws.amazon.com/s3/pricing", "2026-11"),
    "ec2_t4g.nano_hour": _p(0.0042, "instance-hour", "fck-nat docs", "2026-11"),
    "ec2_t4g.micro_hour": _p(
        0.0084, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False
    ),
    "ec2_t3.nano_hour": _p(0.0052, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False),
    "ec2_t3.micro_hour": _p(
        0.0104, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False
    ),
    **_CLOUDFRONT,
}

# Europe (Ireland): regional figures recalled from the AWS pricing pages, only the ALB and NAT
# hourly figures cross-checked against a secondary source; treat the rest as unverified.
_EU_WEST_1: dict[str, Price] = {
    **{
        k: _p(v.usd, v.unit, "aws.amazon.com/fargate/pricing (same as us-east-1)", "2026-11", False)
        for k, v in _US_EAST_1.items()
        if k.startswith("fargate_")
    },
    "alb_hour": _p(0.0252, "ALB-hour", "cal53.calculator.city ALB table", "2026-11"),
    "alb_lcu_hour": _p(
        0.008, "LCU-hour", "aws.amazon.com/elasticloadbalancing/pricing", "2026-11", False
    ),
    "nat_gateway_hour": _p(0.048, "NAT-hour", "cloudpipelines.pages.dev NAT pricing 2026", "2026"),
    "nat_gateway_gb": _p(
        0.048, "GB processed", "cloudpipelines.pages.dev NAT pricing 2026", "2026"
    ),
    "public_ipv4_hour": _p(
        0.005, "IP-hour", "AWS public IPv4 charge (all commercial regions)", "2024-02-01"
    ),
    "ebs_gp3_gb_month": _p(0.088, "GB-month", "aws.amazon.com/ebs/pricing", "2026-11", False),
    "logs_ingest_gb": _p(0.57, "GB ingested", _AWS_CW, "2026-11", False),
    "logs_stored_gb_month": _p(0.03, "GB-month", _AWS_CW, "2026-11", False),
    "alarm_metric_month": _p(0.10, "alarm metric-month", _AWS_CW, "2026-11", False),
    "dashboard_month": _p(3.00, "dashboard-month", _AWS_CW, "2026-11", False),
    "custom_metric_month": _p(0.30, "metric-month", _AWS_CW, "2026-11", False),
    "kms_key_month": _p(1.00, "key-month", "aws.amazon.com/kms/pricing", "2026-11", False),
    "ecr_gb_month": _p(0.10, "GB-month", "aws.amazon.com/ecr/pricing", "2026-11", False),
    "sfn_state_transition": _SFN,
    "s3_gb_month": _p(0.023, "GB-month", "aws.amazon.com/s3/pricing", "2026-11", False),
    "ec2_t4g.nano_hour": _p(
        0.0046, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False
    ),
    "ec2_t4g.micro_hour": _p(
        0.0092, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False
    ),
    "ec2_t3.nano_hour": _p(0.0057, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False),
    "ec2_t3.micro_hour": _p(
        0.0114, "instance-hour", "aws.amazon.com/ec2/pricing", "2026-11", False
    ),
    **_CLOUDFRONT,
}

PRICES: dict[str, dict[str, Price]] = {"us-east-1": _US_EAST_1, "eu-west-1": _EU_WEST_1}

# Metrics Container Insights publishes for one cluster with one service (our estimate, unverified).
CONTAINER_INSIGHTS_METRICS = 20


class PriceTable:
    """The prices of one region; `usd(key)` fails loudly on a key the table lacks."""

    def __init__(self, region: str) -> None:
        if region not in PRICES:
            known = ", ".join(sorted(PRICES))
            raise UserError(
                f"no price table for region {region!r}: cost knows {known}"
                " (add the region to src/fargate_env/cost/prices.py)"
            )
        self.region = region
        self.prices = PRICES[region]

    def usd(self, key: str) -> float:
        return self.prices[key].usd

    def has(self, key: str) -> bool:
        return key in self.prices

    @overload
    def fargate_hour(self, vcpu: float, gb: float, architecture: str) -> float: ...
    @overload
    def fargate_hour(
        self, vcpu: float, gb: float, architecture: str, *, spot: bool
    ) -> float | None: ...

    def fargate_hour(
        self, vcpu: float, gb: float, architecture: str, *, spot: bool = False
    ) -> float | None:
        """One Fargate task-hour of `vcpu` and `gb` on `architecture` (the config's "x86_64" /
        "arm64" or the template's "X86_64" / "ARM64"), on demand or on Spot: the one place
        the hourly price is computed. None for Spot the table has no price for."""
        arch = "arm" if architecture.lower() == "arm64" else "x86"
        prefix = "fargate_spot" if spot else "fargate"
        cpu_key, gb_key = f"{prefix}_{arch}_vcpu_hour", f"{prefix}_{arch}_gb_hour"
        if spot and not (self.has(cpu_key) and self.has(gb_key)):
            return None
        return vcpu * self.usd(cpu_key) + gb * self.usd(gb_key)

    def unverified(self) -> list[str]:
        return sorted(k for k, p in self.prices.items() if not p.verified)
