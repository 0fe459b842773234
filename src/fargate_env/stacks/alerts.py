"""AlertsStack: the alarm topic every service notifies, and the environment's monthly budget.

Deployed before the services: their alarms and event rules publish to this topic by its ARN.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import MonitoringConfig
from fargate_env.constructs.alarm_topic import AlarmTopic
from fargate_env.constructs.budget import MonthlyBudget


def topic_name(environment: str) -> str:
    return f"{environment}-alarms"


class AlertsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        monitoring: MonitoringConfig,
        monthly_budget_usd: float,
        cost_tag: tuple[str, str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alarm_topic = AlarmTopic(self, "AlarmTopic", topic_name=topic_name(environment))
        self.topic = self.alarm_topic.topic
        for email in monitoring.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.budget = MonthlyBudget(
            self,
            "MonthlyBudget",
            name=f"{environment}-monthly",
            amount_usd=monthly_budget_usd,
            tag=cost_tag,
            topic_arn=self.topic.topic_arn,
            emails=monitoring.emails,
            actual_percent=monitoring.budget_actual_percent,
            forecast_percent=monitoring.budget_forecast_percent,
        )
        CfnOutput(self, outputs.TOPIC_ARN, value=self.topic.topic_arn)
