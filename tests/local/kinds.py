"""An environment with one service of each kind, and its cloud assembly.

Until the CDK side builds the kinds (branch kinds-infra), the assembly is a stand-in: the
same services synthesized as web services, each non-web stack then edited into the shape the
template contract gives its kind (docs: the kinds brief). A backend loses its target group and
rule and gains ServiceConnectConfiguration with ClientAliases [{DnsName: NAME, Port}]; a worker
loses them and its port mapping; a job loses its ECS service and gets its command and an
AWS::Scheduler::Schedule. Once the real templates synthesize, they are used instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.local.conftest import assembly_of, make_config

JOB_COMMAND = ["python", "-m", "sample_server.job"]
SCHEDULE = "cron(0 3 * * ? *)"
BACKEND_PORT = 8080
# web calls the backend by name, as Service Connect lets it in AWS.
KINDS = {
    "web": {
        "routing": {"default": True},
        "environment": {"UPSTREAM_URL": f"http://api:{BACKEND_PORT}/"},
    },
    "api": {"kind": "backend"},
    "worker": {"kind": "worker"},
    "nightly": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": JOB_COMMAND,
        "environment": {"JOB_ITEMS": "20"},
    },
    "broken": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": JOB_COMMAND,
        "environment": {"JOB_EXIT_CODE": "3"},
    },
    # Outlives any timeout a test gives it.
    "sleepy": {
        "kind": "job",
        "schedule": SCHEDULE,
        "command": ["python", "-c", "import time; time.sleep(600)"],
    },
}


def _as_web(services: dict[str, Any]) -> dict[str, Any]:
    """The same services as web ones (each on a path of its own): what synthesizes today."""
    web = {}
    for name, svc in services.items():
        svc = {k: v for k, v in svc.items() if k not in ("kind", "schedule", "queue")}
        svc.setdefault("routing", {"path_patterns": [f"/{name}-standin/*"]})
        web[name] = svc
    return web


def _drop(resources: dict[str, Any], rtypes: tuple[str, ...]) -> None:
    """Remove resources of `rtypes` and every resource that names one of them."""
    gone = [rid for rid, r in resources.items() if r["Type"] in rtypes]
    for rid in gone:
        del resources[rid]
    for rid, r in list(resources.items()):
        if any(g in json.dumps(r) for g in gone):
            del resources[rid]


def _reshape(template: dict[str, Any], name: str, kind: str, svc: dict[str, Any]) -> None:
    resources = template["Resources"]
    for r in resources.values():
        if r["Type"] == "AWS::ECS::Service":  # kept: no longer attached to the ALB
            r["Properties"].pop("LoadBalancers", None)
            r["Properties"].pop("HealthCheckGracePeriodSeconds", None)
            r.pop("DependsOn", None)
    _drop(resources, ("AWS::ElasticLoadBalancingV2::TargetGroup",))
    _drop(resources, ("AWS::ElasticLoadBalancingV2::ListenerRule",))
    (task,) = [r for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    (container,) = task["Properties"]["ContainerDefinitions"]
    if kind == "job":
        _drop(resources, ("AWS::ECS::Service",))
        container["Command"] = svc["command"]
        resources["Schedule"] = {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {"ScheduleExpression": svc["schedule"], "FlexibleTimeWindow": {}},
        }
    else:
        (service,) = [r for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
    if kind in ("worker", "job"):
        container.pop("PortMappings", None)
    if kind == "backend":
        service["Properties"]["ServiceConnectConfiguration"] = {
            "Enabled": True,
            "Services": [
                {
                    "PortName": name,
                    "ClientAliases": [{"DnsName": name, "Port": BACKEND_PORT}],
                }
            ],
        }


_STANDINS: dict[str, Path] = {}


def kinds_assembly(services: dict[str, Any], tmp_factory: pytest.TempPathFactory) -> Path:
    """The assembly of an environment of these [services.NAME] tables: synthesized, or the
    stand-in while the stacks cannot build the kinds (once per worker and services)."""
    key = json.dumps(services, sort_keys=True)
    if key in _STANDINS:
        return _STANDINS[key]
    config = make_config(services)
    try:
        return assembly_of(config, tmp_factory)
    except Exception:  # today's stacks cannot build the kinds yet
        pass
    source = assembly_of(make_config(_as_web(services)), tmp_factory)
    dest = tmp_factory.mktemp("kinds") / "cdk.out"
    shutil.copytree(source, dest)
    for name, svc in services.items():
        kind = svc.get("kind", "web")
        if kind == "web":
            continue
        path = dest / f"{config.name}-service-{name}.template.json"
        template = json.loads(path.read_text())
        _reshape(template, name, kind, svc)
        path.write_text(json.dumps(template))
    _STANDINS[key] = dest
    return dest


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a TOML basic string for the plain values used here


def env_file(services: dict[str, Any], path: Path) -> Path:
    """The environment file of make_config(services), written to `path`."""
    lines = ['name = "local-test"', 'region = "us-east-1"', "[load_balancer]"]
    lines.append("allow_http_only = true")
    for name, svc in services.items():
        lines.append(f"[services.{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in svc.items())
    path.write_text("\n".join(lines) + "\n")
    return path
