"""The one model of a synthesized (or deployed) environment: typed, read-only views over its
CloudFormation templates. Nothing else in the project indexes template JSON.

An `Environment` is its stacks in deployment order. A `Stack` holds its tags, its resources
(`Resource`: logical id, type, properties, DeletionPolicy, UpdateReplacePolicy, DependsOn),
its exports and its imports. Typed views sit on top: `Service` (ECS service, task definition,
container, target groups, health check, listener rules, scaling, schedule, alarms; its kind:
web, backend or worker, and a backend's Service Connect name and port), `Job` (a scheduled
job: task definition, schedule, the state machine's timeout, retries and capacity),
`LoadBalancer`, `Listener`, `Edge` (CloudFront and its VPC origin) and the NAT.

`Ref`, `Fn::GetAtt` and `Fn::ImportValue` are resolved in one place, `Environment.resolve`.
A deployed template (CloudFormation GetTemplate) goes through `Stack.from_template`, so a
synthesized stack and a deployed one compare through the same views.

Where a property is absent, AWS's documented default applies, as it would on a deploy (ELB:
interval 30 s, timeout 5 s, thresholds 5 and 2, path /, matcher 200, deregistration delay
300 s, idle timeout 60 s; ECS: rolling, stop timeout 30 s; linear 10 % every 6 min).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fargate_env.config import DeploymentConfig, HealthCheckConfig
from fargate_env.config.deployment import ECS_STRATEGY
from fargate_env.config.environment import is_preview_stack, service_of_stack

# The resource types the views know; consumers name types through these.
ALARM = "AWS::CloudWatch::Alarm"
CDK_METADATA = "AWS::CDK::Metadata"
CLUSTER = "AWS::ECS::Cluster"
CLUSTER_CAPACITY = "AWS::ECS::ClusterCapacityProviderAssociations"
DASHBOARD = "AWS::CloudWatch::Dashboard"
DISTRIBUTION = "AWS::CloudFront::Distribution"
ECS_SERVICE = "AWS::ECS::Service"
FLOW_LOG = "AWS::EC2::FlowLog"
INSTANCE = "AWS::EC2::Instance"
KMS_KEY = "AWS::KMS::Key"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LOG_GROUP = "AWS::Logs::LogGroup"
NAT_GATEWAY = "AWS::EC2::NatGateway"
REPOSITORY = "AWS::ECR::Repository"
ROUTE = "AWS::EC2::Route"
ROUTE_ASSOCIATION = "AWS::EC2::SubnetRouteTableAssociation"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCHEDULE = "AWS::Scheduler::Schedule"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
SUBNET = "AWS::EC2::Subnet"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
TOPIC = "AWS::SNS::Topic"
VPC_ORIGIN = "AWS::CloudFront::VpcOrigin"

_STRATEGY_NAMES = {ecs: ours for ours, ecs in ECS_STRATEGY.items()}
DEFAULT_IDLE_TIMEOUT_S = 60
# What AWS recommends adding to a task for its Service Connect proxy container ("We recommend
# adding 256 CPU units and at least 64 MiB of memory to your task CPU and memory for the
# Service Connect proxy container": ECS developer guide, service-connect-concepts-deploy).
# The proxy runs inside the task's own size: this is its share, not an extra charge.
SERVICE_CONNECT_PROXY_CPU_UNITS = 256
SERVICE_CONNECT_PROXY_MEMORY_MIB = 64
# Scheduler's default when a schedule names no time zone.
DEFAULT_SCHEDULE_TIMEZONE = "UTC"


def _frozen(value: Any) -> Any:
    """A read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


def _text(value: Any) -> str:
    return json.dumps(_thawed(value), sort_keys=True)


def target_of(value: Any) -> tuple[str, str] | None:
    """("local", logical id) for a Ref or Fn::GetAtt, ("import", export name) for an
    Fn::ImportValue of a literal name; None for anything else (a literal, a Join ...)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    ((key, arg),) = value.items()
    if key == "Ref" and isinstance(arg, str):
        return "local", arg
    if key == "Fn::GetAtt":
        parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
        return ("local", parts[0]) if parts else None
    if key == "Fn::ImportValue" and isinstance(arg, str):
        return "import", arg
    return None


def _imports(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Fn::ImportValue" and isinstance(arg, str):
                yield arg
            else:
                yield from _imports(arg)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _imports(item)


# --- resources and stacks -----------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One resource of one stack, read-only."""

    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"
    depends_on: tuple[str, ...] = ()
    # The other resource attributes CloudFormation acts on (Condition, CreationPolicy,
    # UpdatePolicy); Metadata is left out: it changes nothing deployed.
    attributes_acted_on: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, key: str, default: Any = None) -> Any:
        value = self.properties.get(key)
        return default if value is None else value

    def mentions(self, logical_id: str, *keys: str) -> bool:
        """Whether the properties (or only `keys` of them) name `logical_id` anywhere: in a
        Ref, a GetAtt, a Join, or the name of an export of it."""
        scope = [self.properties.get(k) for k in keys] if keys else [self.properties]
        return any(f"{logical_id}" in _text(part) for part in scope if part is not None)

    def attributes(self, key: str) -> dict[str, Any]:
        """A Key/Value list property (TargetGroupAttributes, LoadBalancerAttributes) as a dict."""
        return {a["Key"]: a["Value"] for a in self.get(key, ())}

    def tag(self, key: str) -> str | None:
        return next((t["Value"] for t in self.get("Tags", ()) if t.get("Key") == key), None)


@dataclass(frozen=True)
class Stack:
    """One stack: its tags, resources, exports (export name -> value) and imports."""

    name: str
    tags: Mapping[str, str]
    resources: Mapping[str, Resource]
    exports: Mapping[str, Any]
    imports: frozenset[str]
    # Every output by its logical name (value, export, description), as written.
    outputs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # What the stack names as text (for "does this stack use that resource").
    _body: str = field(repr=False, compare=False, default="")

    @classmethod
    def from_template(
        cls, name: str, template: Mapping[str, Any], tags: Mapping[str, str] | None = None
    ) -> Stack:
        """A stack from a template body: a synthesized one, or a deployed one as
        CloudFormation's GetTemplate returns it (tags then come from DescribeStacks)."""
        resources = {}
        for rid, raw in (template.get("Resources") or {}).items():
            depends = raw.get("DependsOn") or ()
            resources[rid] = Resource(
                stack=name,
                logical_id=rid,
                type=raw["Type"],
                properties=_frozen(raw.get("Properties") or {}),
                deletion_policy=raw.get("DeletionPolicy", "Delete"),
                update_replace_policy=raw.get("UpdateReplacePolicy", "Delete"),
                depends_on=(depends,) if isinstance(depends, str) else tuple(depends),
                attributes_acted_on=_frozen(
                    {k: raw[k] for k in ("Condition", "CreationPolicy", "UpdatePolicy") if k in raw}
                ),
            )
        outputs = template.get("Outputs") or {}
        exports = {
            out["Export"]["Name"]: _frozen(out.get("Value"))
            for out in outputs.values()
            if isinstance((out.get("Export") or {}).get("Name"), str)
        }
        frozen = _frozen(dict(template))
        return cls(
            name=name,
            tags=MappingProxyType(dict(tags or {})),
            resources=MappingProxyType(resources),
            exports=MappingProxyType(exports),
            imports=frozenset(_imports((frozen.get("Resources", {}), frozen.get("Outputs", {})))),
            outputs=_frozen(dict(outputs)),
            _body=_text(frozen),
        )

    @property
    def service(self) -> str | None:
        """The service this stack holds ("<env>-service-<name>"), None for a shared stack."""
        return service_of_stack(self.name)

    @property
    def is_preview(self) -> bool:
        """A preview's own stack ("<env>-preview-<name>"; not the shared "<env>-previews")."""
        return is_preview_stack(self.name)

    @cached_property
    def resource_counts(self) -> Counter:
        return Counter(r.type for r in self.resources.values())

    def of_type(self, rtype: str) -> dict[str, Resource]:
        return {k: v for k, v in self.resources.items() if v.type == rtype}

    def deployable(self) -> dict[str, Resource]:
        """Every resource but CDK's metadata one (analytics: never compared or priced)."""
        return {k: v for k, v in self.resources.items() if v.type != CDK_METADATA}

    def body(self) -> dict[str, Any]:
        """The template as written (a fresh copy), to keep as another stack's baseline."""
        return json.loads(self._body)

    def names(self, logical_id: str) -> bool:
        """Whether this stack's template names `logical_id` (its own, or an import of it)."""
        return logical_id in self._body

    def exported(self, logical_id: str) -> list[str]:
        """The export names whose value refers to `logical_id`."""
        return [n for n, v in self.exports.items() if target_of(v) == ("local", logical_id)]


# --- typed views ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """The essential container of a task definition."""

    definition: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.definition.get(key)
        return default if value is None else value

    @property
    def image(self) -> Any:
        return self.definition.get("Image")

    @property
    def command(self) -> tuple[str, ...] | None:
        """The command that replaces the image's CMD (None: the image's own)."""
        command = self.definition.get("Command")
        return None if command is None else tuple(command)

    @property
    def ports(self) -> list[int]:
        return [int(p["ContainerPort"]) for p in self.get("PortMappings", ())]

    @property
    def environment(self) -> dict[str, str]:
        return {e["Name"]: str(e["Value"]) for e in self.get("Environment", ())}

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s["Name"] for s in self.get("Secrets", ()))

    @property
    def linux(self) -> Mapping[str, Any]:
        return self.get("LinuxParameters", {})

    @property
    def health_check(self) -> Mapping[str, Any] | None:
        return self.definition.get("HealthCheck")


@dataclass(frozen=True)
class TaskDefinition:
    resource: Resource

    @property
    def cpu_units(self) -> int:
        return int(self.resource.properties["Cpu"])

    @property
    def memory_mib(self) -> int:
        return int(self.resource.properties["Memory"])

    @property
    def architecture(self) -> str:
        """ "X86_64" or "ARM64" (ECS's default: X86_64)."""
        return self.resource.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64")

    @property
    def containers(self) -> list[Container]:
        return [Container(c) for c in self.resource.get("ContainerDefinitions", ())]

    @property
    def essential(self) -> list[Container]:
        return [c for c in self.containers if c.get("Essential", True)]

    @property
    def volumes(self) -> dict[str, Mapping[str, Any]]:
        return {v["Name"]: v for v in self.resource.get("Volumes", ())}

    def logs_to(self, log_group: str) -> bool:
        return self.resource.mentions(log_group, "ContainerDefinitions")


@dataclass(frozen=True)
class TargetGroup:
    resource: Resource

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def port(self) -> Any:
        return self.resource.get("Port", "")

    @property
    def checks(self) -> bool:
        return self.resource.get("HealthCheckEnabled", True) is not False

    @property
    def health_check(self) -> HealthCheckConfig:
        """The target group's check in the config's own type, with the config's formulas
        (model_construct: the template's numbers, unvalidated)."""
        props = self.resource
        attrs = props.attributes("TargetGroupAttributes")
        return HealthCheckConfig.model_construct(
            path=props.get("HealthCheckPath", "/"),
            matcher=props.get("Matcher", {}).get("HttpCode", "200"),
            interval_seconds=int(props.get("HealthCheckIntervalSeconds", 30)),
            timeout_seconds=int(props.get("HealthCheckTimeoutSeconds", 5)),
            healthy_threshold=int(props.get("HealthyThresholdCount", 5)),
            unhealthy_threshold=int(props.get("UnhealthyThresholdCount", 2)),
            deregistration_delay_seconds=int(
                attrs.get("deregistration_delay.timeout_seconds", 300)
            ),
        )


@dataclass(frozen=True)
class ListenerRule:
    resource: Resource
    listener: Listener | None

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def priority(self) -> int:
        return int(self.resource.get("Priority", 0))

    @property
    def conditions(self) -> tuple[Mapping[str, Any], ...]:
        return self.resource.get("Conditions", ())

    @property
    def action_types(self) -> list[str]:
        return [a.get("Type") for a in self.resource.get("Actions", ())]

    @property
    def forwards_to(self) -> set[str | None]:
        """The logical ids of the target groups the rule forwards to (None: not a Ref)."""
        actions = self.resource.get("Actions", ())
        arns = [a["TargetGroupArn"] for a in actions if "TargetGroupArn" in a] + [
            t.get("TargetGroupArn")
            for a in actions
            for t in a.get("ForwardConfig", {}).get("TargetGroups", ())
        ]
        return {(target_of(arn) or ("", None))[1] for arn in arns}


@dataclass(frozen=True)
class LoadBalancer:
    resource: Resource

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def kind(self) -> str:
        return self.resource.get("Type", "application")

    @property
    def scheme(self) -> str:
        return self.resource.get("Scheme", "internet-facing")

    @property
    def subnet_count(self) -> int | None:
        subnets = self.resource.get("Subnets") or self.resource.get("SubnetMappings")
        return len(subnets) if isinstance(subnets, tuple) else None

    @property
    def idle_timeout_s(self) -> int:
        attrs = self.resource.attributes("LoadBalancerAttributes")
        return int(attrs.get("idle_timeout.timeout_seconds", DEFAULT_IDLE_TIMEOUT_S))

    def logs_to(self, bucket: str) -> bool:
        return any(
            a.get("Key") == "access_logs.s3.bucket" and bucket in _text(a.get("Value"))
            for a in self.resource.get("LoadBalancerAttributes", ())
        )


@dataclass(frozen=True)
class Listener:
    resource: Resource
    load_balancer: LoadBalancer | None

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def protocol(self) -> str:
        return self.resource.get("Protocol", "")

    @property
    def port(self) -> Any:
        return self.resource.get("Port", "")

    @property
    def default_action_types(self) -> list[str]:
        return [a.get("Type") for a in self.resource.get("DefaultActions", ())]

    @property
    def fixed_response(self) -> tuple[int, str] | None:
        """(status, body) of the listener's own answer when no rule matches."""
        for action in self.resource.get("DefaultActions", ()):
            if action.get("Type") == "fixed-response":
                fixed = action.get("FixedResponseConfig", {})
                return int(fixed.get("StatusCode", 404)), fixed.get("MessageBody", "")
        return None


@dataclass(frozen=True)
class Scaling:
    """An ECS service's task count: its scalable target's minimum and scheduled actions."""

    target: Resource | None
    policies: tuple[Resource, ...]
    desired_count: int

    @property
    def minimum(self) -> int:
        if self.target is None:
            return self.desired_count
        return int(self.target.get("MinCapacity", self.desired_count))

    @property
    def schedule(self) -> list[tuple[str, int | None]]:
        """(cron expression, MinCapacity) of each scheduled action, in template order."""
        if self.target is None:
            return []
        actions = []
        for action in self.target.get("ScheduledActions", ()):
            minimum = action.get("ScalableTargetAction", {}).get("MinCapacity")
            actions.append((action["Schedule"], None if minimum is None else int(minimum)))
        return actions


@dataclass(frozen=True)
class Service:
    """One ECS service with everything it runs on and is watched by."""

    name: str  # the service's name in the config, or the ECS service's logical id
    stack: Stack
    resource: Resource
    task_definition: TaskDefinition | None
    target_groups: dict[str, TargetGroup]
    rules: list[ListenerRule]
    scaling: Scaling
    capacity_strategy: tuple[Mapping[str, Any], ...]
    alarms: dict[str, Resource]

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def container(self) -> Container | None:
        essential = self.task_definition.essential if self.task_definition else []
        return essential[0] if len(essential) == 1 else None

    @property
    def load_balancers(self) -> tuple[Mapping[str, Any], ...]:
        return self.resource.get("LoadBalancers", ())

    @property
    def primary_target_group(self) -> str | None:
        """The target group ECS registers tasks in first (the only one of a rolling service)."""
        if self.load_balancers:
            found = target_of(self.load_balancers[0].get("TargetGroupArn"))
            if found:
                return found[1]
        return next(iter(self.target_groups), None)

    @property
    def alternate_target_group(self) -> str | None:
        advanced = (
            self.load_balancers[0].get("AdvancedConfiguration", {}) if self.load_balancers else {}
        )
        return (target_of(advanced.get("AlternateTargetGroupArn")) or ("", None))[1]

    @property
    def test_rule(self) -> str | None:
        advanced = (
            self.load_balancers[0].get("AdvancedConfiguration", {}) if self.load_balancers else {}
        )
        return (target_of(advanced.get("TestListenerRule")) or ("", None))[1]

    @property
    def health_check(self) -> HealthCheckConfig | None:
        """The primary target group's check (a service's target groups share it)."""
        primary = self.primary_target_group
        if primary in self.target_groups:
            return self.target_groups[primary].health_check
        return next(iter(self.target_groups.values())).health_check if self.target_groups else None

    @property
    def deployment(self) -> DeploymentConfig:
        """The DeploymentConfiguration as the config model. Absent values take ECS's defaults
        where the API reference states them and are otherwise assumed (no bake; canary 5 %
        for 10 min): this project's templates set them all."""
        dc = self.resource.get("DeploymentConfiguration", {})
        canary = dc.get("CanaryConfiguration") or {}
        linear = dc.get("LinearConfiguration") or {}
        return DeploymentConfig.model_construct(
            strategy=_STRATEGY_NAMES.get(dc.get("Strategy", "ROLLING"), "rolling"),
            bake_minutes=int(dc.get("BakeTimeInMinutes", 0)),
            canary_percent=float(canary.get("CanaryPercent", 5)),
            canary_bake_minutes=int(canary.get("CanaryBakeTimeInMinutes", 10)),
            linear_step_percent=float(linear.get("StepPercent", 10)),
            linear_step_minutes=int(linear.get("StepBakeTimeInMinutes", 6)),
        )

    @property
    def kind(self) -> str:
        """ "web" (behind load balancer target groups), "backend" (publishes a port through
        Service Connect) or "worker" (neither); a job has no ECS service (`Job`)."""
        if self.load_balancers:
            return "web"
        return "backend" if self.service_connect_services else "worker"

    @property
    def service_connect(self) -> Mapping[str, Any]:
        return self.resource.get("ServiceConnectConfiguration", {})

    @property
    def service_connect_services(self) -> tuple[Mapping[str, Any], ...]:
        return self.service_connect.get("Services", ())

    @property
    def uses_service_connect(self) -> bool:
        """A Service Connect client (every long-running service of an environment with a
        backend) or server (a backend): its tasks run the proxy."""
        return self.service_connect.get("Enabled", False) is True

    @property
    def connect_alias(self) -> tuple[str, int] | None:
        """A backend's (name, port): other services reach it at http://NAME:PORT."""
        if not self.service_connect_services:
            return None
        alias = (self.service_connect_services[0].get("ClientAliases") or ({},))[0]
        return alias.get("DnsName"), int(alias.get("Port", 0))

    @property
    def proxy_cpu_units(self) -> int:
        """The Service Connect proxy's recommended share of the task's CPU (0 without it)."""
        return SERVICE_CONNECT_PROXY_CPU_UNITS if self.uses_service_connect else 0

    @property
    def proxy_memory_mib(self) -> int:
        return SERVICE_CONNECT_PROXY_MEMORY_MIB if self.uses_service_connect else 0

    @property
    def assigns_public_ip(self) -> bool:
        network = self.resource.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        return network.get("AssignPublicIp") == "ENABLED"

    @property
    def subnets(self) -> Any:
        network = self.resource.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        return network.get("Subnets")


def _joined(value: Any) -> str:
    """A template string built with Fn::Join, its references as the text REF."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(p if isinstance(p, str) else "REF" for p in parts)
    return ""


@dataclass(frozen=True)
class Job:
    """A scheduled job: its task definition, the schedule that starts a run, the state
    machine that runs one task per run (timeout, start retries, capacity) and its alarms."""

    name: str
    stack: Stack
    task_definition: TaskDefinition | None
    schedule: Resource
    state_machine: Resource | None
    alarms: dict[str, Resource]

    @property
    def container(self) -> Container | None:
        essential = self.task_definition.essential if self.task_definition else []
        return essential[0] if len(essential) == 1 else None

    @property
    def schedule_name(self) -> str | None:
        return self.schedule.get("Name")

    @property
    def expression(self) -> str:
        """cron(...) or rate(...), as Scheduler reads it."""
        return self.schedule.get("ScheduleExpression", "")

    @property
    def timezone(self) -> str:
        return self.schedule.get("ScheduleExpressionTimezone", DEFAULT_SCHEDULE_TIMEZONE)

    @property
    def enabled(self) -> bool:
        return self.schedule.get("State", "ENABLED") == "ENABLED"

    @cached_property
    def definition(self) -> Mapping[str, Any]:
        """The state machine's definition (Amazon States Language), references as "REF"."""
        if self.state_machine is None:
            return {}
        try:
            return json.loads(_joined(self.state_machine.get("DefinitionString")))
        except ValueError:
            return {}

    @property
    def _run_state(self) -> Mapping[str, Any]:
        """The state machine's ECS RunTask state (Parameters, TimeoutSeconds, Retry)."""
        states = self.definition.get("States", {})
        return next(
            (st for st in states.values() if "ecs:runTask" in str(st.get("Resource", ""))), {}
        )

    @property
    def transitions_per_run(self) -> int:
        """States a successful run passes through (Step Functions bills each transition;
        retries add one each): StartAt, then Next, a Choice's first branch, to the end."""
        states, name, seen = self.definition.get("States", {}), self.definition.get("StartAt"), 0
        while name in states and seen < len(states):
            state, seen = states[name], seen + 1
            if state.get("Type") == "Choice":
                name = (state.get("Choices") or ({},))[0].get("Next")
            else:
                name = None if state.get("End") else state.get("Next")
        return seen

    @property
    def waits_for_the_task(self) -> bool:
        """runTask.sync: the run lasts as long as the task (what the timeout needs)."""
        return str(self._run_state.get("Resource", "")).endswith("ecs:runTask.sync")

    @property
    def capacity_strategy(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self._run_state.get("Parameters", {}).get("CapacityProviderStrategy", ()))

    @property
    def capacity_provider(self) -> str:
        """Where a run's one task lands: FARGATE_SPOT when Spot takes weight and no on-demand
        base comes first, else FARGATE."""
        strategy = {s.get("CapacityProvider"): s for s in self.capacity_strategy}
        spot = strategy.get("FARGATE_SPOT", {})
        base = int(strategy.get("FARGATE", {}).get("Base", 0))
        if int(spot.get("Weight", 0)) > 0 and base == 0:
            return "FARGATE_SPOT"
        return self._run_state.get("Parameters", {}).get("LaunchType", "FARGATE")

    @property
    def timeout_minutes(self) -> int | None:
        """A run is stopped and failed after this (None: no timeout)."""
        seconds = self._run_state.get("TimeoutSeconds")
        return None if seconds is None else int(seconds) // 60

    @property
    def start_retries(self) -> int:
        """How often the state machine retries a run that did not start."""
        return sum(int(r.get("MaxAttempts", 3)) for r in self._run_state.get("Retry", ()))

    @property
    def cpu_units(self) -> int:
        return self.task_definition.cpu_units if self.task_definition else 0

    @property
    def memory_mib(self) -> int:
        return self.task_definition.memory_mib if self.task_definition else 0


@dataclass(frozen=True)
class Edge:
    """A CloudFront distribution and the VPC origins it reaches the load balancer through."""

    resource: Resource
    origins: dict[str, Resource]

    @property
    def logical_id(self) -> str:
        return self.resource.logical_id

    @property
    def config(self) -> Mapping[str, Any]:
        return self.resource.get("DistributionConfig", {})

    @property
    def viewer_protocol_policy(self) -> str:
        return self.config.get("DefaultCacheBehavior", {}).get("ViewerProtocolPolicy", "")

    @property
    def https_only(self) -> bool:
        return self.viewer_protocol_policy in ("redirect-to-https", "https-only")

    @property
    def name(self) -> str | None:
        aliases = self.config.get("Aliases") or ()
        return aliases[0] if aliases else None

    @property
    def minimum_tls(self) -> str | None:
        return (self.config.get("ViewerCertificate") or {}).get("MinimumProtocolVersion")

    def origin_protocol(self, origin: str) -> str:
        endpoint = self.origins[origin].get("VpcOriginEndpointConfig", {})
        return endpoint.get("OriginProtocolPolicy", "")

    def origin_target(self, origin: str) -> str | None:
        """The logical id a VPC origin's endpoint ARN refers to (the load balancer)."""
        endpoint = self.origins[origin].get("VpcOriginEndpointConfig", {})
        return (target_of(endpoint.get("Arn")) or ("", None))[1]


# --- the environment ------------------------------------------------------------------------


class Environment(Sequence[Stack]):
    """Every stack of one environment, in deployment order, with references resolved."""

    def __init__(self, stacks: Sequence[Stack], region: str | None = None) -> None:
        self.stacks = list(stacks)
        self.region = region
        self._exporter = {name: s for s in self.stacks for name in s.exports}

    def __getitem__(self, index):  # type: ignore[override]
        return self.stacks[index]

    def __len__(self) -> int:
        return len(self.stacks)

    def stack(self, name: str) -> Stack | None:
        return next((s for s in self.stacks if s.name == name), None)

    # The one place Ref, Fn::GetAtt and Fn::ImportValue are resolved.
    def resolve(self, stack: Stack, value: Any) -> Resource | None:
        """The resource `value` refers to: a Ref or GetAtt in `stack`, or an ImportValue of
        another stack's export (followed to the resource it exports)."""
        found = target_of(value)
        if found is None:
            return None
        kind, key = found
        if kind == "local":
            return stack.resources.get(key)
        exporter = self._exporter.get(key)
        return None if exporter is None else self.resolve(exporter, exporter.exports[key])

    def of_type(self, rtype: str, *, shared: bool | None = None) -> dict[str, Resource]:
        """Every resource of `rtype` by logical id (shared stacks only with shared=True,
        service stacks only with shared=False)."""
        return {
            rid: res
            for s in self.stacks
            if shared is None or shared == (s.service is None)
            for rid, res in s.of_type(rtype).items()
        }

    def count(self, rtype: str) -> int:
        return sum(s.resource_counts.get(rtype, 0) for s in self.stacks)

    def load_balancer(self, stack: Stack, resource: Resource) -> LoadBalancer:
        return LoadBalancer(resource)

    def listener(self, stack: Stack, resource: Resource) -> Listener:
        lb = self.resolve(stack, resource.get("LoadBalancerArn"))
        return Listener(resource, LoadBalancer(lb) if lb else None)

    def listeners(self) -> list[Listener]:
        return [self.listener(s, r) for s in self.stacks for r in s.of_type(LISTENER).values()]

    def load_balancers(self) -> list[LoadBalancer]:
        return [LoadBalancer(r) for r in self.of_type(LOAD_BALANCER).values()]

    def edges(self) -> list[Edge]:
        found = []
        for s in self.stacks:
            origins = s.of_type(VPC_ORIGIN)
            for dist in s.of_type(DISTRIBUTION).values():
                used = {o: r for o, r in origins.items() if dist.mentions(o, "DistributionConfig")}
                found.append(Edge(dist, used))
        return found

    def nats(self) -> dict[str, Resource]:
        """NAT gateways and NAT instances (an instance in a subnet that routes for others)."""
        return {**self.of_type(NAT_GATEWAY, shared=True), **self.of_type(INSTANCE, shared=True)}

    def rules(self, stack: Stack) -> list[ListenerRule]:
        """The stack's listener rules in template order, each with its listener."""
        rules = []
        for res in stack.of_type(LISTENER_RULE).values():
            found = self.resolve(stack, res.get("ListenerArn"))
            listener = None
            if found is not None:
                owner = self.stack(found.stack) or stack
                listener = self.listener(owner, found)
            rules.append(ListenerRule(res, listener))
        return rules

    def services(self, stack: Stack) -> list[Service]:
        """Every ECS service of a stack (one in a service's stack)."""
        found = []
        for rid, res in stack.of_type(ECS_SERVICE).items():
            task = stack.resources.get((target_of(res.get("TaskDefinition")) or ("", ""))[1])
            desired = int(res.get("DesiredCount", 1))
            target = next(
                (
                    t
                    for t in stack.of_type(SCALABLE_TARGET).values()
                    if t.get("ScalableDimension") == "ecs:service:DesiredCount"
                    and t.mentions(rid, "ResourceId")
                ),
                None,
            )
            policies = tuple(
                p
                for p in stack.of_type(SCALING_POLICY).values()
                if target is not None and p.mentions(target.logical_id)
            )
            found.append(
                Service(
                    name=stack.service or rid,
                    stack=stack,
                    resource=res,
                    task_definition=TaskDefinition(task) if task else None,
                    target_groups={
                        k: TargetGroup(v) for k, v in stack.of_type(TARGET_GROUP).items()
                    },
                    rules=self.rules(stack),
                    scaling=Scaling(target, policies, desired),
                    capacity_strategy=self._strategy(stack, res),
                    alarms=stack.of_type(ALARM),
                )
            )
        return found

    def _strategy(self, stack: Stack, service: Resource) -> tuple[Mapping[str, Any], ...]:
        """The service's capacity provider strategy, or its cluster's default one."""
        strategy = service.get("CapacityProviderStrategy", ())
        if strategy or service.get("LaunchType"):
            return strategy
        cluster = target_of(service.get("Cluster"))
        for assoc in stack.of_type(CLUSTER_CAPACITY).values():
            if cluster and assoc.mentions(cluster[1], "Cluster"):
                return assoc.get("DefaultCapacityProviderStrategy", ())
        return ()

    def service(self, stack: Stack) -> Service | None:
        """The (one) ECS service of a service's stack."""
        services = self.services(stack)
        return services[0] if services else None

    def service_of(self, name: str) -> Service | None:
        """The service `name` of the environment (from its own stack)."""
        stack = next((s for s in self.stacks if s.service == name), None)
        return None if stack is None else self.service(stack)

    def service_stacks(self) -> list[Stack]:
        return [s for s in self.stacks if s.service is not None]

    def job(self, stack: Stack) -> Job | None:
        """The scheduled job of a service's stack (a stack with a schedule and no ECS
        service)."""
        schedules = stack.of_type(SCHEDULE)
        if not schedules or stack.of_type(ECS_SERVICE):
            return None
        tasks = list(stack.of_type(TASK_DEFINITION).values())
        machines = list(stack.of_type(STATE_MACHINE).values())
        return Job(
            name=stack.service or stack.name,
            stack=stack,
            task_definition=TaskDefinition(tasks[0]) if tasks else None,
            schedule=next(iter(schedules.values())),
            state_machine=machines[0] if machines else None,
            alarms=stack.of_type(ALARM),
        )

    def job_of(self, name: str) -> Job | None:
        """The job `name` of the environment (from its own stack)."""
        stack = next((s for s in self.stacks if s.service == name), None)
        return None if stack is None else self.job(stack)

    def jobs(self) -> list[Job]:
        return [j for s in self.service_stacks() if (j := self.job(s)) is not None]

    def kind_of(self, name: str) -> str | None:
        """web, backend, worker or job: what the service's stack holds (None: no such)."""
        if self.job_of(name) is not None:
            return "job"
        service = self.service_of(name)
        return None if service is None else service.kind


def read_environment(outdir: Path) -> Environment:
    """Every stack of a cloud assembly, in manifest (deployment) order, with its tags."""
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    stacks, region = [], None
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        template = json.loads((Path(outdir) / props["templateFile"]).read_text())
        stacks.append(Stack.from_template(name, template, props.get("tags")))
        region = region or artifact["environment"].rsplit("/", 1)[1]
    return Environment(stacks, region)


# The name callers used before the model (the plan branch was written against it).
read_assembly = read_environment


def assembly_region(outdir: Path) -> str:
    """The region the assembly's stacks target (all stacks share one environment)."""
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") == "aws:cloudformation:stack":
            return artifact["environment"].rsplit("/", 1)[1]
    raise ValueError(f"{outdir}: no stack in the cloud assembly")
