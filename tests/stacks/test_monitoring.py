"""Alarms and event rules of a service (ServiceAlarms, in its stack), the ALB alarm and the
dashboard (monitoring stack), topic + key policies, subscriptions and budget (alerts stack),
read from the synthesized templates."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fargate_env import outputs
from fargate_env.constructs.service_alarms import UNEXPECTED_STOP_CODES

MON = outputs.MONITORING
# Where each kind of resource lives now that services have stacks of their own.
PART = {
    "AWS::Events::Rule": "service:web",
    "AWS::SNS::Topic": outputs.ALERTS,
    "AWS::SNS::TopicPolicy": outputs.ALERTS,
    "AWS::SNS::Subscription": outputs.ALERTS,
    "AWS::KMS::Key": outputs.ALERTS,
    "AWS::Budgets::Budget": outputs.ALERTS,
}
ALARM = "AWS::CloudWatch::Alarm"
EMAILS = ["ops@example.com", "dev+alerts@example.org"]

# Every monitoring tunable moved off its default, to prove the stack reads it from the config.
TUNED = {
    "tags": {"environment": "qa-shared"},
    "monitoring": {
        "emails": EMAILS,
        "budget_actual_percent": 70,
        "budget_forecast_percent": 110,
        "thresholds": {
            "period_seconds": 300,
            "target_5xx_count": 7,
            "alb_5xx_count": 9,
            "unhealthy_periods": 4,
            "p95_latency_seconds": 0.75,
            "cpu_percent": 70,
            "memory_percent": 75,
            "evaluation_periods": 2,
        },
    },
    "cost": {"monthly_budget_usd": 123.5},
    "services": {"web": {"scaling": {"memory_target_percent": 70, "requests_per_target": 500}}},
}
SCHEDULED = {"services": {"web": {"schedule": {"timezone": "Europe/Berlin"}}}}
INSIGHTS = {
    "cluster": {"container_insights": True},
    "services": {"web": {"schedule": {}}},
    "monitoring": {"dashboard": False},
}

# (alarm id, namespace, metric, statistic, comparison, threshold key, periods key, missing data)
ALARMS = [
    ("Target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
     "GreaterThanOrEqualToThreshold", "target_5xx_count", "evaluation_periods", "notBreaching"),
    ("Alb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum",
     "GreaterThanOrEqualToThreshold", "alb_5xx_count", "evaluation_periods", "notBreaching"),
    ("UnhealthyHosts", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum",
     "GreaterThanThreshold", None, "unhealthy_periods", "notBreaching"),
    ("NoHealthyHosts", "AWS/ApplicationELB", "HealthyHostCount", "Minimum",
     "LessThanThreshold", None, "evaluation_periods", "breaching"),
    ("LatencyP95", "AWS/ApplicationELB", "TargetResponseTime", "p95",
     "GreaterThanThreshold", "p95_latency_seconds", "evaluation_periods", "notBreaching"),
    ("Cpu", "AWS/ECS", "CPUUtilization", "Average",
     "GreaterThanThreshold", "cpu_percent", "evaluation_periods", "notBreaching"),
    ("Memory", "AWS/ECS", "MemoryUtilization", "Average",
     "GreaterThanThreshold", "memory_percent", "evaluation_periods", "notBreaching"),
]  # fmt: skip
FIXED_THRESHOLDS = {"UnhealthyHosts": 0, "NoHealthyHosts": 1}


# -- template helpers --------------------------------------------------------------------------


def resources(synthesized, kind: str, part: str | None = None) -> dict[str, dict]:
    if part is None and kind == ALARM:
        return {**resources(synthesized, kind, "service:web"), **resources(synthesized, kind, MON)}
    tpl = synthesized.template_json(part or PART.get(kind, MON))
    return {k: r for k, r in tpl["Resources"].items() if r["Type"] == kind}


def the(synthesized, kind: str) -> tuple[str, dict]:
    found = resources(synthesized, kind)
    assert len(found) == 1, f"expected one {kind}, found {list(found)}"
    return next(iter(found.items()))


def alarms(synthesized) -> dict[str, dict]:
    """Alarm properties by construct id (the logical id minus CDK's hash suffix)."""
    return {
        k[:-8].removeprefix("Alarms"): r["Properties"]
        for k, r in resources(synthesized, ALARM).items()
    }


def topic_ref(synthesized) -> dict:
    """Inside the alerts stack: a Ref to the topic."""
    return {"Ref": the(synthesized, "AWS::SNS::Topic")[0]}


def topic_arn(synthesized) -> dict:
    """Everywhere else: the topic's ARN by name, so no stack imports an export for it."""
    name = f"{synthesized.config.name}-alarms"
    parts = ["arn:", {"Ref": "AWS::Partition"}, ":sns:", {"Ref": "AWS::Region"}, ":"]
    return {"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, f":{name}"]]}


def imports(value: Any) -> list[str]:
    """Every Fn::ImportValue export name inside a template fragment."""
    if isinstance(value, dict):
        if "Fn::ImportValue" in value:
            return [value["Fn::ImportValue"]]
        return [name for v in value.values() for name in imports(v)]
    if isinstance(value, list):
        return [name for v in value for name in imports(v)]
    return []


def exported_resource(synthesized, export_name: str) -> dict:
    """The resource an export of another stack of this app points at (Ref or GetAtt)."""
    stack, _, _ = export_name.partition(":")
    part = stack.removeprefix(f"{synthesized.config.name}-")
    tpl = synthesized.template_json(part)
    (value,) = [
        o["Value"]
        for o in tpl["Outputs"].values()
        if o.get("Export", {}).get("Name") == export_name
    ]
    logical = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    return tpl["Resources"][logical]


def local_refs(value: Any) -> list[str]:
    """Logical ids a fragment points at in its own stack (Ref / Fn::GetAtt)."""
    if isinstance(value, dict):
        if "Ref" in value and not value["Ref"].startswith("AWS::"):
            return [value["Ref"]]
        if "Fn::GetAtt" in value:
            return [value["Fn::GetAtt"][0]]
        return [name for v in value.values() for name in local_refs(v)]
    if isinstance(value, list):
        return [name for v in value for name in local_refs(v)]
    return []


def pointed_types(synthesized, fragment: Any, part: str = "service:web") -> set[str]:
    """Types of the resources a fragment points at: exports of other stacks, or `part`'s own."""
    own = synthesized.template_json(part)["Resources"]
    return {exported_resource(synthesized, n)["Type"] for n in imports(fragment)} | {
        own[n]["Type"] for n in local_refs(fragment)
    }


def metric_stats(props: dict) -> list[dict]:
    """The MetricStat entries of an alarm in either CloudFormation form."""
    if "MetricName" in props:
        return [
            {
                "Metric": {k: props[k] for k in ("Namespace", "MetricName", "Dimensions")},
                "Stat": props.get("Statistic") or props.get("ExtendedStatistic"),
                "Period": props["Period"],
            }
        ]
    return [m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m]


def dashboard_body(synthesized) -> dict:
    """The dashboard JSON with every CloudFormation token replaced by a placeholder."""
    _, dash = the(synthesized, "AWS::CloudWatch::Dashboard")
    body = dash["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


# -- alarms ------------------------------------------------------------------------------------


# The deployment's rollback alarms (constructs/rollback_alarms.py, tests/stacks/test_deploy.py).
ROLLBACK_ALARMS = ("RollbackErrorRate",)


def without_rollback(found: dict[str, dict]) -> dict[str, dict]:
    return {name: props for name, props in found.items() if name not in ROLLBACK_ALARMS}


def test_alarms_on_purpose(demo):
    # Each alarm metric is $0.10/month; the set is the issues' lists, nothing more.
    assert sorted(alarms(demo)) == sorted([a[0] for a in ALARMS] + list(ROLLBACK_ALARMS))


@pytest.mark.parametrize("overrides", [None, TUNED], ids=["demo", "tuned"])
@pytest.mark.parametrize("spec", ALARMS, ids=[a[0] for a in ALARMS])
def test_alarm_definition(synth, overrides, spec):
    alarm_id, namespace, metric, stat, comparison, threshold_key, periods_key, missing = spec
    synthesized = synth(overrides)
    th = synthesized.config.monitoring.thresholds
    props = alarms(synthesized)[alarm_id]
    (ms,) = metric_stats(props)
    assert (ms["Metric"]["Namespace"], ms["Metric"]["MetricName"], ms["Stat"]) == (
        namespace,
        metric,
        stat,
    )
    assert ms["Period"] == th.period_seconds
    assert props["ComparisonOperator"] == comparison
    expected = FIXED_THRESHOLDS.get(alarm_id)
    assert props["Threshold"] == (getattr(th, threshold_key) if threshold_key else expected)
    assert props["EvaluationPeriods"] == getattr(th, periods_key)
    assert props["TreatMissingData"] == missing
    assert props["AlarmActions"] == [topic_arn(synthesized)]
    assert props["OKActions"] == [topic_arn(synthesized)]
    service = "" if alarm_id == "Alb5xx" else "web-"
    assert props["AlarmName"] == f"{synthesized.config.name}-{service}{alarm_id}"
    low_samples = "ignore" if alarm_id == "LatencyP95" else None
    assert props.get("EvaluateLowSampleCountPercentile") == low_samples


@pytest.mark.parametrize("spec", ALARMS, ids=[a[0] for a in ALARMS])
def test_alarm_dimensions_point_at_this_environment(demo, spec):
    alarm_id, namespace = spec[0], spec[1]
    (ms,) = metric_stats(alarms(demo)[alarm_id])
    dims = {d["Name"]: d["Value"] for d in ms["Metric"]["Dimensions"]}
    part = MON if alarm_id == "Alb5xx" else "service:web"
    if namespace == "AWS/ECS":
        assert pointed_types(demo, dims.pop("ClusterName")) == {"AWS::ECS::Cluster"}
        assert pointed_types(demo, dims.pop("ServiceName")) == {"AWS::ECS::Service"}
    else:
        # TG metrics name the ALB through its listener's ARN (CDK derives it from there).
        lb_types = pointed_types(demo, dims.pop("LoadBalancer"), part)
        assert lb_types & {
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::ElasticLoadBalancingV2::Listener",
        }
        if "TargetGroup" in dims:
            tg = pointed_types(demo, dims.pop("TargetGroup"))
            assert tg == {"AWS::ElasticLoadBalancingV2::TargetGroup"}
        elif alarm_id != "Alb5xx":
            pytest.fail(f"{alarm_id} has no TargetGroup dimension")
    assert dims == {}


def test_listener_behind_the_target_group_dimension_belongs_to_the_alb(demo):
    (ms,) = metric_stats(alarms(demo)["Target5xx"])
    lb_value = next(d["Value"] for d in ms["Metric"]["Dimensions"] if d["Name"] == "LoadBalancer")
    (listener,) = {json.dumps(exported_resource(demo, n)) for n in imports(lb_value)}
    alb_id = next(iter(resources(demo, "AWS::ElasticLoadBalancingV2::LoadBalancer", "platform")))
    assert json.loads(listener)["Properties"]["LoadBalancerArn"] == {"Ref": alb_id}


# -- scaled to zero on schedule ----------------------------------------------------------------

# What CloudWatch holds for one period while the service has zero tasks and the internet keeps
# knocking: the target group reports 0 hosts, the ALB answers 503 itself, and ECS, the targets
# and Container Insights' desired count report nothing or zero. None: no datapoint.
SCALED_TO_ZERO = {
    "HealthyHostCount": 0,
    "UnHealthyHostCount": 0,
    "HTTPCode_ELB_5XX_Count": 1000,
    "HTTPCode_Target_5XX_Count": None,
    "TargetResponseTime": None,
    "CPUUtilization": None,
    "MemoryUtilization": None,
    "DesiredTaskCount": 0,
}
_GATE = re.compile(r"^IF\(FILL\(tasks, 0\) > 0, m, (?P<idle>[\d.]+)\)$")
_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
}


def fires_when_scaled_to_zero(props: dict) -> bool:
    """Would this alarm breach on a period of SCALED_TO_ZERO data? Handles exactly the two
    shapes the stack emits (one metric, or the scale-to-zero gate) and fails on anything else."""
    stats = metric_stats(props)
    values = {
        m["Id"]: SCALED_TO_ZERO[m["MetricStat"]["Metric"]["MetricName"]]
        for m in props.get("Metrics", [])
        if "MetricStat" in m
    }
    if "Metrics" in props and any("Expression" in m for m in props["Metrics"]):
        (expr,) = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
        match = _GATE.match(expr)
        assert match, f"unexpected expression {expr!r}"
        tasks = values["tasks"] or 0  # FILL(tasks, 0)
        value = values["m"] if tasks > 0 else float(match["idle"])
    else:
        (ms,) = stats
        value = SCALED_TO_ZERO[ms["Metric"]["MetricName"]]
    if value is None:
        return props["TreatMissingData"] == "breaching"
    return _COMPARE[props["ComparisonOperator"]](value, props["Threshold"])


@pytest.mark.parametrize("overrides", [SCHEDULED, INSIGHTS], ids=["schedule", "insights"])
def test_no_alarm_fires_when_scaled_to_zero_on_schedule(synth, overrides):
    # The rollback alarms' zero-traffic behaviour: tests/stacks/test_deploy.py.
    found = without_rollback(alarms(synth(overrides)))
    assert len(found) == len(ALARMS)
    firing = [name for name, props in found.items() if fires_when_scaled_to_zero(props)]
    # The ALB's own 5xx cannot be told apart per service (a shared load balancer): a request
    # to a service scaled to zero is a 503 there, and it says so in the alarm's description.
    assert firing == ["Alb5xx"]


def test_without_a_schedule_zero_healthy_hosts_is_an_outage(demo):
    # The same data without a schedule: zero tasks is an outage, so the alarms must fire.
    found = without_rollback(alarms(demo))
    firing = sorted(name for name, props in found.items() if fires_when_scaled_to_zero(props))
    assert firing == ["Alb5xx", "NoHealthyHosts"]


@pytest.mark.parametrize(
    ("overrides", "gate"),
    [
        (SCHEDULED, ("AWS/ECS", "CPUUtilization", "SampleCount")),
        (INSIGHTS, ("ECS/ContainerInsights", "DesiredTaskCount", "Maximum")),
    ],
    ids=["running-tasks", "desired-tasks"],
)
def test_gate_reads_this_service_task_count(synth, overrides, gate):
    synthesized = synth(overrides)
    for alarm_id in ("NoHealthyHosts",):
        metrics = {m["Id"]: m for m in alarms(synthesized)[alarm_id]["Metrics"]}
        stat = metrics["tasks"]["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Stat"]) == gate
        dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert pointed_types(synthesized, dims["ServiceName"]) == {"AWS::ECS::Service"}
        assert pointed_types(synthesized, dims["ClusterName"]) == {"AWS::ECS::Cluster"}
        assert metrics["m"]["ReturnData"] is False and metrics["tasks"]["ReturnData"] is False
    assert alarms(synthesized)["NoHealthyHosts"]["TreatMissingData"] == "notBreaching"


def test_min_tasks_zero_also_gates(synth):
    props = alarms(synth({"services": {"web": {"scaling": {"min_tasks": 0}}}}))["NoHealthyHosts"]
    assert any("Expression" in m for m in props["Metrics"])
    assert not fires_when_scaled_to_zero(props)


# -- event rules -------------------------------------------------------------------------------


def rules(synthesized) -> dict[str, dict]:
    found = resources(synthesized, "AWS::Events::Rule")
    return {k[:-8].removeprefix("Alarms"): r["Properties"] for k, r in found.items()}


def test_deployment_failure_rule(demo):
    rule = rules(demo)["DeploymentFailed"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail-type"] == ["ECS Deployment State Change"]
    assert pattern["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}
    assert pointed_types(demo, pattern["resources"]) == {"AWS::ECS::Service"}
    (target,) = rule["Targets"]
    assert target["Arn"] == topic_arn(demo)
    assert target["InputTransformer"]["InputPathsMap"]["detail-reason"] == "$.detail.reason"


def test_task_stopped_rule_is_scoped_to_this_cluster_and_unexpected_stops(demo):
    rule = rules(demo)["TaskStoppedUnexpectedly"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert pointed_types(demo, detail.pop("clusterArn")) == {"AWS::ECS::Cluster"}
    # The cluster is shared: only this service's tasks ("service:<its ECS name>").
    (group,) = detail.pop("group")
    assert pointed_types(demo, group) == {"AWS::ECS::Service"}
    assert detail == {"lastStatus": ["STOPPED"], "stopCode": list(UNEXPECTED_STOP_CODES)}
    # Scale-in, deploys, scheduled stops and the failover drill stop tasks on purpose.
    assert {"EssentialContainerExited", "SpotInterruption"} <= set(detail["stopCode"])
    assert not {"ServiceSchedulerInitiated", "UserInitiated"} & set(detail["stopCode"])
    (target,) = rule["Targets"]
    assert target["Arn"] == topic_arn(demo)
    assert target["InputTransformer"]["InputPathsMap"]["detail-stopCode"] == "$.detail.stopCode"


# -- topic, key, subscriptions -----------------------------------------------------------------


def statements(doc: dict) -> list[dict]:
    return doc["Statement"]


def principals(statement: dict) -> set[str]:
    service = statement["Principal"].get("Service", [])
    return set([service] if isinstance(service, str) else service)


def test_topic_is_encrypted_with_this_stacks_key(demo):
    key_id, _ = the(demo, "AWS::KMS::Key")
    _, topic = the(demo, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_topic_policy_is_tls_only_and_admits_the_three_publishers(demo):
    _, policy = the(demo, "AWS::SNS::TopicPolicy")
    props = policy["Properties"]
    assert props["Topics"] == [topic_ref(demo)]
    stmts = statements(props["PolicyDocument"])
    (deny,) = [s for s in stmts if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "sns:Publish"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allowed = {p: s for s in stmts if s["Effect"] == "Allow" for p in principals(s)}
    assert set(allowed) == {
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "budgets.amazonaws.com",
    }
    for publisher, stmt in allowed.items():
        assert stmt["Action"] == "sns:Publish" and stmt["Resource"] == topic_ref(demo), publisher
    # Confused-deputy guards: only this account's alarms, budgets and event rules.
    for publisher, kind in (
        ("cloudwatch.amazonaws.com", ":alarm:*"),
        ("budgets.amazonaws.com", ":*"),
        ("events.amazonaws.com", ":rule/*"),
    ):
        cond = allowed[publisher]["Condition"]
        assert cond["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        arn = json.dumps(cond["ArnLike"]["aws:SourceArn"])
        assert "AWS::AccountId" in arn and arn.endswith(f'{kind}"]]}}')


def test_key_policy_lets_every_publisher_encrypt_through_sns(demo):
    _, key = the(demo, "AWS::KMS::Key")
    props = key["Properties"]
    assert props["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Delete" and props["PendingWindowInDays"] == 7
    granted: dict[str, set[str]] = {}
    for stmt in statements(props["KeyPolicy"]):
        if stmt["Effect"] == "Allow":
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            for principal in principals(stmt):
                granted.setdefault(principal, set()).update(actions)
    for publisher in ("cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"):
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted.get(publisher, set()), publisher
    # ... and only through this topic: SNS names it in the encryption context.
    (grant,) = [s for s in statements(props["KeyPolicy"]) if "Service" in s["Principal"]]
    assert grant["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn(demo)}
    }


def test_no_subscriptions_without_emails(demo):
    assert resources(demo, "AWS::SNS::Subscription") == {}


def test_one_email_subscription_per_address(synth):
    tuned = synth(TUNED)
    subs = [r["Properties"] for r in resources(tuned, "AWS::SNS::Subscription").values()]
    assert sorted(s["Endpoint"] for s in subs) == sorted(EMAILS)
    assert {s["Protocol"] for s in subs} == {"email"}
    assert all(s["TopicArn"] == topic_ref(tuned) for s in subs)


# -- budget ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "tag", "amount", "percents", "emails"),
    [
        (None, "demo", 90, (80, 100), []),
        (TUNED, "qa-shared", 123.5, (70, 110), EMAILS),
    ],
    ids=["demo", "tuned"],
)
def test_budget(synth, overrides, tag, amount, percents, emails):
    synthesized = synth(overrides)
    _, budget = the(synthesized, "AWS::Budgets::Budget")
    data = budget["Properties"]["Budget"]
    assert data["BudgetType"] == "COST" and data["TimeUnit"] == "MONTHLY"
    assert data["BudgetLimit"] == {"Amount": amount, "Unit": "USD"}
    assert data["CostFilters"] == {"TagKeyValue": [f"user:environment${tag}"]}
    notes = budget["Properties"]["NotificationsWithSubscribers"]
    kinds = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notes]
    assert kinds == [("ACTUAL", percents[0]), ("FORECASTED", percents[1])]
    for note in notes:
        assert note["Notification"]["ComparisonOperator"] == "GREATER_THAN"
        assert note["Notification"]["ThresholdType"] == "PERCENTAGE"
        assert note["Subscribers"] == [
            {"SubscriptionType": "SNS", "Address": topic_ref(synthesized)},
            *({"SubscriptionType": "EMAIL", "Address": e} for e in emails),
        ]


@pytest.mark.parametrize("overrides", [None, TUNED], ids=["demo", "tuned"])
def test_budget_filter_matches_the_tag_build_app_puts_on_resources(synth, overrides):
    synthesized = synth(overrides)
    _, topic = the(synthesized, "AWS::SNS::Topic")
    tag = {t["Key"]: t["Value"] for t in topic["Properties"]["Tags"]}["environment"]
    _, budget = the(synthesized, "AWS::Budgets::Budget")
    assert budget["Properties"]["Budget"]["CostFilters"]["TagKeyValue"] == [
        f"user:environment${tag}"
    ]


# -- dashboard and outputs ---------------------------------------------------------------------


def widgets_by_title(synthesized) -> dict[str, dict]:
    widgets = dashboard_body(synthesized)["widgets"]
    return {w["properties"]["title"]: w["properties"] for w in widgets if w["type"] != "text"}


def metric_names(widget: dict) -> set[str]:
    return {m[1] for m in widget.get("metrics", []) if isinstance(m[0], str) and len(m) > 1}


def test_dashboard_has_the_alb_then_each_services_rows(demo):
    w = widgets_by_title(demo)
    assert metric_names(w["ALB: requests"]) == {"RequestCount"}
    assert metric_names(w["ALB: its own 4xx / 5xx"]) == {
        "HTTPCode_ELB_4XX_Count",
        "HTTPCode_ELB_5XX_Count",
    }
    for service in demo.config.services:
        label = f"demo-{service}"
        latency = w[f"{label}: response time p50 / p95 / p99 (s)"]
        assert [m[-1]["stat"] for m in latency["metrics"]] == ["p50", "p95", "p99"]
        assert metric_names(w[f"{label}: requests, target 4xx / 5xx"]) == {
            "RequestCount",
            "HTTPCode_Target_4XX_Count",
            "HTTPCode_Target_5XX_Count",
        }
        assert metric_names(w[f"{label}: healthy / unhealthy hosts"]) == {
            "HealthyHostCount",
            "UnHealthyHostCount",
        }
        cpu_mem = w[f"{label}: CPU / memory (%) and scaling target"]
        assert metric_names(cpu_mem) == {"CPUUtilization", "MemoryUtilization"}
        lines = {a["label"]: a["value"] for a in cpu_mem["annotations"]["horizontal"]}
        assert lines == {"CPU scaling target": 60, "CPU alarm": 85, "memory alarm": 85}
        tasks = w[f"{label}: tasks vs scaling range"]
        bounds = {a["label"]: a["value"] for a in tasks["annotations"]["horizontal"]}
        assert bounds == {"min tasks": 1, "max tasks": 4}
        alarm_widget = w[f"{label}: alarms"]
        # By name: the dashboard's stack imports no alarm of a service stack.
        assert len(alarm_widget["alarms"]) == len(ALARMS) - 1
        assert all(f":alarm:{label}-" in a for a in alarm_widget["alarms"])


def test_running_vs_desired_from_container_insights(synth):
    # INSIGHTS turns the dashboard off; build the same with it on.
    synthesized = synth({"cluster": {"container_insights": True}})
    tasks = widgets_by_title(synthesized)["demo-web: tasks vs scaling range"]
    assert metric_names(tasks) == {"RunningTaskCount", "DesiredTaskCount", "PendingTaskCount"}
    assert {m[0] for m in tasks["metrics"]} == {"ECS/ContainerInsights"}


def test_outputs(demo):
    out = demo.template_json(MON)["Outputs"]
    assert demo.template_json(outputs.ALERTS)["Outputs"][outputs.TOPIC_ARN]["Value"] == (
        topic_ref(demo)
    )
    url = out[outputs.DASHBOARD_URL]["Value"]
    _, dash = the(demo, "AWS::CloudWatch::Dashboard")
    name = dash["Properties"]["DashboardName"]
    assert url == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        f"#dashboards:name={name}"
    )


def test_dashboard_off_means_no_dashboard_and_no_url(synth):
    synthesized = synth(INSIGHTS)
    assert resources(synthesized, "AWS::CloudWatch::Dashboard") == {}
    assert outputs.DASHBOARD_URL not in synthesized.template_json(MON).get("Outputs", {})
