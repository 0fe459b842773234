"""`fargate-env cost`: one preview priced from its synthesized stack, per month and per day;
previews.expected_active previews added to the bill."""

from __future__ import annotations

import pytest

from fargate_env.cost.compare import current_bill
from fargate_env.cost.preview import DAYS_PER_MONTH, add_expected_previews, preview_cost
from tests.conftest import make_config
from tests.kinds import KINDS
from tests.stacks.test_preview import NO_PREVIEWS

# By hand from cost/prices.py: Spot x86 0.25 x $0.01244323 + 0.5 x $0.00136649 per hour x 730 h,
# + the preview log assumption (0.1 GB/month) ingested x $0.50 + 3 days of it kept x $0.03.
TASK = (0.25 * 0.01244323 + 0.5 * 0.00136649) * 730
PREVIEW_LOG_GB = 0.1
LOGS = PREVIEW_LOG_GB * (0.5 + 3 / (365 / 12) * 0.03)


@pytest.fixture(scope="module")
def priced():
    config = make_config()
    bill = current_bill(config)
    return config, bill, preview_cost(config)


def test_one_preview_costs_its_task_and_its_logs_only(priced):
    _, _, cost = priced
    assert cost.service == "web"
    assert cost.monthly_usd == pytest.approx(TASK + LOGS, abs=0.005)
    assert cost.per_day_usd == pytest.approx((TASK + LOGS) / DAYS_PER_MONTH, abs=0.0002)
    # $0.093/day: the task is $0.091, its logs (cost.usage.preview_log_ingest_gb_month) $0.002.
    assert "goal" not in str(cost.to_json())
    assert cost.to_json()["preview"]["per_day_usd"] == pytest.approx(0.0928, abs=0.0002)


def test_the_preview_log_assumption_prices_the_preview_alone(priced):
    _, bill, cost = priced
    more = make_config({"cost": {"usage": {"preview_log_ingest_gb_month": 1.0}}})
    heavier = preview_cost(more)
    assert heavier.monthly_usd - cost.monthly_usd == pytest.approx(
        0.9 * (0.5 + 3 / (365 / 12) * 0.03), abs=0.005
    )
    # The services' own bill does not move with it.
    assert current_bill(more).total == bill.total


def test_expected_active_previews_are_added_to_the_bill(priced):
    config, bill, cost = priced
    before = bill.total
    assert config.previews.expected_active == 0
    add_expected_previews(bill, cost)  # 0: nothing added
    assert bill.total == before
    cost.expected_active = 2
    add_expected_previews(bill, cost)
    assert bill.total == pytest.approx(before + 2 * cost.monthly_usd, abs=0.01)
    assert bill.lines[-1].stack == "previews (assumed)"
    assert bill.assumptions["previews_expected_active"] == 2


def test_without_previews_nothing_is_priced():
    config = make_config(NO_PREVIEWS)
    assert preview_cost(config) is None


@pytest.mark.parametrize("overrides", [None, KINDS], ids=["demo", "every kind"])
def test_a_preview_priced_alone_costs_what_it_adds_to_the_whole_environment(overrides, tmp_path):
    """Why only the previewed service is synthesized: in a full synthesis the preview adds
    exactly its own stack's lines."""
    from fargate_env.cost.preview import PROBE, price_with_previews
    from fargate_env.preview_spec import new_preview, now_utc

    config = make_config(overrides)
    probe = new_preview(config, PROBE, service="web", image_tag=None, ttl=None, now=now_utc())
    full = price_with_previews(config, tmp_path / "full", [probe])
    added = full.exact_total - current_bill(config).exact_total
    assert preview_cost(config).monthly_usd == pytest.approx(added, abs=1e-9)
