"""MonthlyBudget: a cost budget on the environment's cost-allocation tag that notifies the
alarm topic and e-mails at an actual and a forecast share of the user's monthly amount."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_budgets as budgets
from constructs import Construct

# The budget resource is this construct's default child: its logical id is the construct's id
# (the one it had when the stack created it inline), so deployed budgets are not replaced.
DEFAULT_CHILD = "Default"


class MonthlyBudget(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        amount_usd: float,
        tag: tuple[str, str],
        topic_arn: str,
        emails: Sequence[str],
        actual_percent: float,
        forecast_percent: float,
    ) -> None:
        super().__init__(scope, construct_id)
        B = budgets.CfnBudget
        # E-mails are listed directly too: budget mails need no SNS subscription confirmation.
        subscribers = [B.SubscriberProperty(subscription_type="SNS", address=topic_arn)]
        subscribers += [B.SubscriberProperty(subscription_type="EMAIL", address=e) for e in emails]
        alerts = (("ACTUAL", actual_percent), ("FORECASTED", forecast_percent))
        key, value = tag
        self.budget = B(
            self,
            DEFAULT_CHILD,
            budget=B.BudgetDataProperty(
                budget_name=name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=B.SpendProperty(amount=amount_usd, unit="USD"),
                # The tag only filters once activated as a cost-allocation tag in Billing.
                cost_filters={"TagKeyValue": [f"user:{key}${value}"]},
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
