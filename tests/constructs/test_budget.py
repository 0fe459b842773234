"""MonthlyBudget on a bare Stack(): the user's amount, the tag filter, both notifications,
and the logical id the stack gave the budget before it was a construct."""

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from fargate_env.constructs.budget import MonthlyBudget

TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def test_budget_on_a_bare_stack():
    stack = cdk.Stack(cdk.App(), "Bare")
    MonthlyBudget(
        stack,
        "MonthlyBudget",
        name="x-monthly",
        amount_usd=25,
        tag=("environment", "x"),
        topic_arn=TOPIC,
        emails=["ops@example.com"],
        actual_percent=80,
        forecast_percent=100,
    )
    template = Template.from_stack(stack)
    budgets = template.find_resources("AWS::Budgets::Budget")
    assert list(budgets) == ["MonthlyBudget"]
    budget = budgets["MonthlyBudget"]["Properties"]
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 25, "Unit": "USD"}
    assert budget["Budget"]["CostFilters"] == {"TagKeyValue": ["user:environment$x"]}
    notes = budget["NotificationsWithSubscribers"]
    assert [
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notes
    ] == [
        ("ACTUAL", 80),
        ("FORECASTED", 100),
    ]
    template.has_resource_properties(
        "AWS::Budgets::Budget",
        {
            "NotificationsWithSubscribers": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Subscribers": [
                                {"SubscriptionType": "SNS", "Address": TOPIC},
                                {"SubscriptionType": "EMAIL", "Address": "ops@example.com"},
                            ]
                        }
                    )
                ]
            )
        },
    )
