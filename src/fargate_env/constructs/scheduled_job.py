"""ScheduledJob: one task per scheduled run, nothing in between.

EventBridge Scheduler starts a Step Functions execution whose one Task state runs the task with
`ecs:runTask.sync`: ECS has no task timeout of its own, the state's TimeoutSeconds is one (Step
Functions stops the task when the state times out), and the state retries a run that could not
start (RunTask's Failures, e.g. no Spot capacity, surface as AmazonECS.Unknown). A Choice then
judges the run by the container's exit code. A failed, timed-out or aborted execution alarms;
so does an invocation Scheduler dropped (the run never started). This is the shape of Copilot's
scheduled jobs.
"""

from __future__ import annotations

from aws_cdk import Duration, Fn, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from fargate_env.config import ServiceConfig, ThresholdsConfig
from fargate_env.constructs.service_task import (
    CONTAINER_NAME,
    PLATFORM_VERSIONS,
    ServiceTask,
    capacity,
    task_security_group,
)

# What RunTask reports when it placed no task (Step Functions developer guide, "Run Amazon ECS
# or Fargate tasks"), and ECS's own errors: both mean "the run did not start".
START_ERRORS = ("AmazonECS.Unknown", "ECS.AmazonECSException", "ECS.ServerException")
START_RETRY_INTERVAL_S = 30


class ScheduledJob(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        label: str,
        name: str,
        service: ServiceConfig,
        cluster: ecs.ICluster,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        repository: ecr.IRepository | None,
        topic: sns.ITopic,
        thresholds: ThresholdsConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        assert service.job is not None
        job = service.job
        self.label = self.schedule_name = label
        task = ServiceTask(self, "Default", name=name, service=service, repository=repository)
        self.log_group, self.task_definition = task.log_group, task.task_definition
        self.security_group = task_security_group(
            self, cluster.vpc, f"{name} runs: nothing in, HTTPS out"
        )
        strategy = capacity(service)
        self.capacity_provider = (
            "FARGATE_SPOT" if service.capacity.spot and service.capacity.on_demand_base == 0
            else "FARGATE"
        )  # fmt: skip
        self.assign_public_ip = assign_public_ip
        self.subnet_ids = Fn.join(
            ",", cluster.vpc.select_subnets(subnet_type=subnets.subnet_type).subnet_ids
        )

        run = tasks.EcsRunTask(
            self,
            "Run",
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            cluster=cluster,
            task_definition=self.task_definition,
            launch_target=tasks.EcsFargateLaunchTarget(
                platform_version=PLATFORM_VERSIONS[service.platform_version],
                capacity_provider_options=tasks.CapacityProviderOptions.custom(strategy),
            ),
            subnets=subnets,
            security_groups=[self.security_group],
            assign_public_ip=assign_public_ip,
            task_timeout=sfn.Timeout.duration(Duration.minutes(job.timeout_minutes)),
            # The run's task carries the environment's tags (cost allocation, `destroy`).
            propagated_tag_source=ecs.PropagatedTagSource.TASK_DEFINITION,
        )
        if job.start_retries:
            run.add_retry(
                errors=list(START_ERRORS),
                max_attempts=job.start_retries,
                interval=Duration.seconds(START_RETRY_INTERVAL_S),
                backoff_rate=2,
            )
        exit_code = "$.Containers[0].ExitCode"
        judged = (
            sfn.Choice(self, "ExitCode")
            .when(sfn.Condition.number_equals(exit_code, 0), sfn.Succeed(self, "Exited0"))
            .otherwise(sfn.Fail(self, "ExitedNonZero", error="JobFailed",
                                cause=f"{CONTAINER_NAME} exited with a non-zero code"))
        )  # fmt: skip
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(run.next(judged)),
            comment=f"{label}: one run of the job, {job.timeout_minutes} min at most",
            # Every state change (a handful per run) beside the run's own logs; no payloads.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self.schedule_group = scheduler.ScheduleGroup(
            self, "ScheduleGroup", schedule_group_name=label
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=self.schedule_name,
            schedule_group=self.schedule_group,
            description=f"{label}: {job.schedule} ({job.timezone})",
            schedule=scheduler.ScheduleExpression.expression(
                job.schedule, TimeZone.of(job.timezone)
            ),
            # Its own role: states:StartExecution on this state machine alone.
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine,
                retry_attempts=job.start_retries,
                max_event_age=Duration.minutes(min(job.timeout_minutes, 24 * 60)),
            ),
        )
        self.alarms = self._alarms(label, thresholds, topic)

    def _alarms(
        self, label: str, th: ThresholdsConfig, topic: sns.ITopic
    ) -> list[cloudwatch.Alarm]:
        period = Duration.seconds(th.period_seconds)
        machine = self.state_machine
        failed = cloudwatch.MathExpression(
            expression="FILL(f, 0) + FILL(t, 0) + FILL(a, 0)",
            using_metrics={
                "f": machine.metric_failed(period=period, statistic="Sum"),
                "t": machine.metric_timed_out(period=period, statistic="Sum"),
                "a": machine.metric_aborted(period=period, statistic="Sum"),
            },
            period=period,
            label="failed, timed-out and aborted runs",
        )
        dropped = cloudwatch.Metric(
            namespace="AWS/Scheduler",
            metric_name="InvocationDroppedCount",
            dimensions_map={"ScheduleGroup": self.schedule_group.schedule_group_name},
            statistic="Sum",
            period=period,
        )
        ge = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        spec = [
            ("RunFailed", failed, "a run failed, timed out or was stopped"),
            ("RunNotStarted", dropped, "Scheduler gave up starting a run"),
        ]
        self.alarm_names = [f"{label}-{alarm_id}" for alarm_id, _, _ in spec]
        alarms = []
        for alarm_id, metric, why in spec:
            alarm = cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{label}-{alarm_id}",
                alarm_description=f"{label}: {why}",
                metric=metric,
                comparison_operator=ge,
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=quiet,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarms.append(alarm)
        return alarms

    def widgets(self, scope: Construct) -> list[list[cloudwatch.IWidget]]:
        """The job's rows on the environment dashboard: its runs and its alarms."""
        machine, label = self.state_machine, self.label
        return [
            [cloudwatch.TextWidget(markdown=f"## {label} (job)", width=24, height=1)],
            [
                cloudwatch.GraphWidget(
                    title=f"{label}: runs started / succeeded / failed",
                    left=[
                        machine.metric_started(statistic="Sum", label="started"),
                        machine.metric_succeeded(statistic="Sum", label="succeeded"),
                        machine.metric_failed(statistic="Sum", label="failed"),
                    ],
                    width=12,
                ),
                cloudwatch.AlarmStatusWidget(
                    title=f"{label}: alarms",
                    alarms=[
                        cloudwatch.Alarm.from_alarm_name(scope, f"{a.node.id}{label}", name)
                        for a, name in zip(self.alarms, self.alarm_names, strict=True)
                    ],
                    width=12,
                    height=6,
                ),
            ],
        ]
