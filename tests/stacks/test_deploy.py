"""Safer deploys: each strategy's ECS deployment configuration, the alternate target group and
listener rules, the ECS deploy role (least privilege), and the rollback alarms' behaviour
asserted on their synthesized definitions."""

from __future__ import annotations

import math
import re

import pytest

from fargate_env.assembly import read_environment
from fargate_env.cost.estimate import estimate
from fargate_env.speed import service_speed
from fargate_env.summary import routes_table
from tests.stacks.test_service import resources, the

SVC = "service:api"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TG = "AWS::ElasticLoadBalancingV2::TargetGroup"
STRATEGIES = {
    "rolling": {},
    "blue-green": {"bake_minutes": 4},
    "canary": {"canary_percent": 12.5, "canary_bake_minutes": 5, "bake_minutes": 2},
    "linear": {"linear_step_percent": 30, "linear_step_minutes": 3, "bake_minutes": 1},
}


def strategy(name: str, **extra) -> dict:
    return {"services": {"api": {"deployment": {"strategy": name, **STRATEGIES[name], **extra}}}}


@pytest.fixture(params=list(STRATEGIES))
def each(request, synth):
    return request.param, synth(strategy(request.param))


def deployment_configuration(synthesized) -> dict:
    return the(synthesized, "AWS::ECS::Service", SVC)["DeploymentConfiguration"]


def by_id(synthesized, kind: str) -> dict[str, dict]:
    """Resources by construct id (logical id minus CDK's 8-character hash)."""
    return {k[:-8]: r["Properties"] for k, r in resources(synthesized, kind, SVC).items()}


# -- ECS deployment configuration ------------------------------------------------------------


EXPECTED = {
    "rolling": {"Strategy": "ROLLING"},
    "blue-green": {"Strategy": "BLUE_GREEN", "BakeTimeInMinutes": 4},
    "canary": {
        "Strategy": "CANARY",
        "BakeTimeInMinutes": 2,
        "CanaryConfiguration": {"CanaryPercent": 12.5, "CanaryBakeTimeInMinutes": 5},
    },
    "linear": {
        "Strategy": "LINEAR",
        "BakeTimeInMinutes": 1,
        "LinearConfiguration": {"StepPercent": 30, "StepBakeTimeInMinutes": 3},
    },
}


def test_strategy_and_bake_times(each):
    name, synthesized = each
    dc = deployment_configuration(synthesized)
    shown = {k: v for k, v in dc.items() if k in EXPECTED["canary"] or k in EXPECTED["linear"]}
    assert shown == EXPECTED[name]
    # The circuit breaker stays with every strategy.
    assert dc["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_rollback_alarms_wired_with_enable_and_rollback(each):
    _, synthesized = each
    alarms = deployment_configuration(synthesized)["Alarms"]
    assert (alarms["Enable"], alarms["Rollback"]) == (True, True)
    found = by_id(synthesized, "AWS::CloudWatch::Alarm")
    logical = {k[:-8]: k for k in resources(synthesized, "AWS::CloudWatch::Alarm", SVC)}
    # The 5xx rate, and the service's own UnhealthyHosts alarm (billed once, both jobs).
    assert alarms["AlarmNames"] == [
        {"Ref": logical["RollbackErrorRate"]},
        {"Ref": logical["AlarmsUnhealthyHosts"]},
    ]
    assert found["RollbackErrorRate"]["AlarmName"] == "demo-api-Rollback5xxRate"
    assert found["AlarmsUnhealthyHosts"]["AlarmName"] == "demo-api-UnhealthyHosts"


def test_rolling_has_one_target_group_and_no_deploy_role(synth):
    synthesized = synth(strategy("rolling"))
    assert len(resources(synthesized, TG, SVC)) == 1
    assert list(by_id(synthesized, RULE)) == ["WebRule"]
    (lb,) = the(synthesized, "AWS::ECS::Service", SVC)["LoadBalancers"]
    assert "AdvancedConfiguration" not in lb
    assert "WebDeployRole" not in by_id(synthesized, "AWS::IAM::Role")


@pytest.mark.parametrize("name", ["blue-green", "canary", "linear"])
def test_alternate_target_group_and_production_and_test_rules(synth, name):
    synthesized = synth(strategy(name))
    logical = {k[:-8]: k for k in resources(synthesized, TG, SVC)}
    assert set(logical) == {"WebTargetGroup", "WebAlternateTargetGroup"}
    rules = by_id(synthesized, RULE)
    assert set(rules) == {"WebRule", "WebTestRule"}
    prod, test = rules["WebRule"], rules["WebTestRule"]
    weighted = [
        {"ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": {"Ref": logical["WebTargetGroup"]}, "Weight": 100},
            {"TargetGroupArn": {"Ref": logical["WebAlternateTargetGroup"]}, "Weight": 0},
        ]}, "Type": "forward"}
    ]  # fmt: skip
    assert prod["Actions"] == weighted and test["Actions"] == weighted
    # The test rule: the same route plus the header, one priority ahead of production.
    assert test["Priority"] == prod["Priority"] - 1
    assert test["Conditions"] == [
        *prod["Conditions"],
        {"Field": "http-header",
         "HttpHeaderConfig": {"HttpHeaderName": "X-Deploy-Test", "Values": ["1"]}},
    ]  # fmt: skip
    (lb,) = the(synthesized, "AWS::ECS::Service", SVC)["LoadBalancers"]
    rule_ids = {k[:-8]: k for k in resources(synthesized, RULE, SVC)}
    role_ids = {k[:-8]: k for k in resources(synthesized, "AWS::IAM::Role", SVC)}
    assert lb["TargetGroupArn"] == {"Ref": logical["WebTargetGroup"]}
    assert lb["AdvancedConfiguration"] == {
        "AlternateTargetGroupArn": {"Ref": logical["WebAlternateTargetGroup"]},
        "ProductionListenerRule": {"Ref": rule_ids["WebRule"]},
        "TestListenerRule": {"Ref": rule_ids["WebTestRule"]},
        "RoleArn": {"Fn::GetAtt": [role_ids["WebDeployRole"], "Arn"]},
    }


def test_test_rule_priority_and_header_from_config(synth):
    synthesized = synth(
        strategy("canary", test_rule_priority=77, test_header="X-Canary", test_header_value="yes")
    )
    test = by_id(synthesized, RULE)["WebTestRule"]
    assert test["Priority"] == 77
    assert test["Conditions"][-1]["HttpHeaderConfig"] == {
        "HttpHeaderName": "X-Canary",
        "Values": ["yes"],
    }


def test_deploy_role_is_least_privilege(synth):
    synthesized = synth(strategy("canary"))
    role_ids = {k[:-8]: k for k in resources(synthesized, "AWS::IAM::Role", SVC)}
    role = by_id(synthesized, "AWS::IAM::Role")["WebDeployRole"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow",
         "Principal": {"Service": "ecs.amazonaws.com"}}
    ]  # fmt: skip
    assert "ManagedPolicyArns" not in role  # not the account-wide AWS managed policy
    (policy,) = [
        p for p in by_id(synthesized, "AWS::IAM::Policy").values()
        if p["Roles"] == [{"Ref": role_ids["WebDeployRole"]}]
    ]  # fmt: skip
    tgs = {k[:-8]: k for k in resources(synthesized, TG, SVC)}
    rules = {k[:-8]: k for k in resources(synthesized, RULE, SVC)}
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ELBReadOperations", "TargetGroupOperations", "ALBModifyRules"}
    # Describe* take no resource-level permissions: the one "*", read-only.
    assert statements["ELBReadOperations"]["Resource"] == "*"
    assert all(a.startswith("elasticloadbalancing:Describe")
               for a in statements["ELBReadOperations"]["Action"])  # fmt: skip
    assert sorted(statements["TargetGroupOperations"]["Action"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]
    assert sorted(r["Ref"] for r in statements["TargetGroupOperations"]["Resource"]) == sorted(
        tgs.values()
    )
    assert statements["ALBModifyRules"]["Action"] == "elasticloadbalancing:ModifyRule"
    assert sorted(r["Ref"] for r in statements["ALBModifyRules"]["Resource"]) == sorted(
        rules.values()
    )
    # The service's traffic is on rules: no ModifyListener (the managed policy has it for a
    # listener's default action and NLBs).
    assert "ModifyListener" not in str(policy)


# -- rollback alarms: behaviour on their definitions ----------------------------------------


def evaluate(expression: str, values: dict[str, float | None]) -> float | None:
    """One period of a CloudWatch metric-math expression of the shape the stack emits
    (IF, FILL, MAX([...]), + - * / and comparisons), None where CloudWatch has no datapoint.
    A series with no datapoint at all stays missing: FILL has nothing to fill."""
    if all(v is None for v in values.values()):
        return None

    def fill(v, default):
        return default if v is None else v

    def if_(cond, a, b):
        return a if cond else b

    def max_(items):
        present = [i for i in items if i is not None]
        return max(present) if present else None

    code = expression.replace("IF(", "if_(").replace("FILL(", "fill(").replace("MAX(", "max_(")
    return eval(code, {"if_": if_, "fill": fill, "max_": max_}, dict(values))


def alarm_state(props: dict, periods: list[dict[str, float | None]]) -> str:
    """ALARM or OK after the last `EvaluationPeriods` periods, each a metric id -> value map
    (metric math) or {"value": v} (a single metric)."""
    compare = {
        "GreaterThanThreshold": lambda v, t: v > t,
        "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    }[props["ComparisonOperator"]]
    window = periods[-props["EvaluationPeriods"] :]
    breaching = 0
    for period in window:
        if "Metrics" in props:
            (expr,) = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
            value = evaluate(expr, period)
        else:
            value = period["value"]
        if value is None:
            breaching += props["TreatMissingData"] == "breaching"
        else:
            breaching += compare(value, props["Threshold"])
    return "ALARM" if breaching >= props["DatapointsToAlarm"] else "OK"


def traffic(n: int, errors: float, requests: float, tgs: int = 1) -> list[dict]:
    """`n` periods with `errors` 5xx out of `requests` on target group 0 (the new revision),
    and healthy traffic (none failing) of the same size on the others."""
    period: dict[str, float | None] = {}
    for i in range(tgs):
        period[f"e{i}"] = (errors if i == 0 else 0) or None  # no 5xx: nothing published
        period[f"r{i}"] = requests or None
    return [dict(period) for _ in range(n)]


@pytest.mark.parametrize("name", ["rolling", "canary"])
def test_error_rate_alarm_definition(synth, name):
    synthesized = synth(strategy(name))
    props = by_id(synthesized, "AWS::CloudWatch::Alarm")["RollbackErrorRate"]
    dep = synthesized.config.services["api"].deployment
    assert (props["Threshold"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (
        dep.rollback_5xx_rate_percent,
        dep.rollback_evaluation_periods,
        dep.rollback_datapoints_to_alarm,
    )
    assert props["TreatMissingData"] == "notBreaching"
    stats = {m["Id"]: m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m}
    tgs = 1 if name == "rolling" else 2
    assert {i: (s["Metric"]["MetricName"], s["Stat"]) for i, s in stats.items()} == {
        **{f"e{i}": ("HTTPCode_Target_5XX_Count", "Sum") for i in range(tgs)},
        **{f"r{i}": ("RequestCount", "Sum") for i in range(tgs)},
    }


@pytest.mark.parametrize(("name", "tgs"), [("rolling", 1), ("canary", 2)])
def test_error_rate_alarm_behaviour(synth, name, tgs):
    props = by_id(synth(strategy(name)), "AWS::CloudWatch::Alarm")["RollbackErrorRate"]
    # Defaults: 5 % over >= 20 requests, 2 of 3 one-minute periods.
    assert alarm_state(props, traffic(3, 0, 0, tgs)) == "OK"  # zero traffic: nothing at all
    assert alarm_state(props, traffic(3, 1, 1, tgs)) == "OK"  # one error of one request
    assert alarm_state(props, traffic(3, 19, 19, tgs)) == "OK"  # 100 %, under the minimum
    assert alarm_state(props, traffic(3, 0, 500, tgs)) == "OK"  # busy and healthy
    assert alarm_state(props, traffic(3, 0.9, 20, tgs)) == "OK"  # 4.5 %: under the rate
    assert alarm_state(props, traffic(3, 1, 20, tgs)) == "ALARM"  # 5 % of 20: fires
    # N of M: one bad period of three is not enough, two are.
    bad, good = traffic(1, 10, 100, tgs), traffic(1, 0, 100, tgs)
    assert alarm_state(props, good + good + bad) == "OK"
    assert alarm_state(props, good + bad + bad) == "ALARM"


def test_canary_errors_are_not_diluted_by_the_old_revision(synth):
    props = by_id(synth(strategy("canary")), "AWS::CloudWatch::Alarm")["RollbackErrorRate"]
    # 10 % canary: the new revision answers 30 requests, 9 of them 5xx; the old one 270 fine.
    period = {"e0": None, "r0": 270.0, "e1": 9.0, "r1": 30.0}
    assert alarm_state(props, [period] * 3) == "ALARM"  # 30 % on the canary, 3 % overall


def test_tuned_thresholds_change_the_behaviour(synth):
    tuned = strategy(
        "rolling",
        rollback_5xx_rate_percent=50,
        rollback_min_requests=5,
        rollback_evaluation_periods=1,
        rollback_datapoints_to_alarm=1,
    )
    props = by_id(synth(tuned), "AWS::CloudWatch::Alarm")["RollbackErrorRate"]
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (1, 1)
    assert alarm_state(props, traffic(1, 3, 5)) == "ALARM"
    assert alarm_state(props, traffic(1, 3, 4)) == "OK"  # under 5 requests
    assert alarm_state(props, traffic(1, 2, 5)) == "OK"  # 40 %


@pytest.mark.parametrize("name", ["rolling", "blue-green"])
def test_unhealthy_alarm_behaviour(synth, name):
    synthesized = synth(strategy(name))
    props = by_id(synthesized, "AWS::CloudWatch::Alarm")["AlarmsUnhealthyHosts"]
    assert props["TreatMissingData"] == "notBreaching"
    periods_needed = synthesized.config.monitoring.thresholds.unhealthy_periods
    assert props["EvaluationPeriods"] == periods_needed
    props = {**props, "DatapointsToAlarm": props.get("DatapointsToAlarm", periods_needed)}
    if name == "rolling":
        assert (props["MetricName"], props["Statistic"]) == ("UnHealthyHostCount", "Maximum")
        periods = lambda u: [{"value": u}] * 3  # noqa: E731
    else:
        periods = lambda u: [{"u0": 0.0, "u1": u}] * 3  # noqa: E731
    assert alarm_state(props, periods(None)) == "OK"  # no target registered (scaled to zero)
    assert alarm_state(props, periods(0.0)) == "OK"
    assert alarm_state(props, periods(1.0)) == "ALARM"


# -- speed figures and cost ------------------------------------------------------------------


def test_deploy_time_from_the_template(each):
    name, synthesized = each
    speed = service_speed(read_environment(synthesized.outdir).service_of("api"))
    # Demo target group: 2 x 10 s to healthy, 10 s drain = 30 s per step.
    bakes = {
        "rolling": 0,
        "blue-green": 4,
        "canary": 5 + 2,
        "linear": 3 * (math.ceil(100 / 30) - 1) + 1,  # 30 % steps: 4 shifts, 3 step bakes
    }[name]
    assert (speed.strategy, speed.deploy_seconds) == (name, 30 + 60 * bakes)


def test_default_rolling_overhead_stays_at_most_35_seconds(demo):
    env = read_environment(demo.outdir)
    for service in demo.config.services:
        speed = service_speed(env.service_of(service))
        assert speed.strategy == "rolling" and speed.deploy_seconds <= 35


def test_summary_prints_each_strategy_deploy_time(synth):
    from rich.console import Console

    synthesized = synth(strategy("linear"))
    console = Console(width=80, record=True)
    console.print(routes_table(read_environment(synthesized.outdir)))
    text = console.export_text()
    # web (rolling) shows its 30 s; api its 10 min 30 s and, under it, the strategy's name.
    lines = text.splitlines()
    rows = lines[next(i for i, line in enumerate(lines) if line.startswith("─")) + 1 :]
    figures = [re.split(r"\s{2,}", line.strip())[-1] for line in rows if line.strip()]
    assert "30 s" in figures and "10 min 30 s" in figures and "linear" in figures
    assert "X-Deploy-Test: 1" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_cost_prices_the_second_revision_of_each_deploy(synth):
    synthesized = synth(strategy("canary"))
    usage = synthesized.config.cost.usage
    bill = estimate(read_environment(synthesized.outdir), "us-east-1", usage)
    deploys = {l.service: l for l in bill.lines if l.item == "fargate-deploys"}  # noqa: E741
    canary, rolling = deploys["api"], deploys["web"]
    # canary: 30 s + 5 + 2 min bakes = 7 min 30 s, one extra task, 20 deploys.
    hours = usage.deploys_per_month * 1 * 450 / 3600
    assert f"= {hours:.2f} task-h" in canary.basis and "20 canary deploys" in canary.basis
    task = {l.service: l for l in bill.lines if l.item == "fargate"}  # noqa: E741
    assert canary.monthly_usd == pytest.approx(hours * task["api"].monthly_usd / 730, rel=1e-3)
    # web's rolling deploy: 30 s of its own (x86) task per deploy; api runs on arm64.
    rolling_hours = usage.deploys_per_month * 1 * 30 / 3600
    assert rolling.monthly_usd == pytest.approx(
        rolling_hours * task["web"].monthly_usd / 730, rel=1e-3
    )


def test_marginal_probe_clones_a_canary_service_with_its_test_rule(synth):
    from fargate_env.cost.marginal import probe_config

    # The smallest service is the clone's template: make it the canary one.
    overrides = {"services": {s: {"deployment": {"strategy": "canary"}} for s in ("web", "api")}}
    probe = probe_config(synth(overrides).config, office_hours=False)
    (test,) = [r for r in probe.test_routes() if r.service == "marginal-probe"]
    (prod,) = probe.service_routes("marginal-probe")
    assert test.priority == prod.priority - 1
