"""RollbackAlarms: the 5xx-rate alarm an ECS deployment watches (DeploymentAlarms, enable +
rollback) for one service, over every target group its revisions serve from. The other alarm
a deployment watches is the service's own UnhealthyHosts (ServiceAlarms), which covers the
alternate target group too: one alarm, billed once, for both jobs.

How they treat a quiet non-production service (the point of this construct):

- **5xx rate, not a count.** `100 x HTTPCode_Target_5XX_Count / RequestCount` per period, per
  target group; with two target groups (blue-green, canary, linear) the worse of the two, so a
  canary's errors are not diluted by the old revision's traffic.
- **Low traffic is quiet.** A period with fewer than `rollback_min_requests` requests counts as
  rate 0: one failed request out of three never rolls a deployment back.
- **No traffic is quiet.** The load balancer publishes nothing for a target group without
  requests; FILL turns missing counts into 0 inside the expression, and a period with no
  datapoint at all is `notBreaching` (TreatMissingData).
- **N of M.** The alarm needs `rollback_datapoints_to_alarm` breaching periods out of the
  last `rollback_evaluation_periods`, so a single bad minute does not roll back either.
- **Unhealthy targets** (ServiceAlarms.UnhealthyHosts): the highest UnHealthyHostCount of the
  target groups above 0 for `monitoring.thresholds.unhealthy_periods` periods; missing data
  (no target registered, e.g. scaled to zero) is notBreaching.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from fargate_env.config import DeploymentConfig


def rate_expression(count: int, min_requests: int) -> str:
    """Metric math over target groups 0..count-1 (metric ids e<i> = 5xx, r<i> = requests):
    the worst target group's 5xx percentage, 0 in periods under `min_requests` requests."""
    rates = [
        f"IF(FILL(r{i}, 0) >= {min_requests}, 100 * FILL(e{i}, 0) / FILL(r{i}, 1), 0)"
        for i in range(count)
    ]
    return rates[0] if count == 1 else f"MAX([{', '.join(rates)}])"


class RollbackAlarms(Construct):
    """`label` prefixes the alarm name ("<env>-<service>"); `target_groups` are the primary
    one and, for traffic-shifting strategies, the alternate one."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        label: str,
        target_groups: list[elbv2.ApplicationTargetGroup],
        deployment: DeploymentConfig,
        period_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.seconds(period_seconds)
        code = elbv2.HttpCodeTarget.TARGET_5XX_COUNT
        metrics: dict[str, cloudwatch.IMetric] = {}
        for i, tg in enumerate(target_groups):
            metrics[f"e{i}"] = tg.metrics.http_code_target(code, period=period, statistic="Sum")
            metrics[f"r{i}"] = tg.metrics.request_count(period=period, statistic="Sum")
        rate = cloudwatch.MathExpression(
            expression=rate_expression(len(target_groups), deployment.rollback_min_requests),
            using_metrics=metrics,
            period=period,
            label="target 5xx % (0 under the minimum requests)",
        )
        n, m = deployment.rollback_datapoints_to_alarm, deployment.rollback_evaluation_periods
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        self.error_rate = cloudwatch.Alarm(
            self,
            "ErrorRate",
            alarm_name=f"{label}-Rollback5xxRate",
            alarm_description=(
                f"{label}: rolls a deployment back when target 5xx reach"
                f" {deployment.rollback_5xx_rate_percent:g} % of requests in {n} of {m}"
                f" {period_seconds}s periods (periods under {deployment.rollback_min_requests}"
                " requests count as 0)"
            ),
            metric=rate,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=deployment.rollback_5xx_rate_percent,
            evaluation_periods=m,
            datapoints_to_alarm=n,
            treat_missing_data=quiet,
        )
        self.alarms = [self.error_rate]

    @property
    def alarm_names(self) -> list[str]:
        return [alarm.alarm_name for alarm in self.alarms]
