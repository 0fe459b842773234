"""Reusable constrained types: each rule is written once and names what it expects."""

from __future__ import annotations

import calendar
import datetime
import ipaddress
import re
import unicodedata
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator

from fargate_env.config.cron import MONTHS, CronNotExpanded, cron_fields, expand, rate_minutes
from fargate_env.config.limits import (
    CRON_YEARS,
    LOG_RETENTION_DAYS,
    NAT_INSTANCE_SIZES,
    REGIONS,
    TAG_KEY_LENGTH,
    TAG_PUNCTUATION,
    TAG_VALUE_LENGTH,
    VPC_AVOIDED_RANGES,
    VPC_REFUSED_RANGES,
)

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_SECRET_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"
)
_SSM_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Plain environment variables whose names say they hold a secret belong in `secrets`.
_SECRET_LIKE_RE = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY$)", re.IGNORECASE)


def pattern(regex: str, what: str) -> AfterValidator:
    """A string that must match `regex`; the error says `what` it should look like."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"must be {what} (got {value!r})")
        return value

    return AfterValidator(check)


def between(lo: float, hi: float) -> AfterValidator:
    """An inclusive range whose error names both ends (pydantic's names only the one crossed)."""

    def check(value: float) -> float:
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi} (got {value})")
        return value

    return AfterValidator(check)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"must be one of CloudWatch's retention values: {allowed} (got {value})")
    return value


def _domain(value: str) -> str:
    value = value.rstrip(".")
    if not _DOMAIN_RE.match(value):
        raise ValueError(f"must be a lowercase DNS name like app.example.com (got {value!r})")
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network like 10.40.0.0/20 (got {value!r})") from exc
    # AWS allows /16-/28; two or three AZs of public and private subnets need a /24 at least.
    if not 16 <= net.prefixlen <= 24:
        raise ValueError(f"must have a prefix between /16 and /24 (got /{net.prefixlen})")
    for block, why in (VPC_REFUSED_RANGES | VPC_AVOIDED_RANGES).items():
        if net.overlaps(ipaddress.IPv4Network(block)):
            raise ValueError(
                f"{value} overlaps {block}: {why}; use a block of 10.0.0.0/8, 172.16.0.0/12"
                " or 192.168.0.0/16"
            )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"must be an IANA timezone like Europe/Berlin (got {value!r})") from exc
    if value not in available_timezones() and value != "UTC":
        raise ValueError(f"must be an IANA timezone like Europe/Berlin (got {value!r})")
    return value


def _aws_cron(expr: str) -> str:
    """The shape of an EventBridge/Application Auto Scaling cron(...) expression.

    Six fields: minutes hours day-of-month month day-of-week year; exactly one of day-of-month
    and day-of-week must be '?'.
    """
    fields = cron_fields(expr)
    if fields is None:
        raise ValueError(
            "must be an AWS cron expression 'cron(min hour day-of-month month day-of-week year)',"
            f" e.g. 'cron(0 20 ? * MON-FRI *)' (got {expr!r})"
        )
    minute, hour, dom, month, dow, year = fields
    checks = [
        (minute, r"^(\*|\d{1,2}([,-/]\d{1,2})*|\*/\d{1,2})$", "minutes"),
        (hour, r"^(\*|\d{1,2}([,-/]\d{1,2})*|\*/\d{1,2})$", "hours"),
        (dom, r"^(\?|\*|L|W|\d{1,2}W?([,-/]\d{1,2})*|\*/\d{1,2})$", "day-of-month"),
        (month, r"^(\*|[0-9A-Za-z]{1,3}([,-/][0-9A-Za-z]{1,3})*|\*/\d{1,2})$", "month"),
        (dow, r"^(\?|\*|[1-7A-Za-z]{1,3}([,-/#][1-7A-Za-z]{1,3})*L?)$", "day-of-week"),
        (year, r"^(\*|\d{4}([,-/]\d{1,4})*)$", "year"),
    ]
    for value, regex, label in checks:
        if not re.match(regex, value):
            raise ValueError(f"has an invalid {label} field {value!r} in {expr!r}")
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"needs '?' in exactly one of day-of-month and day-of-week (got {expr!r})")
    bounds = [(minute, 0, 59, "minute"), (hour, 0, 23, "hour"), (dom, 1, 31, "day-of-month"),
              (month, 1, 12, "month"), (year, *CRON_YEARS, "year")]  # fmt: skip
    for value, lo, hi, label in bounds:
        for number in map(int, re.findall(r"\d+", value.split("/")[0])):
            if not lo <= number <= hi:
                raise ValueError(
                    f"has an out-of-range {label} {number} in {expr!r} (allowed {lo}-{hi})"
                )
    _can_fire(expr.strip(), dom, month, year)
    return expr.strip()


def _listed(field: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The numbers a cron field lists (None: anything, or a form that does not expand)."""
    if field in ("*", "?"):
        return None
    try:
        return expand(field, lo, hi, names)
    except CronNotExpanded:
        return None


def _can_fire(expr: str, dom: str, month: str, year: str) -> None:
    """Refuse a schedule that never fires: a day no listed month has (31 February), or only
    years that are over."""
    years = _listed(year, *CRON_YEARS)
    this_year = datetime.datetime.now(datetime.UTC).year
    if years is not None and max(years) < this_year:
        raise ValueError(f"never fires: every year in {expr!r} is before {this_year}")
    days = _listed(dom.rstrip("W"), 1, 31)
    months = _listed(month, 1, 12, MONTHS) or set(range(1, 13))
    if days and min(days) > max(calendar.monthrange(2024, m)[1] for m in months):
        names = ", ".join(calendar.month_abbr[m] for m in sorted(months))
        raise ValueError(f"never fires: no day {min(days)} in {names} ({expr!r})")


def _region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(f"must be an AWS region like us-east-1 or eu-central-1 (got {value!r})")
    return value


def _instance_type(value: str) -> str:
    family, _, size = value.partition(".")
    if family not in NAT_INSTANCE_SIZES:
        known = ", ".join(NAT_INSTANCE_SIZES)
        raise ValueError(f"{value!r}: not an EC2 instance family for a NAT instance ({known})")
    if size not in NAT_INSTANCE_SIZES[family]:
        sizes = ", ".join(NAT_INSTANCE_SIZES[family])
        raise ValueError(f"{value!r}: {family} comes in {sizes}")
    return value


def _tag_text_ok(text: str) -> bool:
    return all(unicodedata.category(c)[0] in "LNZ" or c in TAG_PUNCTUATION for c in text)


def _tags(value: dict[str, str]) -> dict[str, str]:
    allowed = f"letters, digits, spaces and {' '.join(TAG_PUNCTUATION)}"
    for key, text in value.items():
        if not 1 <= len(key) <= TAG_KEY_LENGTH or not _tag_text_ok(key):
            raise ValueError(f"key {key!r}: a tag key has 1-{TAG_KEY_LENGTH} characters: {allowed}")
        if key.lower().startswith("aws:"):
            raise ValueError(f"key {key!r}: the aws: prefix is reserved for AWS")
        if len(text) > TAG_VALUE_LENGTH or not _tag_text_ok(text):
            raise ValueError(
                f"{key}: a tag value has at most {TAG_VALUE_LENGTH} characters (got"
                f" {len(text)}): {allowed}"
            )
    return value


def _env_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _ENV_VAR_RE.match(name):
            raise ValueError(f"has an invalid environment variable name {name!r}")
        if _SECRET_LIKE_RE.search(name):
            raise ValueError(
                f"{name}: looks like a secret; move it to `secrets` (a Secrets Manager ARN or"
                " an SSM parameter name), where ECS injects it without showing it in the template"
            )
    return value


def _secret_refs(value: dict[str, str]) -> dict[str, str]:
    for name, ref in value.items():
        if not _ENV_VAR_RE.match(name):
            raise ValueError(f"has an invalid environment variable name {name!r}")
        if not (_SECRET_ARN_RE.match(ref) or (_SSM_NAME_RE.match(ref) and ":" not in ref)):
            raise ValueError(
                f"{name}: must be a Secrets Manager secret ARN"
                " (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter"
                f" name like /app/db-password (got {ref!r})"
            )
    return value


# A name that ends up in stack names, ECR repositories, alarm names and DNS labels alike:
# lowercase letters and digits in dash-separated words (ECR rejects "--" and a trailing "-").
_NAME = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

EnvironmentName = Annotated[
    str,
    pattern(_NAME, "lowercase letters, digits and single dashes, starting with a letter"),
    pattern(r"^.{2,20}$", "2-20 characters"),
]
ServiceName = Annotated[
    str,
    pattern(_NAME, "lowercase letters, digits and single dashes, starting with a letter"),
    pattern(r"^.{1,24}$", "1-24 characters"),
]
AccountId = Annotated[str, pattern(r"^\d{12}$", "a 12-digit AWS account id")]
Region = Annotated[str, AfterValidator(_region)]
CertificateArn = Annotated[
    str,
    pattern(
        r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$",
        "an ACM certificate ARN like arn:aws:acm:REGION:ACCOUNT:certificate/UUID",
    ),
]
SecretArn = Annotated[
    str,
    pattern(
        _SECRET_ARN_RE.pattern,
        "a Secrets Manager secret ARN like arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
    ),
]
KmsKeyArn = Annotated[
    str,
    pattern(
        r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$",
        "a KMS key ARN like arn:aws:kms:REGION:ACCOUNT:key/UUID",
    ),
]
HostedZoneId = Annotated[
    str, pattern(r"^Z[A-Z0-9]{1,31}$", "a Route 53 hosted zone id like Z0123456789ABC")
]
DomainName = Annotated[str, AfterValidator(_domain)]
Email = Annotated[
    str,
    pattern(
        r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        "an e-mail address like ops@example.com",
    ),
]
EcrRepositoryName = Annotated[
    str,
    pattern(
        r"^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$",
        "2-256 lowercase letters, digits and . _ - / (ECR naming rules)",
    ),
]
SqsQueueName = Annotated[
    str,
    pattern(
        r"^(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?$",
        "an SQS queue name: 1-80 letters, digits, _ and -, optionally ending in .fifo",
    ),
]
DockerTag = Annotated[
    str, pattern(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "a Docker tag: letters, digits, _ . -")
]
InstanceType = Annotated[str, AfterValidator(_instance_type)]
Tags = Annotated[dict[str, str], AfterValidator(_tags)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Timezone = Annotated[str, AfterValidator(_timezone)]
AwsCron = Annotated[str, AfterValidator(_aws_cron)]


def _job_schedule(expression: str) -> str:
    """What EventBridge Scheduler takes: cron(...) or rate(N minutes|hours|days), N >= 1."""
    if expression.strip().startswith("rate("):
        if not rate_minutes(expression):
            raise ValueError(
                f"{expression!r}: a rate is 'rate(N minutes|hours|days)' with N >= 1,"
                " e.g. 'rate(6 hours)'"
            )
        return expression.strip()
    return _aws_cron(expression)


JobSchedule = Annotated[str, AfterValidator(_job_schedule)]
RetentionDays = Annotated[int, AfterValidator(_retention)]
EnvironmentVariables = Annotated[dict[str, str], AfterValidator(_env_names)]
SecretRefs = Annotated[dict[str, str], AfterValidator(_secret_refs)]
RemovalPolicy = Literal["retain", "destroy"]
