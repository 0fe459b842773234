"""Small helpers shared by the constructs and the stacks: CDK enums for config values."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from fargate_env.config import LOG_RETENTION_DAYS

_R = logs.RetentionDays
# jsii enums carry names, not day counts; same order as config.LOG_RETENTION_DAYS.
_RETENTION_ENUMS = (
    _R.ONE_DAY, _R.THREE_DAYS, _R.FIVE_DAYS, _R.ONE_WEEK, _R.TWO_WEEKS, _R.ONE_MONTH,
    _R.TWO_MONTHS, _R.THREE_MONTHS, _R.FOUR_MONTHS, _R.FIVE_MONTHS, _R.SIX_MONTHS, _R.ONE_YEAR,
    _R.THIRTEEN_MONTHS, _R.EIGHTEEN_MONTHS, _R.TWO_YEARS, _R.THREE_YEARS, _R.FIVE_YEARS,
)  # fmt: skip
RETENTION = dict(zip(LOG_RETENTION_DAYS, _RETENTION_ENUMS, strict=True))


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a day count the config has validated."""
    return RETENTION[days]


def removal_policy(name: str) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if name == "retain" else RemovalPolicy.DESTROY
