"""[services.NAME.deployment]: defaults, what each strategy accepts, and every mistake as one
line naming the field and the limit, exit 2, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_env.config.limits import ECS_BAKE_MINUTES_MAX
from tests.conftest import demo_data, make_config, merge
from tests.test_config_load_balancer import run_bad

HTTP_ONLY = {"load_balancer": {"certificate_arn": None, "allow_http_only": True}}


def api(**deployment: Any) -> dict[str, Any]:
    return {"services": {"api": {"deployment": deployment}}}


# (id, overrides of the demo, words the one line must hold)
BAD = [
    ("unknown-strategy", api(strategy="big-bang"),
     ["services.api.deployment.strategy", "'rolling'", "'canary'"]),
    ("canary-0", api(strategy="canary", canary_percent=0),
     ["services.api.deployment.canary_percent", "between 0.1 and 99.9", "0 tests nothing"]),
    ("canary-100", api(strategy="canary", canary_percent=100),
     ["services.api.deployment.canary_percent", "100 is blue-green"]),
    ("canary-not-tenths", api(strategy="canary", canary_percent=2.55),
     ["canary_percent", "multiple of 0.1"]),
    ("bake-past-ecs-limit", api(strategy="blue-green", bake_minutes=ECS_BAKE_MINUTES_MAX + 1),
     ["services.api.deployment.bake_minutes", f"0 and {ECS_BAKE_MINUTES_MAX} minutes",
      "ECS's limit"]),
    ("canary-bake-past-limit", api(strategy="canary", canary_bake_minutes=2000),
     ["canary_bake_minutes", "ECS's limit"]),
    ("linear-step-under-3", api(strategy="linear", linear_step_percent=2),
     ["services.api.deployment.linear_step_percent", "between 3 and 99.9"]),
    ("linear-past-33-hours", api(strategy="linear", linear_step_percent=3,
                                 linear_step_minutes=100),
     ["services.api.deployment", "33 steps", "CloudFormation refuses more than 1980"]),
    ("blue-green-http-only", merge(HTTP_ONLY, api(strategy="blue-green")),
     ["services.api.deployment.strategy", "'blue-green' needs the HTTPS listener",
      "load_balancer.allow_http_only"]),
    ("canary-http-only", merge(HTTP_ONLY, api(strategy="canary")),
     ["'canary' needs the HTTPS listener"]),
    ("two-production-rules",
     {"services": {"web": {"routing": {"path_patterns": ["/web/*"]},
                           "deployment": {"strategy": "canary"}}}},
     ["services.web.deployment.strategy", "one listener rule", "has 2"]),
    ("bake-with-rolling", api(bake_minutes=5),
     ["services.api.deployment", "bake_minutes applies only to strategy blue-green"]),
    ("canary-field-with-linear", api(strategy="linear", canary_percent=20),
     ["canary_percent applies only to strategy canary", "'linear'"]),
    ("datapoints-over-periods", api(rollback_evaluation_periods=2,
                                    rollback_datapoints_to_alarm=3),
     ["rollback_datapoints_to_alarm (3) must not exceed rollback_evaluation_periods (2)"]),
    ("rate-zero", api(rollback_5xx_rate_percent=0),
     ["services.api.deployment.rollback_5xx_rate_percent", "greater than 0"]),
    ("min-requests-zero", api(rollback_min_requests=0),
     ["services.api.deployment.rollback_min_requests", "between 1 and 1000000"]),
    ("test-rule-collides",
     merge(api(strategy="canary", test_rule_priority=100),
           {"services": {"admin": {"routing": {"path_patterns": ["/admin/*"], "priority": 100}}}}),
     ["priority 100", "deployment.test_rule_priority", "routing.priority of"]),
    ("test-rule-after-production", api(strategy="canary", test_rule_priority=49418),
     ["services.api.deployment.test_rule_priority (49418)", "below", "(49417)"]),
    ("bad-header", api(strategy="canary", test_header="X Deploy"),
     ["services.api.deployment.test_header", "HTTP header name"]),
    ("header-over-condition-quota",
     {"services": {"api": {"routing": {"path_patterns": ["/a", "/b", "/c", "/d", "/e"]},
                           "deployment": {"strategy": "linear"}}}},
     ["services.api", "X-Deploy-Test", "at most 5 condition values"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_deployment_is_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_defaults_a_user_would_accept():
    dep = make_config().services["api"].deployment
    assert dep.strategy == "rolling"  # the demo stays on rolling
    assert (dep.rollback_5xx_rate_percent, dep.rollback_min_requests) == (5.0, 20)
    assert (dep.rollback_datapoints_to_alarm, dep.rollback_evaluation_periods) == (2, 3)
    assert dep.deploy_seconds(30) == 30  # rolling: the target group's step alone


@pytest.mark.parametrize(
    ("step", "bakes"), [(10, 9), (11, 9), (25, 3), (30, 3), (33.3, 3), (50, 1), (99.9, 1)]
)
def test_linear_step_need_not_divide_100(step, bakes):
    # ECS's last step takes the rest; the step bake follows every shift but the last.
    dep = make_config(api(strategy="linear", linear_step_percent=step)).services["api"]
    assert dep.deployment.linear_bakes == bakes


@pytest.mark.parametrize("strategy", ["blue-green", "canary", "linear"])
@pytest.mark.parametrize(
    "scale", [{"scaling": {"min_tasks": 0}}, {"schedule": {}}], ids=["min-0", "schedule"]
)
def test_scale_to_zero_is_allowed_with_every_strategy(strategy, scale):
    # ECS documents no restriction: a deployment at zero tasks starts none.
    data = merge(
        demo_data(), {"services": {"api": {"deployment": {"strategy": strategy}, **scale}}}
    )
    config = make_config({"services": data["services"]})
    assert config.services["api"].scales_to_zero


def test_one_service_environment_may_use_canary():
    data = demo_data()
    data["services"] = {"web": {"routing": {"default": True}, "deployment": {"strategy": "canary"}}}
    from fargate_env.config import parse_config

    config = parse_config(data, "one")
    (test,) = config.test_routes()
    assert (test.priority, test.paths, test.header) == (49999, ("/*",), ("X-Deploy-Test", "1"))
