"""ServiceTask, InternalService and ScheduledJob on a bare Stack(): each takes one service's
config and the shared parts it uses, nothing of the environment."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from aws_cdk.aws_servicediscovery import NamespaceType

from fargate_env.assembly import ECS_SERVICE, Environment, Stack
from fargate_env.config import ServiceConfig, ThresholdsConfig
from fargate_env.constructs.internal_service import InternalService
from fargate_env.constructs.scheduled_job import START_ERRORS, ScheduledJob
from fargate_env.constructs.service_task import PORT_NAME, ServiceTask

TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def bare() -> tuple[cdk.Stack, ecs.Cluster]:
    stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    return stack, ecs.Cluster(stack, "Cluster", vpc=vpc)


def model(stack: cdk.Stack) -> tuple[Environment, Stack]:
    template = cdk.assertions.Template.from_stack(stack).to_json()
    view = Stack.from_template(stack.stack_name, template)
    return Environment([view]), view


def task_of(service: ServiceConfig):
    stack, _ = bare()
    ServiceTask(stack, "Task", name="x", service=service, repository=ecr.Repository(stack, "R"))
    _, view = model(stack)
    (resource,) = view.of_type("AWS::ECS::TaskDefinition").values()
    (container,) = resource.get("ContainerDefinitions")
    return container


def test_a_job_task_has_no_port_no_health_check_and_its_command():
    container = task_of(ServiceConfig(kind="job", schedule="rate(1 hour)", command=["run", "x"]))
    assert "PortMappings" not in container and "HealthCheck" not in container
    assert list(container["Command"]) == ["run", "x"]
    names = {e["Name"] for e in container["Environment"]}
    assert "PORT" not in names and "HEALTH_PATH" not in names


def test_a_backend_names_its_port_for_service_connect():
    (mapping,) = task_of(ServiceConfig(kind="backend", container_port=9000))["PortMappings"]
    assert (mapping["ContainerPort"], mapping["Name"], mapping["AppProtocol"]) == (
        9000, PORT_NAME, "http"
    )  # fmt: skip


def test_a_worker_keeps_its_container_check_but_publishes_no_port():
    container = task_of(ServiceConfig(kind="worker"))
    assert "PortMappings" not in container and container["HealthCheck"]
    assert "Command" not in container  # the image's own CMD


def internal(service: ServiceConfig, with_group: bool):
    stack, cluster = bare()
    group = None
    if with_group:  # as the platform stack does when the environment has a backend
        cluster.add_default_cloud_map_namespace(
            name="env.internal", type=NamespaceType.HTTP, use_for_service_connect=True
        )
        group = ec2.SecurityGroup(stack, "Tasks", vpc=cluster.vpc)
    built = InternalService(stack, "Svc", name="orders", service=service, cluster=cluster,
                            subnets=PRIVATE, assign_public_ip=False,
                            repository=ecr.Repository(stack, "R"), environment_tasks=group,
                            period_seconds=60)  # fmt: skip
    return built, *model(stack)


def test_a_worker_without_a_backend_in_the_environment_is_no_service_connect_client():
    built, env, view = internal(ServiceConfig(kind="worker"), with_group=False)
    service = env.service(view)
    assert service.kind == "worker" and not service.uses_service_connect
    assert built.queue_depth is None and not service.scaling.policies[1:]


def test_a_backend_needs_the_environment_task_group():
    with pytest.raises(AssertionError):
        internal(ServiceConfig(kind="backend"), with_group=False)


def test_a_backend_publishes_its_name_and_joins_the_group_by_override():
    _, env, view = internal(ServiceConfig(kind="backend", container_port=9000), with_group=True)
    service = env.service(view)
    assert service.kind == "backend" and service.connect_alias == ("orders", 9000)
    groups = service.resource.get("NetworkConfiguration")["AwsvpcConfiguration"]["SecurityGroups"]
    assert len(groups) == 2
    (resource,) = view.of_type(ECS_SERVICE).values()
    assert resource.get("DeploymentConfiguration")["DeploymentCircuitBreaker"]["Rollback"]


def job(**overrides) -> tuple[ScheduledJob, Environment, Stack]:
    stack, cluster = bare()
    config = ServiceConfig(kind="job", schedule="cron(0 3 * * ? *)", **overrides)
    built = ScheduledJob(stack, "Job", label="env-nightly", name="nightly", service=config,
                         cluster=cluster, subnets=PRIVATE, assign_public_ip=False,
                         repository=ecr.Repository(stack, "R"),
                         topic=sns.Topic.from_topic_arn(stack, "T", TOPIC),
                         thresholds=ThresholdsConfig())  # fmt: skip
    return built, *model(stack)


def test_a_run_waits_for_its_task_times_out_and_retries_only_a_start():
    _, env, view = job(job={"timeout_minutes": 45, "start_retries": 3})
    run = env.job(view)
    assert run.waits_for_the_task and run.timeout_minutes == 45
    (retry,) = dict(run.definition["States"]["Run"])["Retry"]
    assert (tuple(retry["ErrorEquals"]), retry["MaxAttempts"]) == (START_ERRORS, 3)
    parameters = run.definition["States"]["Run"]["Parameters"]
    assert parameters["PropagateTags"] == "TASK_DEFINITION"
    assert run.schedule.get("Target")["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_a_run_is_judged_by_the_exit_code():
    _, env, view = job()
    states = env.job(view).definition["States"]
    assert states["Run"]["Next"] == "ExitCode"
    (choice,) = states["ExitCode"]["Choices"]
    assert (choice["Variable"], choice["NumericEquals"]) == ("$.Containers[0].ExitCode", 0)
    assert states[choice["Next"]]["Type"] == "Succeed"
    assert states[states["ExitCode"]["Default"]]["Type"] == "Fail"
    assert env.job(view).transitions_per_run == 3  # Run, ExitCode, Exited0


def test_no_start_retries_means_none():
    _, env, view = job(job={"start_retries": 0})
    run = env.job(view)
    assert "Retry" not in run.definition["States"]["Run"] and run.start_retries == 0


def test_spot_by_default_on_demand_on_request():
    assert job()[0].capacity_provider == "FARGATE_SPOT"
    assert job(capacity={"spot": False})[0].capacity_provider == "FARGATE"
    assert job(capacity={"on_demand_base": 1})[0].capacity_provider == "FARGATE"
    _, env, view = job(capacity={"spot": False})
    assert env.job(view).capacity_provider == "FARGATE"


def test_the_schedule_keeps_its_time_zone():
    _, env, view = job(job={"timezone": "Europe/Berlin"})
    run = env.job(view)
    assert (run.expression, run.timezone, run.schedule_name) == (
        "cron(0 3 * * ? *)", "Europe/Berlin", "env-nightly"
    )  # fmt: skip
