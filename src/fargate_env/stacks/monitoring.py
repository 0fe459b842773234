"""MonitoringStack: the alarm topic and its key, the alarms that matter, ECS event rules, the
dashboard and the monthly budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from fargate_env import outputs
from fargate_env.config import COST_TAG, EnvironmentConfig

if TYPE_CHECKING:  # only for hints: the stacks are handed in by app.py
    from fargate_env.stacks.load_balancer import LoadBalancerStack
    from fargate_env.stacks.service import ServiceStack

# Services that publish to the topic besides EventBridge, whose topic- and key-policy
# statements the SnsTopic rule target adds itself.
# Each with its statement id and the ARN pattern of this account's publishers in that service.
PUBLISHERS = {
    "cloudwatch.amazonaws.com": ("AllowCloudWatchAlarms", "cloudwatch:{region}:{account}:alarm:*"),
    "budgets.amazonaws.com": ("AllowBudgets", "budgets::{account}:*"),
}
# What a publisher needs on the topic's key (SNS developer guide, "Key management").
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
# ECS stop codes that mean "this task died", unlike scale-in, deploys and scheduled stops
# (ServiceSchedulerInitiated) or a person stopping it (UserInitiated).
UNEXPECTED_STOP_CODES = ("EssentialContainerExited", "SpotInterruption", "TaskFailedToStart")


@dataclass(frozen=True)
class _Signals:
    """The metrics alarms and dashboard share, all pointing at this ALB, target group, service."""

    requests: cloudwatch.IMetric
    target_5xx: cloudwatch.IMetric
    target_4xx: cloudwatch.IMetric
    alb_5xx: cloudwatch.IMetric
    alb_4xx: cloudwatch.IMetric
    healthy: cloudwatch.IMetric
    unhealthy: cloudwatch.IMetric
    requests_per_target: cloudwatch.IMetric
    latency: dict[str, cloudwatch.IMetric]
    cpu: cloudwatch.IMetric
    memory: cloudwatch.IMetric
    # > 0 while the service is meant to (or does) run tasks; drives the scale-to-zero gate.
    tasks: cloudwatch.IMetric


class MonitoringStack(Stack):
    """Seven alarms, two event rules, one dashboard and one budget, all notifying one topic.

    The topic is encrypted with a customer-managed key: the AWS-managed alias/aws/sns key's policy
    cannot be edited, so CloudWatch, EventBridge and Budgets could not publish through it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        load_balancer: LoadBalancerStack,
        service: ServiceStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        mon = config.monitoring
        # Scheduled off-hours or min_tasks 0: zero tasks is normal, not an outage.
        self.scales_to_zero = (
            config.service.schedule is not None or config.service.scaling.min_tasks == 0
        )

        self.key = self._key()
        self.topic = self._topic()
        for email in mon.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        signals = self._signals(load_balancer.alb, load_balancer.target_group, service.service)
        self.alarms = self._alarms(signals)
        for alarm in self.alarms:
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
            alarm.add_ok_action(cw_actions.SnsAction(self.topic))

        self.deployment_rule, self.task_stopped_rule = self._event_rules(
            service.cluster, service.service
        )
        self.budget = self._budget()

        CfnOutput(self, outputs.TOPIC_ARN, value=self.topic.topic_arn)
        self.dashboard: cloudwatch.Dashboard | None = None
        if mon.dashboard:
            self.dashboard = self._dashboard(signals)
            CfnOutput(self, outputs.DASHBOARD_URL, value=self.dashboard_url)

    # -- topic -------------------------------------------------------------------------------

    def _key(self) -> kms.Key:
        key = kms.Key(
            self,
            "TopicKey",
            description=f"{self.config.name}: encrypts the alarm topic; usable by its publishers",
            enable_key_rotation=True,
            # It only protects notifications in flight: nothing to keep once the stack is gone,
            # and a retained key would keep costing $1/month.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # No source conditions here: CloudWatch's KMS calls through SNS carry none (a
        # kms:CallerAccount condition breaks alarm delivery); the topic policy scopes publishers.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPublishersThroughSns",
                actions=list(KEY_ACTIONS),
                principals=[iam.ServicePrincipal(p) for p in PUBLISHERS],
                resources=["*"],
            )
        )
        return key

    def _topic(self) -> sns.Topic:
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{self.config.name} alarms",
            master_key=self.key,
            enforce_ssl=True,  # Deny sns:Publish without aws:SecureTransport
        )
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
        # Confused-deputy guards: only this account's alarms and budgets may publish.
        for service, (sid, source) in PUBLISHERS.items():
            source_arn = f"arn:{partition}:" + source.format(region=region, account=account)
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    actions=["sns:Publish"],
                    principals=[iam.ServicePrincipal(service)],
                    resources=[topic.topic_arn],
                    conditions={
                        "ArnLike": {"aws:SourceArn": source_arn},
                        "StringEquals": {"aws:SourceAccount": account},
                    },
                )
            )
        # EventBridge's statement is added by the SnsTopic rule targets below.
        return topic

    # -- alarms ------------------------------------------------------------------------------

    def _signals(
        self,
        alb: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        service: ecs.FargateService,
    ) -> _Signals:
        period = Duration.seconds(self.config.monitoring.thresholds.period_seconds)
        tg, lb = target_group.metrics, alb.metrics
        code_t, code_e = elbv2.HttpCodeTarget, elbv2.HttpCodeElb
        self._insights_dimensions = {
            "ClusterName": service.cluster.cluster_name,
            "ServiceName": service.service_name,
        }
        if self.config.service.container_insights:
            # Exact, but only published (and billed) with Container Insights on.
            tasks: cloudwatch.IMetric = self._insights("DesiredTaskCount", "desired")
        else:
            # ECS publishes service metrics only while tasks run: a sample count > 0 means
            # "tasks are running", at no extra cost.
            tasks = service.metric_cpu_utilization(statistic="SampleCount", period=period)
        return _Signals(
            requests=lb.request_count(period=period, statistic="Sum"),
            requests_per_target=tg.request_count_per_target(period=period, statistic="Sum"),
            target_5xx=tg.http_code_target(code_t.TARGET_5XX_COUNT, period=period, statistic="Sum"),
            target_4xx=tg.http_code_target(code_t.TARGET_4XX_COUNT, period=period, statistic="Sum"),
            alb_5xx=lb.http_code_elb(code_e.ELB_5XX_COUNT, period=period, statistic="Sum"),
            alb_4xx=lb.http_code_elb(code_e.ELB_4XX_COUNT, period=period, statistic="Sum"),
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

    def _insights(self, metric_name: str, label: str) -> cloudwatch.Metric:
        """A Container Insights service metric (ECS/ContainerInsights, costs extra)."""
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=metric_name,
            dimensions_map=self._insights_dimensions,
            statistic="Maximum",
            period=Duration.seconds(self.config.monitoring.thresholds.period_seconds),
            label=label,
        )

    def _gated(
        self, metric: cloudwatch.IMetric, tasks: cloudwatch.IMetric, idle: float, label: str
    ) -> cloudwatch.IMetric:
        """`metric` while tasks are meant to run, else the harmless value `idle`.

        Math alarms bill per metric ($0.20 instead of $0.10), so only scale-to-zero
        environments pay for the gate. FILL: no ECS datapoint at all means zero tasks.
        """
        if not self.scales_to_zero:
            return metric
        return cloudwatch.MathExpression(
            expression=f"IF(FILL(tasks, 0) > 0, m, {idle})",
            using_metrics={"m": metric, "tasks": tasks},
            period=Duration.seconds(self.config.monitoring.thresholds.period_seconds),
            label=label,
        )

    def _alarms(self, s: _Signals) -> list[cloudwatch.Alarm]:
        th = self.config.monitoring.thresholds
        name = self.config.name
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
        spec = [
            # (id, metric, comparison, threshold, evaluation periods, missing, why)
            ("Target5xx", s.target_5xx, ge, th.target_5xx_count, th.evaluation_periods, quiet,
             f"the service answers >= {th.target_5xx_count} 5xx per {per}: application errors"),
            ("Alb5xx", self._gated(s.alb_5xx, s.tasks, 0, "ALB 5xx while tasks should run"),
             ge, th.alb_5xx_count, th.evaluation_periods, quiet,
             f"the ALB itself answers >= {th.alb_5xx_count} 5xx per {per}: no healthy target,"
             " connection errors or timeouts"),
            ("UnhealthyHosts", s.unhealthy, gt, 0, th.unhealthy_periods, quiet,
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
        alarms = []
        for alarm_id, metric, op, threshold, periods, missing, why in spec:
            alarms.append(
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
            )
        return alarms

    # -- events ------------------------------------------------------------------------------

    def _event_rules(
        self, cluster: ecs.ICluster, service: ecs.FargateService
    ) -> tuple[events.Rule, events.Rule]:
        name = self.config.name
        field = events.EventField.from_path
        deployment = events.Rule(
            self,
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
                    self.topic,
                    message=events.RuleTargetInput.from_text(
                        f"{name}: deployment {field('$.detail.deploymentId')} failed:"
                        f" {field('$.detail.reason')}"
                    ),
                )
            ],
        )
        stopped = events.Rule(
            self,
            "TaskStoppedUnexpectedly",
            description=f"{name}: a task stopped on its own (crash, Spot interruption, no start)",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster.cluster_arn],
                    "lastStatus": ["STOPPED"],
                    "stopCode": list(UNEXPECTED_STOP_CODES),
                },
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    message=events.RuleTargetInput.from_text(
                        f"{name}: task {field('$.detail.taskArn')} stopped"
                        f" ({field('$.detail.stopCode')}): {field('$.detail.stoppedReason')}"
                    ),
                )
            ],
        )
        return deployment, stopped

    # -- budget ------------------------------------------------------------------------------

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

    # -- dashboard ---------------------------------------------------------------------------

    @property
    def dashboard_name(self) -> str:
        return f"{self.config.name}-fargate-env"

    @property
    def dashboard_url(self) -> str:
        region = self.config.region
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards:name={self.dashboard_name}"
        )

    def _dashboard(self, s: _Signals) -> cloudwatch.Dashboard:
        th, svc = self.config.monitoring.thresholds, self.config.service
        scaling = svc.scaling
        hline = cloudwatch.HorizontalAnnotation
        period = Duration.seconds(th.period_seconds)

        def lab(metric: cloudwatch.IMetric, label: str) -> cloudwatch.IMetric:
            # Labels only on the dashboard: on an alarm they force the metric-math form.
            return metric.with_(label=label)  # type: ignore[attr-defined]

        healthy, unhealthy = lab(s.healthy, "healthy"), lab(s.unhealthy, "unhealthy")
        cpu, memory = lab(s.cpu, "CPU avg"), lab(s.memory, "memory avg")
        task_metrics: list[cloudwatch.IMetric]
        if svc.container_insights:
            task_metrics = [
                self._insights("RunningTaskCount", "running"),
                self._insights("DesiredTaskCount", "desired"),
                self._insights("PendingTaskCount", "pending"),
            ]
            tasks_title = "Running vs desired tasks"
        else:
            # No desired-count metric without Container Insights: tasks registered behind the
            # ALB are the running ones, the annotations the configured scaling range.
            task_metrics = [
                cloudwatch.MathExpression(
                    expression="h + u",
                    using_metrics={"h": s.healthy, "u": s.unhealthy},
                    period=period,
                    label="running tasks (registered targets)",
                )
            ]
            tasks_title = "Running tasks vs scaling range (desired: enable container_insights)"
        # One line per target-tracking policy the service stack configures, with its target.
        scaling_left = [cpu]
        scaling_lines = [hline(value=scaling.cpu_target_percent, label="CPU scaling target")]
        if scaling.memory_target_percent is not None:
            scaling_left.append(memory)
            scaling_lines.append(
                hline(value=scaling.memory_target_percent, label="memory scaling target")
            )
        if scaling.requests_per_target is not None:
            scaling_left.append(lab(s.requests_per_target, "requests per target"))
            scaling_lines.append(
                hline(value=scaling.requests_per_target, label="requests/target scaling target")
            )
        graph = cloudwatch.GraphWidget
        widgets: list[list[cloudwatch.IWidget]] = [
            [
                graph(title="Requests", left=[lab(s.requests, "requests")], width=12),
                graph(
                    title="Target response time p50 / p95 / p99 (s)",
                    left=[lab(m, p) for p, m in s.latency.items()],
                    left_annotations=[hline(value=th.p95_latency_seconds, label="p95 alarm")],
                    width=12,
                ),
            ],
            [
                graph(
                    title="HTTP 4xx / 5xx",
                    left=[
                        lab(s.alb_4xx, "ALB 4xx"),
                        lab(s.alb_5xx, "ALB 5xx"),
                        lab(s.target_4xx, "target 4xx"),
                        lab(s.target_5xx, "target 5xx"),
                    ],
                    width=12,
                ),
                graph(title="Healthy / unhealthy hosts", left=[healthy, unhealthy], width=12),
            ],
            [
                graph(
                    title="CPU / memory utilisation (%)",
                    left=[cpu, memory],
                    left_annotations=[
                        hline(value=th.cpu_percent, label="CPU alarm"),
                        hline(value=th.memory_percent, label="memory alarm"),
                    ],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                    width=12,
                ),
                graph(
                    title=tasks_title,
                    left=task_metrics,
                    left_annotations=[
                        hline(value=scaling.min_tasks, label="min tasks"),
                        hline(value=scaling.max_tasks, label="max tasks"),
                    ],
                    width=12,
                ),
            ],
            [
                # Target tracking scales when a line crosses its target; the right axis shows
                # the task count that followed.
                graph(
                    title="Scaling activity: scaling metrics vs targets, task count",
                    left=scaling_left,
                    left_annotations=scaling_lines,
                    right=[task_metrics[0]],
                    width=12,
                ),
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=list(self.alarms), width=12, height=6
                ),
            ],
        ]
        return cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=self.dashboard_name, widgets=widgets
        )
