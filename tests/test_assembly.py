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
