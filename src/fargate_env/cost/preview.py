"""The cost of one preview, measured like one more service: a preview of the smallest web
service is synthesized and priced, and its stack's lines are the preview's monthly cost; per
day alive is that over the month's days (730 h / 24). Only the previewed service and the
preview are synthesized (issue 21): the other services change nothing in a preview's stack
(tests/cost/test_preview.py compares with a full synthesis).

`previews.expected_active` previews are assumed alive all month and added to the bill."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_env.assembly import assembly_region
from fargate_env.config import EnvironmentConfig, parse_config
from fargate_env.cost.estimate import Bill, BillLine, estimate
from fargate_env.cost.marginal import _describe, smallest_service
from fargate_env.cost.prices import HOURS_PER_MONTH
from fargate_env.preview_spec import new_preview, now_utc
from fargate_env.synth import synthesize

PROBE = "cost-probe"
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass
class PreviewCost:
    service: str
    description: str
    monthly_usd: float
    expected_active: int

    @property
    def per_day_usd(self) -> float:
        return self.monthly_usd / DAYS_PER_MONTH

    def to_json(self) -> dict[str, Any]:
        return {
            "preview": {
                "of": self.service,
                "size": self.description,
                "monthly_usd": round(self.monthly_usd, 2),
                "per_day_usd": round(self.per_day_usd, 4),
                "expected_active": self.expected_active,
            }
        }


def preview_cost(config: EnvironmentConfig) -> PreviewCost | None:
    """None when the environment has no previews (no load_balancer.preview_domain) or no web
    service to preview."""
    service = smallest_service(config)
    if not config.load_balancer.preview_domain or service is None:
        return None
    data = config.model_dump(mode="json")
    data["services"] = {service: data["services"][service]}
    alone = parse_config(data, f"preview probe of {service}")
    probe = new_preview(alone, PROBE, service=service, image_tag=None, ttl=None, now=now_utc())
    with tempfile.TemporaryDirectory(prefix="fargate-env-preview-") as tmp:
        bill = price_with_previews(alone, Path(tmp) / "assembly", [probe])
    stack = alone.preview_stack_name(PROBE)
    monthly = sum(line.monthly_usd for line in bill.lines if line.stack == stack)
    return PreviewCost(
        service, _describe(config, service), monthly, config.previews.expected_active
    )


def price_with_previews(config: EnvironmentConfig, outdir: Path, previews: list) -> Bill:
    stacks = synthesize(config, outdir, validation=False, previews=previews)
    return estimate(stacks, assembly_region(outdir), config.cost.usage)


def add_expected_previews(bill: Bill, cost: PreviewCost) -> None:
    """`previews.expected_active` previews alive all month, as one line of the bill."""
    if not cost.expected_active:
        return
    n = cost.expected_active
    bill.lines.append(
        BillLine(
            stack="previews (assumed)",
            resource=f"{n} active preview{'s' if n > 1 else ''}",
            type="fargate-env::Preview",
            monthly_usd=n * cost.monthly_usd,
            basis=f"previews.expected_active = {n} x ${cost.monthly_usd:.2f}/month"
            f" (a preview of {cost.service}, priced from its synthesized stack)",
            item="previews",
            short=f"{n} x ${cost.monthly_usd:.2f} (previews.expected_active)",
        )
    )
    bill.assumptions["previews_expected_active"] = n
