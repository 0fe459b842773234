"""AlertsStack: the alarm topic every service notifies, and the environment's monthly budget.

Deployed before the services: their alarms and event rules publish to this topic by its ARN.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import COST_TAG, EnvironmentConfig
from fargate_env.constructs.alarm_topic import AlarmTopic


def topic_name(config: EnvironmentConfig) -> str:
    return f"{config.name}-alarms"


class AlertsStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.alarm_topic = AlarmTopic(self, "AlarmTopic", topic_name=topic_name(config))
        self.topic = self.alarm_topic.topic
        for email in config.monitoring.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.budget = self._budget()
        CfnOutput(self, outputs.TOPIC_ARN, value=self.topic.topic_arn)

    def _budget(self) -> budgets.CfnBudget:
        mon, name = self.config.monitoring, self.config.name
        B = budgets.CfnBudget
        # E-mails are listed directly too: budget mails need no SNS subscription confirmation.
        subscribers = [B.SubscriberProperty(subscription_type="SNS", address=self.topic.topic_arn)]
        subscribers += [
            B.SubscriberProperty(subscription_type="EMAIL", address=e) for e in mon.emails
        ]
        alerts = (
            ("ACTUAL", mon.budget_actual_percent),
            ("FORECASTED", mon.budget_forecast_percent),
        )
        return B(
            self,
            "MonthlyBudget",
            budget=B.BudgetDataProperty(
                budget_name=f"{name}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=B.SpendProperty(
                    amount=self.config.cost.monthly_budget_usd, unit="USD"
                ),
                # The tag only filters once activated as a cost-allocation tag in Billing.
                cost_filters={
                    "TagKeyValue": [f"user:{COST_TAG}${self.config.stack_tags[COST_TAG]}"]
                },
            ),
            notifications_with_subscribers=[
                B.NotificationWithSubscribersProperty(
                    notification=B.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, percent in alerts
            ],
        )
