"""TaskAlarms: the alarms of a service no load balancer watches (a backend or a worker): CPU and
memory high, fewer tasks running than desired (Container Insights only: ECS publishes the task
counts nowhere else), a queue worker's oldest message, and the ECS event rules."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from constructs import Construct

from fargate_env.config import ScalingConfig, ThresholdsConfig
from fargate_env.constructs.service_alarms import ecs_event_rules


class TaskAlarms(Construct):
    """`label` prefixes alarm names and messages ("<env>-<service>"). `queue_age`: the age of
    the worker queue's oldest message; it alarms past `queue_age_seconds`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        label: str,
        service: ecs.FargateService,
        topic: sns.ITopic,
        thresholds: ThresholdsConfig,
        scaling: ScalingConfig,
        container_insights: bool,
        queue_age: cloudwatch.IMetric | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.label, self.scaling, self.thresholds = label, scaling, thresholds
        th = thresholds
        period = Duration.seconds(th.period_seconds)
        self.cpu = service.metric_cpu_utilization(period=period, statistic="Average")
        self.memory = service.metric_memory_utilization(period=period, statistic="Average")
        gt = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        # No task, no datapoint: utilisation is simply not published then (scale to zero).
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        spec = [
            ("Cpu", self.cpu, gt, th.cpu_percent,
             f"average service CPU above {th.cpu_percent}%: scaling is maxed out or stuck"),
            ("Memory", self.memory, gt, th.memory_percent,
             f"average service memory above {th.memory_percent}%: close to OOM kills"),
        ]  # fmt: skip
        if container_insights:

            def insights(metric_name: str) -> cloudwatch.Metric:
                return cloudwatch.Metric(
                    namespace="ECS/ContainerInsights",
                    metric_name=metric_name,
                    dimensions_map={
                        "ClusterName": service.cluster.cluster_name,
                        "ServiceName": service.service_name,
                    },
                    statistic="Minimum",
                    period=period,
                )

            short = cloudwatch.MathExpression(
                expression="FILL(d, 0) - FILL(r, 0)",
                using_metrics={"d": insights("DesiredTaskCount"),
                               "r": insights("RunningTaskCount")},
                period=period,
                label="tasks desired but not running",
            )  # fmt: skip
            spec.append(("RunningBelowDesired", short, gt, 0,
                         "fewer tasks run than desired: they crash, or cannot start"))  # fmt: skip
        if queue_age is not None:
            spec.append(("QueueAge", queue_age, gt, th.queue_age_seconds,
                         f"the queue's oldest message is older than {th.queue_age_seconds}s:"
                         " the worker falls behind or is down"))  # fmt: skip
        self.alarm_names = [f"{label}-{row[0]}" for row in spec]
        self.alarms = [
            cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{label}-{alarm_id}",
                alarm_description=f"{label}: {why}",
                metric=metric,
                comparison_operator=op,
                threshold=threshold,
                evaluation_periods=th.evaluation_periods,
                treat_missing_data=quiet,
            )
            for alarm_id, metric, op, threshold, why in spec
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarm.add_ok_action(cw_actions.SnsAction(topic))
        self.deployment_rule, self.task_stopped_rule = ecs_event_rules(self, label, service, topic)

    def widgets(self, scope: Construct) -> list[list[cloudwatch.IWidget]]:
        """This service's rows on the environment dashboard (alarms named, not referenced)."""
        hline = cloudwatch.HorizontalAnnotation
        th = self.thresholds
        return [
            [cloudwatch.TextWidget(markdown=f"## {self.label}", width=24, height=1)],
            [
                cloudwatch.GraphWidget(
                    title=f"{self.label}: CPU / memory (%) and scaling target",
                    left=[self.cpu.with_(label="CPU avg"), self.memory.with_(label="memory avg")],
                    left_annotations=[
                        hline(value=self.scaling.cpu_target_percent, label="CPU scaling target"),
                        hline(value=th.cpu_percent, label="CPU alarm"),
                        hline(value=th.memory_percent, label="memory alarm"),
                    ],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                    width=12,
                ),
                cloudwatch.AlarmStatusWidget(
                    title=f"{self.label}: alarms",
                    alarms=[
                        cloudwatch.Alarm.from_alarm_name(scope, f"{a.node.id}{self.label}", name)
                        for a, name in zip(self.alarms, self.alarm_names, strict=True)
                    ],
                    width=12,
                    height=6,
                ),
            ],
        ]
