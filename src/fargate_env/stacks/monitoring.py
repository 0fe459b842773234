"""MonitoringStack: the environment dashboard (the ALB, then each service's rows) and the
load balancer's own alarm. Deployed last: it reads every service stack, none reads it."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import MonitoringConfig
from fargate_env.constructs.scheduled_job import ScheduledJob
from fargate_env.constructs.service_alarms import ServiceAlarms
from fargate_env.constructs.task_alarms import TaskAlarms


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        region: str,
        monitoring: MonitoringConfig,
        alb: elbv2.IApplicationLoadBalancer,
        topic_arn: str,
        services: list[ServiceAlarms | TaskAlarms | ScheduledJob],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name, self.region_name = environment, region
        th = monitoring.thresholds
        period = Duration.seconds(th.period_seconds)
        lb = alb.metrics
        self.alb_5xx = lb.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=period, statistic="Sum"
        )
        requests = lb.request_count(period=period, statistic="Sum")
        alb_4xx = lb.http_code_elb(elbv2.HttpCodeElb.ELB_4XX_COUNT, period=period, statistic="Sum")
        # The ALB's own 5xx (no healthy target, timeouts, connection errors) cannot be told
        # apart per service; a service scaled to zero by its schedule answers 503 here too.
        self.alb_alarm = cloudwatch.Alarm(
            self,
            "Alb5xx",
            alarm_name=f"{environment}-Alb5xx",
            alarm_description=(
                f"{environment}: the ALB itself answers >= {th.alb_5xx_count} 5xx per"
                f" {th.period_seconds}s period: no healthy target, connection errors or timeouts"
            ),
            metric=self.alb_5xx,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=th.alb_5xx_count,
            evaluation_periods=th.evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn)
        self.alb_alarm.add_alarm_action(cw_actions.SnsAction(topic))
        self.alb_alarm.add_ok_action(cw_actions.SnsAction(topic))

        self.dashboard: cloudwatch.Dashboard | None = None
        if monitoring.dashboard:
            self.dashboard = self._dashboard(requests, alb_4xx, services)
            CfnOutput(self, outputs.DASHBOARD_URL, value=self.dashboard_url)

    def _dashboard(
        self,
        requests: cloudwatch.Metric,
        alb_4xx: cloudwatch.Metric,
        services: list[ServiceAlarms | TaskAlarms | ScheduledJob],
    ) -> cloudwatch.Dashboard:
        """The ALB's row first, then each service's rows."""
        graph = cloudwatch.GraphWidget
        widgets: list[list[cloudwatch.IWidget]] = [
            [
                graph(
                    title="ALB: requests",
                    left=[requests.with_(label="requests")],
                    width=12,
                ),
                graph(
                    title="ALB: its own 4xx / 5xx",
                    left=[alb_4xx.with_(label="ALB 4xx"), self.alb_5xx.with_(label="ALB 5xx")],
                    width=12,
                ),
            ]
        ]
        for service in services:
            widgets.extend(service.widgets(self))
        return cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=self.dashboard_name, widgets=widgets
        )

    @property
    def dashboard_name(self) -> str:
        return f"{self.environment_name}-fargate-env"

    @property
    def dashboard_url(self) -> str:
        region = self.region_name
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard_name}"
        )
