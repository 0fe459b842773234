"""What the cost model cannot read from the templates: usage assumptions and the budget."""

from __future__ import annotations

from pydantic import Field

from fargate_env.config.base import Section


class UsageAssumptions(Section):
    """Usage the templates cannot tell; printed with every bill."""

    # Per service (per application log group): one more service ingests this much more.
    log_ingest_gb_month: float = Field(1.0, ge=0)
    # A preview is a review copy a few people open for a day or two (its probes are not
    # logged): a tenth of a service's logs.
    preview_log_ingest_gb_month: float = Field(0.1, ge=0)
    # Stored GB of a log group that never expires; with a retention, cost derives it from ingest.
    log_stored_gb: float = Field(1.0, ge=0)
    flow_log_ingest_gb_month: float = Field(0.5, ge=0)
    # Average load-balancer capacity units; a quiet non-prod ALB stays well below one.
    alb_lcu: float = Field(0.1, ge=0)
    nat_processed_gb_month: float = Field(5.0, ge=0)
    # Per repository (one per service).
    ecr_storage_gb: float = Field(1.0, ge=0)
    access_log_storage_gb: float = Field(0.5, ge=0)
    # With load_balancer.edge = "cloudfront": what viewers fetch through the distribution.
    cloudfront_requests_month: float = Field(1_000_000, ge=0)
    cloudfront_transfer_gb_month: float = Field(10.0, ge=0)
    # CloudFront's always-free allowance (1 TB out, 10,000,000 requests a month) is per
    # account: switch it off when other distributions in the account already use it.
    cloudfront_free_allowance: bool = True
    # Per service: every deployment runs a second revision beside the first (blue-green,
    # canary and linear for their bakes; rolling for its one register-and-drain step).
    deploys_per_month: int = Field(20, ge=0, le=10_000)
    # Per scheduled job: how long one run takes, at the job's task size (it runs on
    # its schedule only, so its bill is runs x duration).
    job_run_minutes: float = Field(10.0, gt=0, le=24 * 60)


class CostConfig(Section):
    monthly_budget_usd: float = Field(60.0, gt=0, le=100_000)
    usage: UsageAssumptions = UsageAssumptions()
