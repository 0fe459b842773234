"""Bad `monitoring` / `cost.monthly_budget_usd` input: one line naming the field, exit 2, nothing
written; and the defaults the MonitoringStack relies on."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_env.config import MAX_BUDGET_EMAILS, ConfigError
from tests.conftest import make_config
from tests.test_config_load_balancer import run_bad

TH = "monitoring.thresholds"
EMAILS = [f"dev{i}@example.com" for i in range(MAX_BUDGET_EMAILS + 1)]


def thresholds(**values: Any) -> dict[str, Any]:
    return {"monitoring": {"thresholds": values}}


def mon(**values: Any) -> dict[str, Any]:
    return {"monitoring": values}


# (id, overrides, words the one line must hold: the field and what is wrong)
BAD = [
    ("email-no-at", mon(emails=["ops.example.com"]), ["monitoring.emails", "e-mail address like"]),
    ("email-no-tld", mon(emails=["ops@example"]), ["monitoring.emails", "'ops@example'"]),
    ("email-space", mon(emails=["o ps@example.com"]), ["monitoring.emails"]),
    ("email-twice", mon(emails=["a@x.io", "a@x.io"]), ["monitoring.emails", "more than once"]),
    ("too-many-emails", mon(emails=EMAILS), ["monitoring.emails", "at most 10"]),
    ("emails-not-list", mon(emails="a@example.com"), ["monitoring.emails"]),
    ("cpu-zero", thresholds(cpu_percent=0), [f"{TH}.cpu_percent", "between 1 and 100", "got 0"]),
    ("cpu-over-100", thresholds(cpu_percent=101), [f"{TH}.cpu_percent", "1 and 100", "got 101"]),
    ("memory-150", thresholds(memory_percent=150), [f"{TH}.memory_percent", "between 1 and 100"]),
    ("memory-negative", thresholds(memory_percent=-5), [f"{TH}.memory_percent", "got -5"]),
    ("target-5xx-negative", thresholds(target_5xx_count=-1), [f"{TH}.target_5xx_count", "1"]),
    ("alb-5xx-zero", thresholds(alb_5xx_count=0), [f"{TH}.alb_5xx_count", "1"]),
    ("unhealthy-zero", thresholds(unhealthy_periods=0), [f"{TH}.unhealthy_periods", "1 and 60"]),
    ("evaluation-periods-high", thresholds(evaluation_periods=61), [f"{TH}.evaluation_per", "60"]),
    ("p95-zero", thresholds(p95_latency_seconds=0), [f"{TH}.p95_latency_seconds", "0"]),
    ("p95-negative", thresholds(p95_latency_seconds=-0.5), [f"{TH}.p95_latency_seconds"]),
    ("period-not-allowed", thresholds(period_seconds=120), [f"{TH}.period_seconds", "60", "300"]),
    ("dashboard-not-bool", mon(dashboard="maybe"), ["monitoring.dashboard"]),
    ("threshold-typo", thresholds(cpu_percnt=90), [f"{TH}.cpu_percnt", "unknown key"]),
    ("budget-actual-zero", mon(budget_actual_percent=0), ["monitoring.budget_actual"]),
    ("budget-forecast-negative", mon(budget_forecast_percent=-1), ["monitoring.budget_forecast"]),
    ("budget-zero", {"cost": {"monthly_budget_usd": 0}}, ["cost.monthly_budget_usd", "0"]),
    ("budget-negative", {"cost": {"monthly_budget_usd": -20}}, ["cost.monthly_budget_usd"]),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_monitoring_input_is_one_line_exit_2(tmp_path, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, line


def test_bad_input_raises_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"monitoring\.thresholds\.cpu_percent"):
        make_config(thresholds(cpu_percent=0))


def test_edges_of_the_ranges_are_accepted():
    config = make_config(
        {
            "monitoring": {
                "emails": EMAILS[:MAX_BUDGET_EMAILS],
                "thresholds": {"cpu_percent": 100, "memory_percent": 1, "period_seconds": 300},
            }
        }
    )
    assert len(config.monitoring.emails) == MAX_BUDGET_EMAILS
    assert config.monitoring.thresholds.cpu_percent == 100
    assert config.monitoring.thresholds.period_seconds == 300


def test_defaults_are_non_prod_sensible():
    mon = make_config().monitoring
    assert mon.emails == [] and mon.dashboard is True
    th = mon.thresholds
    assert th.period_seconds == 60 and th.evaluation_periods == 3 and th.unhealthy_periods == 3
    assert 1 <= th.cpu_percent <= 100 and 1 <= th.memory_percent <= 100
    assert (mon.budget_actual_percent, mon.budget_forecast_percent) == (80, 100)
