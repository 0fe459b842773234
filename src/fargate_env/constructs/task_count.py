"""task_count: a long-running service's scaling: CPU (and memory) target tracking, requests per
target behind the ALB, a worker's queue depth, and the off-hours schedule."""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from fargate_env.config import ServiceConfig


def task_count(
    service: ecs.FargateService,
    svc: ServiceConfig,
    *,
    target_group: elbv2.ApplicationTargetGroup | None = None,
    queue_depth: cloudwatch.IMetric | None = None,
) -> ecs.ScalableTaskCount:
    scaling = svc.scaling
    cooldowns = {
        "scale_in_cooldown": Duration.seconds(scaling.scale_in_cooldown_seconds),
        "scale_out_cooldown": Duration.seconds(scaling.scale_out_cooldown_seconds),
    }
    target = service.auto_scale_task_count(
        min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks
    )
    target.scale_on_cpu_utilization(
        "Cpu", target_utilization_percent=scaling.cpu_target_percent, **cooldowns
    )
    if scaling.memory_target_percent is not None:
        target.scale_on_memory_utilization(
            "Memory", target_utilization_percent=scaling.memory_target_percent, **cooldowns
        )
    if scaling.requests_per_target is not None and target_group is not None:
        target.scale_on_request_count(
            "Requests",
            requests_per_target=scaling.requests_per_target,
            target_group=target_group,
            **cooldowns,
        )
    if queue_depth is not None:
        # Step scaling: a task more once a task's share of visible messages is waiting, a
        # task less when the queue is empty (CPU tracking still scales a busy worker out).
        target.scale_on_metric(
            "Queue",
            metric=queue_depth,
            scaling_steps=[
                appscaling.ScalingInterval(upper=0, change=-1),
                appscaling.ScalingInterval(lower=scaling.queue_messages_per_task, change=+1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(scaling.scale_out_cooldown_seconds),
        )
    schedule = svc.schedule
    if schedule is not None:
        zone = TimeZone.of(schedule.timezone)
        target.scale_on_schedule(
            "Stop",
            schedule=appscaling.Schedule.expression(schedule.stop),
            min_capacity=0,
            max_capacity=0,
            time_zone=zone,
        )
        target.scale_on_schedule(
            "Start",
            schedule=appscaling.Schedule.expression(schedule.start),
            min_capacity=scaling.min_tasks,
            max_capacity=scaling.max_tasks,
            time_zone=zone,
        )
    return target
