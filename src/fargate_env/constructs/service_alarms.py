"""ServiceAlarms: one service's alarms, ECS event rules and dashboard widgets."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from fargate_env.config import ScalingConfig, ThresholdsConfig

# ECS stop codes that mean "this task died", unlike scale-in, deploys and scheduled stops
# (ServiceSchedulerInitiated) or a person stopping it (UserInitiated).
UNEXPECTED_STOP_CODES = ("EssentialContainerExited", "SpotInterruption", "TaskFailedToStart")


@dataclass(frozen=True)
class Signals:
    """The metrics the alarms and widgets share, all pointing at this target group and service."""

    requests: cloudwatch.IMetric
    target_5xx: cloudwatch.IMetric
    target_4xx: cloudwatch.IMetric
    healthy: cloudwatch.IMetric
    unhealthy: cloudwatch.IMetric
    requests_per_target: cloudwatch.IMetric
    latency: dict[str, cloudwatch.IMetric]
    cpu: cloudwatch.IMetric
    memory: cloudwatch.IMetric
    # > 0 while the service is meant to (or does) run tasks; drives the scale-to-zero gate.
    tasks: cloudwatch.IMetric


class ServiceAlarms(Construct):
    """Six alarms and two event rules for one service, notifying the environment's topic.

    `label` prefixes alarm names and messages ("<env>-<service>"). Missing data is the quiet
    state for counts and utilisation; host counts are watched unless the service may
    legitimately run no task (`scales_to_zero`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        label: str,
        service: ecs.FargateService,
        target_group: elbv2.ApplicationTargetGroup,
        topic: sns.ITopic,
        thresholds: ThresholdsConfig,
        scaling: ScalingConfig,
        scales_to_zero: bool,
        container_insights: bool,
        alternate_target_group: elbv2.ApplicationTargetGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # A traffic-shifting deployment's other target group: UnhealthyHosts watches both.
        self._alternate = alternate_target_group
        self.label = label
        self.thresholds = thresholds
        self.scaling = scaling
        self.scales_to_zero = scales_to_zero
        self.container_insights = container_insights
        self._period = Duration.seconds(thresholds.period_seconds)
        self._insights_dimensions = {
            "ClusterName": service.cluster.cluster_name,
            "ServiceName": service.service_name,
        }
        self.signals = self._signals(target_group, service)
        self.alarms = self._alarms(self.signals)
        for alarm in self.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarm.add_ok_action(cw_actions.SnsAction(topic))
        self.deployment_rule, self.task_stopped_rule = self._event_rules(service, topic)

    # -- signals and alarms -----------------------------------------------------------------

    def _signals(
        self, target_group: elbv2.ApplicationTargetGroup, service: ecs.FargateService
    ) -> Signals:
        period, tg = self._period, target_group.metrics
        code = elbv2.HttpCodeTarget
        if self.container_insights:
            # Exact, but only published (and billed) with Container Insights on.
            tasks: cloudwatch.IMetric = self.insights("DesiredTaskCount", "desired")
        else:
            # ECS publishes service metrics only while tasks run: a sample count > 0 means
            # "tasks are running", at no extra cost.
            tasks = service.metric_cpu_utilization(statistic="SampleCount", period=period)
        return Signals(
            requests=tg.request_count(period=period, statistic="Sum"),
            requests_per_target=tg.request_count_per_target(period=period, statistic="Sum"),
            target_5xx=tg.http_code_target(code.TARGET_5XX_COUNT, period=period, statistic="Sum"),
            target_4xx=tg.http_code_target(code.TARGET_4XX_COUNT, period=period, statistic="Sum"),
            healthy=tg.healthy_host_count(period=period, statistic="Minimum"),
            unhealthy=tg.unhealthy_host_count(period=period, statistic="Maximum"),
            latency={
                p: tg.target_response_time(period=period, statistic=p)
                for p in ("p50", "p95", "p99")
            },
            cpu=service.metric_cpu_utilization(period=period, statistic="Average"),
            memory=service.metric_memory_utilization(period=period, statistic="Average"),
            tasks=tasks,
        )

    def insights(self, metric_name: str, label: str) -> cloudwatch.Metric:
        """A Container Insights service metric (ECS/ContainerInsights, costs extra)."""
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=metric_name,
            dimensions_map=self._insights_dimensions,
            statistic="Maximum",
            period=self._period,
            label=label,
        )

    def _gated(
        self, metric: cloudwatch.IMetric, tasks: cloudwatch.IMetric, idle: float, label: str
    ) -> cloudwatch.IMetric:
        """`metric` while tasks are meant to run, else the harmless value `idle`.

        Math alarms bill per metric ($0.20 instead of $0.10), so only scale-to-zero
        services pay for the gate. FILL: no ECS datapoint at all means zero tasks.
        """
        if not self.scales_to_zero:
            return metric
        return cloudwatch.MathExpression(
            expression=f"IF(FILL(tasks, 0) > 0, m, {idle})",
            using_metrics={"m": metric, "tasks": tasks},
            period=self._period,
            label=label,
        )

    def _alarms(self, s: Signals) -> list[cloudwatch.Alarm]:
        th, name = self.thresholds, self.label
        gt = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ge = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        lt = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
        # Error counts, latency and ECS utilisation are simply not published when nothing
        # happens (no requests, no tasks): missing data is the quiet state, not an outage.
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        # The target group reports its host counts every minute; silence there is suspicious,
        # unless the service may legitimately have no tasks.
        blind = quiet if self.scales_to_zero else cloudwatch.TreatMissingData.BREACHING
        per = f"{th.period_seconds}s period"
        worst_unhealthy = self._worst_unhealthy(s.unhealthy)
        spec = [
            # (id, metric, comparison, threshold, evaluation periods, missing, why)
            ("Target5xx", s.target_5xx, ge, th.target_5xx_count, th.evaluation_periods, quiet,
             f"the service answers >= {th.target_5xx_count} 5xx per {per}: application errors"),
            ("UnhealthyHosts", worst_unhealthy, gt, 0, th.unhealthy_periods, quiet,
             f"a target has failed health checks for {th.unhealthy_periods} periods"),
            ("NoHealthyHosts", self._gated(s.healthy, s.tasks, 1, "healthy hosts while tasks run"),
             lt, 1, th.evaluation_periods, blind,
             "no healthy target: the service is down for every request"),
            ("LatencyP95", s.latency["p95"], gt, th.p95_latency_seconds, th.evaluation_periods,
             quiet, f"p95 target response time above {th.p95_latency_seconds}s"),
            ("Cpu", s.cpu, gt, th.cpu_percent, th.evaluation_periods, quiet,
             f"average service CPU above {th.cpu_percent}%: scaling is maxed out or stuck"),
            ("Memory", s.memory, gt, th.memory_percent, th.evaluation_periods, quiet,
             f"average service memory above {th.memory_percent}%: close to OOM kills"),
        ]  # fmt: skip
        self.alarm_names = [f"{name}-{spec_row[0]}" for spec_row in spec]
        alarms = [
            cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{name}-{alarm_id}",
                alarm_description=f"{name}: {why}",
                metric=metric,
                comparison_operator=op,
                threshold=threshold,
                evaluation_periods=periods,
                treat_missing_data=missing,
                # A quiet non-prod service sees few requests: one slow call is not a p95.
                evaluate_low_sample_count_percentile=(
                    "ignore" if alarm_id == "LatencyP95" else None
                ),
            )
            for alarm_id, metric, op, threshold, periods, missing, why in spec
        ]
        # Also a rollback alarm of every deployment (stacks/service.py).
        (self.unhealthy,) = [a for a in alarms if a.node.id == "UnhealthyHosts"]
        return alarms

    def _worst_unhealthy(self, unhealthy: cloudwatch.IMetric) -> cloudwatch.IMetric:
        """The primary target group's unhealthy count, or the higher of both target groups'
        (a traffic-shifting deployment starts the new revision in the alternate one)."""
        if self._alternate is None:
            return unhealthy
        other = self._alternate.metrics.unhealthy_host_count(
            period=self._period, statistic="Maximum"
        )
        return cloudwatch.MathExpression(
            expression="MAX([FILL(u0, 0), FILL(u1, 0)])",
            using_metrics={"u0": unhealthy, "u1": other},
            period=self._period,
            label="unhealthy targets (worst target group)",
        )

    # -- events -----------------------------------------------------------------------------

    def _event_rules(
        self, service: ecs.FargateService, topic: sns.ITopic
    ) -> tuple[events.Rule, events.Rule]:
        return ecs_event_rules(self, self.label, service, topic)

    # -- dashboard --------------------------------------------------------------------------

    def widgets(self, scope: Construct) -> list[list[cloudwatch.IWidget]]:
        """This service's rows on the environment dashboard (the dashboard is shared: one
        per service would cost $3/month each past the free three).

        Alarms are named, not referenced, so the dashboard's stack imports none of them.
        """
        s, th, scaling = self.signals, self.thresholds, self.scaling
        hline = cloudwatch.HorizontalAnnotation
        graph = cloudwatch.GraphWidget

        def lab(metric: cloudwatch.IMetric, label: str) -> cloudwatch.IMetric:
            # Labels only on the dashboard: on an alarm they force the metric-math form.
            return metric.with_(label=label)  # type: ignore[attr-defined]

        cpu = lab(s.cpu, "CPU avg")
        if self.container_insights:
            tasks = [
                self.insights(f"{state}TaskCount", state.lower())
                for state in ("Running", "Desired", "Pending")
            ]
        else:
            # No desired-count metric without Container Insights: targets registered behind
            # the ALB are the running tasks; the annotations show the scaling range.
            tasks = [
                cloudwatch.MathExpression(
                    expression="h + u",
                    using_metrics={"h": s.healthy, "u": s.unhealthy},
                    period=self._period,
                    label="running tasks (registered targets)",
                )
            ]
        scaling_lines = [hline(value=scaling.cpu_target_percent, label="CPU scaling target")]
        return [
            [cloudwatch.TextWidget(markdown=f"## {self.label}", width=24, height=1)],
            [
                graph(
                    title=f"{self.label}: requests, target 4xx / 5xx",
                    left=[lab(s.requests, "requests")],
                    right=[lab(s.target_4xx, "4xx"), lab(s.target_5xx, "5xx")],
                    width=8,
                ),
                graph(
                    title=f"{self.label}: response time p50 / p95 / p99 (s)",
                    left=[lab(m, p) for p, m in s.latency.items()],
                    left_annotations=[hline(value=th.p95_latency_seconds, label="p95 alarm")],
                    width=8,
                ),
                graph(
                    title=f"{self.label}: healthy / unhealthy hosts",
                    left=[lab(s.healthy, "healthy"), lab(s.unhealthy, "unhealthy")],
                    width=8,
                ),
            ],
            [
                graph(
                    title=f"{self.label}: CPU / memory (%) and scaling target",
                    left=[cpu, lab(s.memory, "memory avg")],
                    left_annotations=[
                        *scaling_lines,
                        hline(value=th.cpu_percent, label="CPU alarm"),
                        hline(value=th.memory_percent, label="memory alarm"),
                    ],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                    width=8,
                ),
                graph(
                    title=f"{self.label}: tasks vs scaling range",
                    left=tasks,
                    left_annotations=[
                        hline(value=scaling.min_tasks, label="min tasks"),
                        hline(value=scaling.max_tasks, label="max tasks"),
                    ],
                    width=8,
                ),
                cloudwatch.AlarmStatusWidget(
                    title=f"{self.label}: alarms",
                    alarms=[
                        cloudwatch.Alarm.from_alarm_name(scope, f"{a.node.id}{self.label}", name)
                        for a, name in zip(self.alarms, self.alarm_names, strict=True)
                    ],
                    width=8,
                    height=6,
                ),
            ],
        ]


def ecs_event_rules(
    scope: Construct, name: str, service: ecs.FargateService, topic: sns.ITopic
) -> tuple[events.Rule, events.Rule]:
    """A failed deployment and a task that stopped on its own, to the topic (every kind with
    an ECS service)."""
    field = events.EventField.from_path
    deployment = events.Rule(
        scope,
        "DeploymentFailed",
        description=f"{name}: ECS deployment failed (circuit breaker rolled back)",
        event_pattern=events.EventPattern(
            source=["aws.ecs"],
            detail_type=["ECS Deployment State Change"],
            resources=[service.service_arn],
            detail={"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
        ),
        targets=[
            targets.SnsTopic(
                topic,
                message=events.RuleTargetInput.from_text(
                    f"{name}: deployment {field('$.detail.deploymentId')} failed:"
                    f" {field('$.detail.reason')}"
                ),
            )
        ],
    )
    stopped = events.Rule(
        scope,
        "TaskStoppedUnexpectedly",
        description=f"{name}: a task stopped on its own (crash, Spot interruption, no start)",
        event_pattern=events.EventPattern(
            source=["aws.ecs"],
            detail_type=["ECS Task State Change"],
            detail={
                "clusterArn": [service.cluster.cluster_arn],
                # The cluster is shared: a service's tasks carry group "service:<name>".
                "group": [f"service:{service.service_name}"],
                "lastStatus": ["STOPPED"],
                "stopCode": list(UNEXPECTED_STOP_CODES),
            },
        ),
        targets=[
            targets.SnsTopic(
                topic,
                message=events.RuleTargetInput.from_text(
                    f"{name}: task {field('$.detail.taskArn')} stopped"
                    f" ({field('$.detail.stopCode')}): {field('$.detail.stoppedReason')}"
                ),
            )
        ],
    )
    for rule in (deployment, stopped):
        # The topic is imported by an ARN made of pseudo-parameters: same account and region.
        Annotations.of(rule).acknowledge_warning(
            "@aws-cdk/aws-events:ruleUnresolvedEnvironment",
            "the topic is this environment's own, in the rule's account and region",
        )
    return deployment, stopped
