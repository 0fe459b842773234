"""The model of a synthesized environment: typed views, references resolved once, and the same
views over a deployed template body."""

import json
import re
from pathlib import Path

import pytest

from fargate_env.assembly import (
    LISTENER,
    LOAD_BALANCER,
    REPOSITORY,
    Environment,
    Stack,
    read_environment,
)
from fargate_env.config import service_of_stack
from tests.conftest import merge
from tests.kinds import BACKEND, JOB, KINDS, WORKER

SRC = Path(__file__).resolve().parents[1] / "src" / "fargate_env"


@pytest.fixture(scope="module")
def env(demo) -> Environment:
    return read_environment(demo.outdir)


def test_stacks_in_deployment_order_with_their_manifest_tags(env, demo):
    names = [s.name for s in env]
    assert names.index("demo-network") < names.index("demo-platform")
    assert names.index("demo-service-web") < names.index("demo-monitoring")
    assert env.region == demo.config.region
    assert env.stack("demo-platform").tags["environment"] == "demo"
    assert env.stack("demo-platform").tags["managed-by"] == "fargate-env"


def test_resources_are_read_only_typed_views(env):
    registry = env.stack("demo-registry")
    repo = next(iter(registry.of_type(REPOSITORY).values()))
    assert repo.type == REPOSITORY and repo.stack == "demo-registry"
    assert repo.deletion_policy == "Retain" and repo.update_replace_policy == "Retain"
    with pytest.raises(TypeError):
        repo.properties["RepositoryName"] = "other"  # type: ignore[index]
    service = env.service(env.stack("demo-service-web"))
    assert service.scaling.target is not None
    assert service.scaling.target.depends_on  # CDK orders it after the service


def test_a_service_with_everything_it_runs_on(env, demo):
    web = demo.config.services["web"]
    service = env.service(env.stack("demo-service-web"))
    assert service.name == "web"
    assert service.task_definition.cpu_units == web.cpu
    assert service.task_definition.memory_mib == web.memory
    assert service.container.ports == [web.container_port]
    assert service.health_check.detection_seconds == web.health_check.detection_seconds
    assert service.health_check.path == web.health_check.path
    assert service.deployment.strategy == web.deployment.strategy
    assert service.scaling.minimum == web.scaling.min_tasks
    assert service.scaling.policies
    assert service.alarms
    assert service.primary_target_group in service.target_groups


def test_an_imported_listener_is_resolved_to_the_platform_stack(env):
    (rule,) = env.service(env.stack("demo-service-api")).rules
    assert rule.listener is not None
    assert rule.listener.resource.stack == "demo-platform"
    assert rule.listener.resource.type == LISTENER
    assert rule.listener.load_balancer.resource.type == LOAD_BALANCER
    assert rule.listener.fixed_response[0] == 404


def test_exports_and_imports_pair_up(env):
    platform, web = env.stack("demo-platform"), env.stack("demo-service-web")
    assert web.imports and web.imports <= {n for s in env for n in s.exports}
    listener = next(x.logical_id for x in env.listeners() if x.protocol == "HTTPS")
    assert platform.exported(listener)
    assert any(name in web.imports for name in platform.exported(listener))


def test_a_deployed_template_body_reads_through_the_same_views(env, demo):
    """GetTemplate returns the body as a JSON string; tags come from DescribeStacks."""
    body = json.loads((demo.outdir / "demo-service-web.template.json").read_text())
    deployed = Stack.from_template("demo-service-web", body, {"environment": "demo"})
    synthesized = env.stack("demo-service-web")
    assert deployed.tags == {"environment": "demo"}
    assert deployed.resources == synthesized.resources
    assert deployed.exports == synthesized.exports and deployed.imports == synthesized.imports
    alone = Environment([deployed])
    assert alone.service(deployed).rules[0].listener is None  # its exporter is not there


def test_stack_names_are_spelled_once():
    assert service_of_stack("demo-service-web") == "web"
    assert service_of_stack("demo-service-web", "demo") == "web"
    assert service_of_stack("demo-service-web", "dev") is None
    assert service_of_stack("demo-platform") is None
    hits = [
        p.relative_to(SRC)
        for p in SRC.rglob("*.py")
        if re.search(r"[\"'{}]-(service|preview)-", p.read_text())
        and p.name not in ("environment.py", "compliance.py")
    ]
    assert hits == []


# Template keys only the model reads; a consumer that indexes them walks JSON on its own.
TEMPLATE_KEYS = re.compile(r"""["'](Resources|Properties|Fn::ImportValue|Fn::GetAtt|Ref)["']""")


def test_no_module_but_the_model_indexes_template_json():
    readers = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "assembly.py" and TEMPLATE_KEYS.search(p.read_text())
    )
    assert readers == []


# --- kinds: web, backend, worker, job -------------------------------------------------------


@pytest.fixture(scope="module")
def kinds(synth):
    built = synth(KINDS)
    return built, read_environment(built.outdir)


def test_each_service_knows_its_kind_from_the_template_structure(kinds):
    _, env = kinds
    assert env.service_of("web").kind == "web"
    assert env.service_of(BACKEND).kind == "backend"
    assert env.service_of(WORKER).kind == "worker"
    assert env.service_of(JOB) is None and env.job_of(JOB) is not None
    assert {n: env.kind_of(n) for n in ("web", "api", BACKEND, WORKER, JOB, "nope")} == {
        "web": "web", "api": "web", BACKEND: "backend", WORKER: "worker", JOB: "job",
        "nope": None,
    }  # fmt: skip


def test_a_backend_is_reached_by_its_name_and_port_and_everyone_runs_the_proxy(kinds):
    built, env = kinds
    backend = env.service_of(BACKEND)
    port = built.config.services[BACKEND].container_port
    assert backend.connect_alias == (BACKEND, port)
    assert backend.container.ports == [port]
    # Every long-running service is a client, so web and workers reach http://orders:8080.
    for name in ("web", "api", WORKER):
        service = env.service_of(name)
        assert service.uses_service_connect and service.connect_alias is None
        assert (service.proxy_cpu_units, service.proxy_memory_mib) == (256, 64)
    assert env.service_of(WORKER).container.ports == []


def test_without_a_backend_nobody_runs_the_proxy(env):
    for stack in env.service_stacks():
        service = env.service(stack)
        assert not service.uses_service_connect
        assert (service.proxy_cpu_units, service.proxy_memory_mib) == (0, 0)


def test_a_job_with_its_schedule_timeout_capacity_and_command(kinds):
    built, env = kinds
    svc = built.config.services[JOB]
    (job,) = env.jobs()
    assert job.name == JOB and job.stack.name == built.config.service_stack_name(JOB)
    assert (job.expression, job.timezone) == (svc.job.schedule, svc.job.timezone)
    assert job.enabled
    assert job.timeout_minutes == svc.job.timeout_minutes
    assert job.start_retries == svc.job.start_retries
    assert job.capacity_provider == "FARGATE_SPOT"
    assert (job.cpu_units, job.memory_mib) == (svc.cpu, svc.memory)
    assert job.container.command == tuple(svc.command)
    assert job.container.health_check is None  # a run is judged by its exit code
    assert len(job.alarms) == 2


def test_a_job_on_demand_when_spot_is_off(synth):
    built = synth(merge(KINDS, {"services": {JOB: {"capacity": {"spot": False}}}}))
    assert read_environment(built.outdir).job_of(JOB).capacity_provider == "FARGATE"
