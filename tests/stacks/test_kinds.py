"""Service kinds in their stacks: the web templates stay as deployed; a backend behind Service
Connect, a worker scaled on its queue, a job run by Scheduler through Step Functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fargate_env import outputs
from fargate_env.app import build_app
from fargate_env.assembly import ALARM, ECS_SERVICE, LISTENER_RULE, TARGET_GROUP, read_environment
from fargate_env.constructs.internal_service import QUEUE_ACTIONS
from fargate_env.preview_spec import new_preview
from tests.conftest import make_config, merge
from tests.kinds import BACKEND, JOB, KINDS, QUEUE, WORKER

# The demo's two web services' logical ids before the task definition became a construct of
# its own (ServiceTask): the refactor must not move a deployed resource.
BEFORE = Path(__file__).parent / "data" / "demo_service_logical_ids.json"


def test_the_demo_web_services_keep_every_logical_id(demo):
    env = read_environment(demo.outdir)
    before = json.loads(BEFORE.read_text())
    for name, ids in before.items():
        stack = env.stack(demo.config.service_stack_name(name))
        now = {rid: r.type for rid, r in stack.deployable().items()}
        assert now == ids, name


# --- one of each kind (tests/kinds.py) ------------------------------------------------------


@pytest.fixture(scope="module")
def kinds(synth):
    built = synth(KINDS)
    return built, read_environment(built.outdir)


def resources(stack, rtype):
    return list(stack.of_type(rtype).values())


def statements(stack):
    return [
        st
        for policy in resources(stack, "AWS::IAM::Policy")
        for st in policy.get("PolicyDocument")["Statement"]
    ]


def test_every_kind_has_its_own_stack_with_log_group_and_task_role_outputs(kinds):
    built, env = kinds
    for name in (BACKEND, WORKER, JOB):
        stack = env.stack(built.config.service_stack_name(name))
        assert {outputs.LOG_GROUP_NAME, outputs.TASK_ROLE_ARN} <= set(stack.outputs)
        assert stack.tags["environment"] == "demo"
    for name in (BACKEND, WORKER):
        stack = env.stack(built.config.service_stack_name(name))
        assert outputs.SERVICE_NAME in stack.outputs
        assert outputs.TARGET_GROUP_ARN not in stack.outputs
        assert not stack.of_type(TARGET_GROUP) and not stack.of_type(LISTENER_RULE)


def test_the_namespace_and_task_group_exist_only_with_a_backend(kinds, demo):
    built, env = kinds
    platform = env.stack(built.config.stack_name("platform"))
    (namespace,) = resources(platform, "AWS::ServiceDiscovery::HttpNamespace")
    (cluster,) = resources(platform, "AWS::ECS::Cluster")
    assert cluster.mentions(namespace.logical_id, "ServiceConnectDefaults")
    # Only the group itself: no rule of any service is written back into the platform stack.
    assert [k for k in platform.resources if k.startswith("TaskSecurityGroup")] == [
        k for k in platform.of_type("AWS::EC2::SecurityGroup") if k.startswith("TaskSecurity")
    ]
    plain = read_environment(demo.outdir).stack(demo.config.stack_name("platform"))
    assert not plain.of_type("AWS::ServiceDiscovery::HttpNamespace")
    assert not any(k.startswith("TaskSecurityGroup") for k in plain.resources)


def test_a_backend_admits_only_the_environment_tasks_on_its_port(kinds):
    built, env = kinds
    stack = env.stack(built.config.service_stack_name(BACKEND))
    port = built.config.services[BACKEND].container_port
    (ingress,) = resources(stack, "AWS::EC2::SecurityGroupIngress")
    assert (ingress.get("FromPort"), ingress.get("ToPort"), ingress.get("IpProtocol")) == (
        port, port, "tcp"
    )  # fmt: skip
    source = env.resolve(stack, ingress.get("SourceSecurityGroupId"))
    assert source.stack == "demo-platform" and source.logical_id.startswith("TaskSecurityGroup")
    # ... and the environment group may send there (the egress rule lives beside the backend).
    (egress,) = resources(stack, "AWS::EC2::SecurityGroupEgress")
    assert env.resolve(stack, egress.get("GroupId")) == source
    assert egress.get("FromPort") == port
    # The group's inline rules admit nothing from anywhere.
    (group,) = resources(stack, "AWS::EC2::SecurityGroup")
    assert not group.get("SecurityGroupIngress")


@pytest.mark.parametrize("name", ["web", "api", WORKER])
def test_every_long_running_service_joins_the_task_group_as_a_client(kinds, name):
    _built, env = kinds
    service = env.service_of(name)
    groups = service.resource.get("NetworkConfiguration")["AwsvpcConfiguration"]["SecurityGroups"]
    owners = {env.resolve(service.stack, g).logical_id for g in groups}
    assert any(o.startswith("TaskSecurityGroup") for o in owners)
    assert service.uses_service_connect and not service.service_connect_services


def test_a_worker_has_no_port_and_scales_on_its_queue(kinds):
    built, env = kinds
    svc = built.config.services[WORKER]
    worker = env.service_of(WORKER)
    assert worker.container.ports == [] and not worker.load_balancers
    steps = [p for p in worker.scaling.policies if p.get("PolicyType") == "StepScaling"]
    assert len(steps) == 2  # one task more / one task less
    alarms = worker.stack.of_type(ALARM).values()
    queue_alarms = [
        a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    assert {(a.get("ComparisonOperator"), a.get("Threshold")) for a in queue_alarms} == {
        ("LessThanOrEqualToThreshold", 0),
        ("GreaterThanOrEqualToThreshold", svc.scaling.queue_messages_per_task),
    }
    assert all(a.get("Dimensions")[0]["Value"] == QUEUE for a in queue_alarms)
    assert any(p.get("PolicyType") == "TargetTrackingScaling" for p in worker.scaling.policies)


def test_a_worker_reads_exactly_its_queue(kinds):
    _built, env = kinds
    stack = env.service_of(WORKER).stack
    sqs = [st for st in statements(stack) if "sqs" in str(st["Action"])]
    assert len(sqs) == 1
    assert sorted(sqs[0]["Action"]) == sorted(QUEUE_ACTIONS)
    assert QUEUE in str(sqs[0]["Resource"]) and "*" not in str(sqs[0]["Resource"])


def test_internal_service_alarms_make_sense_without_a_load_balancer(kinds, synth):
    _built, env = kinds
    names = {a.get("AlarmName") for a in env.service_of(WORKER).alarms.values()}
    assert {f"demo-{WORKER}-{x}" for x in ("Cpu", "Memory", "QueueAge")} <= names
    backend = {a.get("AlarmName") for a in env.service_of(BACKEND).alarms.values()}
    assert backend == {f"demo-{BACKEND}-Cpu", f"demo-{BACKEND}-Memory"}
    insights = synth(merge(KINDS, {"cluster": {"container_insights": True}}))
    with_insights = read_environment(insights.outdir).service_of(BACKEND)
    assert f"demo-{BACKEND}-RunningBelowDesired" in {
        a.get("AlarmName") for a in with_insights.alarms.values()
    }


def test_internal_services_deploy_rolling_with_circuit_breaker_rollback(kinds):
    _, env = kinds
    for name in (BACKEND, WORKER):
        service = env.service_of(name)
        assert service.deployment.strategy == "rolling"
        breaker = service.resource.get("DeploymentConfiguration")["DeploymentCircuitBreaker"]
        assert dict(breaker) == {"Enable": True, "Rollback": True}


def test_a_job_has_no_ecs_service_and_runs_through_scheduler_and_step_functions(kinds):
    built, env = kinds
    job = env.job_of(JOB)
    assert not job.stack.of_type(ECS_SERVICE)
    target = job.schedule.get("Target")
    assert env.resolve(job.stack, target["Arn"]) == job.state_machine
    assert (
        target["RetryPolicy"]["MaximumRetryAttempts"]
        == built.config.services[JOB].job.start_retries
    )
    # Scheduler's own role may start this state machine and nothing else.
    role = env.resolve(job.stack, target["RoleArn"])
    policy = next(
        p for p in resources(job.stack, "AWS::IAM::Policy") if p.mentions(role.logical_id, "Roles")
    )
    (statement,) = policy.get("PolicyDocument")["Statement"]
    assert statement["Action"] == "states:StartExecution"
    assert env.resolve(job.stack, statement["Resource"]) == job.state_machine


def test_a_job_alarms_to_the_topic_when_a_run_fails_or_does_not_start(kinds):
    _, env = kinds
    job = env.job_of(JOB)
    by_name = {a.get("AlarmName"): a for a in job.alarms.values()}
    assert set(by_name) == {f"demo-{JOB}-RunFailed", f"demo-{JOB}-RunNotStarted"}
    for alarm in by_name.values():
        assert alarm.get("AlarmActions")  # the environment's topic
    failed = str(by_name[f"demo-{JOB}-RunFailed"].get("Metrics"))
    assert all(m in failed for m in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"))
    assert "InvocationDroppedCount" in str(by_name[f"demo-{JOB}-RunNotStarted"].properties)


def test_a_job_outputs_what_run_job_hands_run_task(kinds):
    _built, env = kinds
    stack = env.job_of(JOB).stack
    keys = {
        outputs.TASK_DEFINITION_ARN, outputs.TASK_SUBNETS, outputs.TASK_SECURITY_GROUP,
        outputs.ASSIGN_PUBLIC_IP, outputs.CAPACITY_PROVIDER, outputs.SCHEDULE_NAME,
        outputs.LOG_GROUP_NAME, outputs.TASK_ROLE_ARN, outputs.STATE_MACHINE_ARN,
    }  # fmt: skip
    assert keys <= set(stack.outputs)
    assert stack.outputs[outputs.ASSIGN_PUBLIC_IP]["Value"] == "DISABLED"
    assert stack.outputs[outputs.CAPACITY_PROVIDER]["Value"] == "FARGATE_SPOT"
    assert (
        stack.outputs[outputs.SCHEDULE_NAME]["Value"]
        == env.job_of(JOB).schedule_name
        == "demo-nightly"
    )
    assert "Fn::Join" in stack.outputs[outputs.TASK_SUBNETS]["Value"]


def test_public_egress_jobs_get_a_public_ip(synth):
    built = synth(merge(KINDS, {"network": {"egress": "public"}}))
    stack = read_environment(built.outdir).job_of(JOB).stack
    assert stack.outputs[outputs.ASSIGN_PUBLIC_IP]["Value"] == "ENABLED"


def test_command_overrides_the_image_cmd_for_every_kind(synth):
    built = synth(merge(KINDS, {"services": {"web": {"command": ["serve", "--fast"]}}}))
    env = read_environment(built.outdir)
    assert env.service_of("web").container.command == ("serve", "--fast")
    assert env.service_of("api").container.command is None
    assert env.service_of(WORKER).container.command == tuple(built.config.services[WORKER].command)
    assert env.job_of(JOB).container.command == tuple(built.config.services[JOB].command)


def test_a_preview_of_web_beside_a_backend_is_a_service_connect_client(tmp_path):
    """The copy reaches the backends by name like its original (and synthesizes at all: a
    DNS registration in the HTTP namespace would be refused)."""
    config = make_config(KINDS)
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    preview = new_preview(config, "pr-7", service="web", image_tag=None, ttl="1d", now=now)
    build_app(config, tmp_path, validation=False, previews=[preview]).app.synth()
    env = read_environment(tmp_path)
    copy = env.service(env.stack(config.preview_stack_name("pr-7")))
    assert copy.uses_service_connect and copy.connect_alias is None
    assert not copy.resource.get("ServiceRegistries")


@pytest.mark.parametrize(
    "services",
    [
        {"w": {"kind": "worker"}},
        {"j": {"kind": "job", "schedule": "rate(1 day)",
               "image": {"uri": "public.ecr.aws/docker/library/busybox:1.36"}}},
        {"b": {"kind": "backend"}, "w": {"kind": "worker"}},
    ],
    ids=["worker-only", "job-from-a-registry", "backend-and-worker"],
)  # fmt: skip
def test_an_environment_without_a_web_service_synthesizes(synth, services):
    built = synth({"services": {"web": None, "api": None, **services}})
    env = read_environment(built.outdir)
    assert {n: env.kind_of(n) for n in services} == {n: s["kind"] for n, s in services.items()}
    assert not env.of_type(LISTENER_RULE, shared=False)
