"""moto's gaps on the real deploy path, corrected here and only here (never in product code).

Each correction names the gap, what moto (5.2.5) does, and what the correction does. They are
applied inside the moto server process by `serve_moto.py`, before it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CORRECTIONS: list[Callable[[], None]] = []


def correction(func: Callable[[], None]) -> Callable[[], None]:
    CORRECTIONS.append(func)
    return func


def apply() -> None:
    for func in CORRECTIONS:
        func()


@correction
def route53_zone_ids() -> None:
    """Gap: moto draws a zone id of 22 random characters; AWS's start with "Z" (the config
    checks that shape). Correction: the id starts with "Z"."""
    from moto.route53 import models

    original = models.create_route53_zone_id

    def zone_id(*args: Any, **kwargs: Any) -> str:
        return "Z" + original(*args, **kwargs)[1:]

    models.create_route53_zone_id = zone_id


@correction
def kms_key_tags() -> None:
    """Gap: an AWS::KMS::Key with Tags answers 500: moto hands CloudFormation's {Key, Value}
    tags to create_key, which reads {TagKey, TagValue}. Correction: rename the two keys."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, name: str, json_: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        props = json_.get("Properties", {})
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        json_ = {**json_, "Properties": {**props, "Tags": tags}}
        return original(cls, name, json_, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


@correction
def custom_resources() -> None:
    """Gap: moto runs a custom resource's Lambda in Docker (an image pulled from a registry
    this machine cannot reach) and waits for its answer. The one custom resource here,
    Custom::VpcRestrictDefaultSG, strips the default security group's rules. Correction: the
    resource is created at once with no data (its effect is not emulated)."""
    from moto.cloudformation.custom_model import CustomModel

    def create(cls: Any, name: str, json_: dict[str, Any], account: str, region: str,
               **kwargs: Any) -> Any:  # fmt: skip
        made = CustomModel(region, "lifecycle", kwargs["LogicalId"], name)
        made.set_data({})
        return made

    CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


@correction
def target_group_full_name() -> None:
    """Gap: Fn::GetAtt TargetGroup.TargetGroupFullName (the alarms' dimension) fails: moto's
    target group has no CloudFormation attributes. Correction: TargetGroupFullName and
    TargetGroupName, derived from the ARN as AWS does ("targetgroup/NAME/ID")."""
    from moto.elbv2.models import FakeTargetGroup

    def has_attr(cls: Any, attr: str) -> bool:
        return attr in ("TargetGroupFullName", "TargetGroupName")

    def get_attr(self: Any, attr: str) -> str:
        full = self.arn.split(":", 5)[5]
        return full if attr == "TargetGroupFullName" else full.split("/")[1]

    FakeTargetGroup.has_cfn_attr = classmethod(has_attr)  # type: ignore[method-assign]
    FakeTargetGroup.get_cfn_attribute = get_attr  # type: ignore[method-assign]


def _imports_of(template: Any) -> set[str]:
    """Every export name a template imports with a literal Fn::ImportValue."""
    found: set[str] = set()
    if isinstance(template, dict):
        name = template.get("Fn::ImportValue")
        if isinstance(name, str):
            found.add(name)
        for value in template.values():
            found |= _imports_of(value)
    elif isinstance(template, list):
        for value in template:
            found |= _imports_of(value)
    return found


def _importers(backend: Any, export: str, but: str) -> list[str]:
    """Live stacks other than `but` that import `export`."""
    return [
        s.name
        for s in backend.stacks.values()
        if s.stack_id != but and export in _imports_of(getattr(s, "template_dict", {}))
    ]


def _change_set_id(backend: Any, name: str, stack: str | None) -> str | None:
    """The newest change set called `name` on `stack` (name or id); an ARN is itself."""
    if name in backend.change_sets:
        return name
    found = [
        cid
        for cid, cs in backend.change_sets.items()
        if cs.change_set_name == name and stack in (cs.stack_name, cs.stack_id)
    ]
    return found[-1] if found else None


@correction
def change_set_names_per_stack() -> None:
    """Gap: moto looks change sets up by name across every stack; the CDK CLI names each
    stack's change set "cdk-deploy-change-set", so the second stack's describe/execute hits
    the first stack's. DeleteChangeSet of a name that does not exist answers 500 (AWS: no-op;
    the CLI deletes "if it exists"), and DescribeChangeSet of one answers ValidationError
    where AWS answers ChangeSetNotFound (the CLI waits for that after deleting the old one,
    before every update). Correction: a name is looked up on the StackName given; deleting an
    unknown one does nothing; describing one answers ChangeSetNotFound."""
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult, EmptyResult

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    def scoped(self: Any) -> str | None:
        name, stack = self._get_param("ChangeSetName"), self._get_param("StackName")
        return _change_set_id(self.cloudformation_backend, name, stack)

    def describe(self: Any) -> Any:
        found = scoped(self)
        if found is None:
            name = self._get_param("ChangeSetName")
            raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")
        return ActionResult(self.cloudformation_backend.change_sets[found])

    def delete(self: Any) -> Any:
        found = scoped(self)
        if found is not None:
            del self.cloudformation_backend.change_sets[found]
        return EmptyResult()

    def execute(self: Any) -> Any:
        found = scoped(self)
        if found is None:
            raise ValidationError(self._get_param("ChangeSetName"))
        self.cloudformation_backend.execute_change_set(found, self._get_param("StackName"))
        return EmptyResult()

    CloudFormationResponse.describe_change_set = describe  # type: ignore[method-assign]
    CloudFormationResponse.delete_change_set = delete  # type: ignore[method-assign]
    CloudFormationResponse.execute_change_set = execute  # type: ignore[method-assign]


@correction
def change_set_outputs_and_exports() -> None:
    """Gap: a stack created or updated by a change set (how the CDK CLI deploys) gets no
    outputs and registers no exports, and a new stack cannot resolve Fn::ImportValue (moto
    builds it without the region's exports). Correction: the stack sees the exports; after
    executing, its template, outputs and exports are the change set's."""
    from moto.cloudformation.models import CloudFormationBackend

    create_original = CloudFormationBackend.create_change_set
    execute_original = CloudFormationBackend.execute_change_set

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        change_set_id, stack_id = create_original(self, *args, **kwargs)
        stack = self.stacks[stack_id]
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
        return change_set_id, stack_id

    def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets[change_set_name]
        stack = self.stacks[change_set.stack_id]
        if _refuse_removed_exports(self, stack, change_set):
            return
        execute_original(self, change_set_name, stack_name)
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.create_change_set = create  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute  # type: ignore[method-assign]


def _refuse_removed_exports(backend: Any, stack: Any, change_set: Any) -> bool:
    """CloudFormation's rule: an update may not remove an export another stack imports (the
    update fails and rolls back). True when the change set was refused so."""
    outputs = change_set.template_dict.get("Outputs", {}).values()
    names = [o.get("Export", {}).get("Name") for o in outputs]
    kept = {name for name in names if isinstance(name, str)}
    for export in stack.exports:
        if export.name in kept:
            continue
        users = _importers(backend, export.name, stack.stack_id)
        if users:
            reason = f"Export {export.name} cannot be deleted as it is in use by {users[0]}"
            stack._add_stack_event("UPDATE_IN_PROGRESS")
            stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
            stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
            stack.status = "UPDATE_ROLLBACK_COMPLETE"
            change_set.execution_status = "EXECUTE_FAILED"
            return True
    return False


@correction
def exports_in_use() -> None:
    """Gap: moto deletes a stack whose exports another stack imports, and has no ListImports.
    Correction: such a delete ends DELETE_FAILED with CloudFormation's reason, nothing
    deleted; ListImports answers from the live stacks' Fn::ImportValue."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    original = CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        for stack in list(self.stacks.values()):
            if name_or_stack_id not in (stack.name, stack.stack_id):
                continue
            for export in stack.exports:
                users = _importers(self, export.name, stack.stack_id)
                if users:
                    reason = f"Export {export.name} cannot be deleted as it is in use by {users[0]}"
                    stack._add_stack_event("DELETE_IN_PROGRESS")
                    stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
                    stack.status = "DELETE_FAILED"
                    return
        original(self, name_or_stack_id)

    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        backend = self.cloudformation_backend
        if name not in backend.exports:
            raise ValidationError(message=f"Export '{name}' does not exist.")
        users = _importers(backend, name, but="")
        if not users:
            raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": users})

    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    CloudFormationResponse.list_imports = list_imports  # type: ignore[attr-defined]


# Resource types moto's CloudFormation does not create (it records nothing for them, or drops
# the properties named): the lifecycle tests cannot see them and assert on what moto holds.
NOT_EMULATED = {
    "AWS::CloudWatch::Alarm": "alarms (service alarms, rollback alarms, monitoring)",
    "AWS::ApplicationAutoScaling::ScalableTarget": "service auto scaling",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "service auto scaling",
    "AWS::ECS::ClusterCapacityProviderAssociations": "Fargate / Fargate Spot providers",
    "AWS::Budgets::Budget": "the monthly budget",
    "AWS::Scheduler::Schedule": "a preview's self-deletion schedule, a job's schedule",
    "AWS::CloudFront::Distribution": "the quickstart's CloudFront edge",
    "AWS::CloudFront::VpcOrigin": "the quickstart's VPC origin",
    "AWS::S3::BucketPolicy": "the access-log bucket's policy",
    "AWS::EC2::SecurityGroupEgress": "security group egress rules",
    "AWS::EC2::FlowLog": "VPC flow logs",
    "AWS::Events::Rule": "the ECS deployment event rules",
    "Custom::VpcRestrictDefaultSG": "the default security group's rules (see custom_resources)",
    "ECS::Service LoadBalancers/NetworkConfiguration": "a service's target group and subnets",
}


@correction
def scheduler_schedules() -> None:
    """Gap: moto's CloudFormation skips AWS::Scheduler::Schedule, so a preview has no expiry
    schedule and `preview extend` finds none. Correction: a CloudFormation model that creates
    (and deletes) the schedule in moto's Scheduler; it never fires (moto runs no schedules)."""
    from moto.core.common_models import CloudFormationModel
    from moto.scheduler.models import scheduler_backends

    class Schedule(CloudFormationModel):
        def __init__(self, name: str, group: str | None) -> None:
            self.name, self.group = name, group

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Scheduler::Schedule"

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, json_: dict[str, Any], account: str, region: str,
            **kwargs: Any,
        ) -> Schedule:  # fmt: skip
            p = json_["Properties"]
            name = p.get("Name", resource_name)
            scheduler_backends[account][region].create_schedule(
                description=p.get("Description"), end_date=p.get("EndDate"),
                flexible_time_window=p["FlexibleTimeWindow"], group_name=p.get("GroupName"),
                kms_key_arn=p.get("KmsKeyArn"), name=name,
                schedule_expression=p["ScheduleExpression"],
                schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
                start_date=p.get("StartDate"), state=p.get("State", "ENABLED"),
                target=p["Target"], action_after_completion=p.get("ActionAfterCompletion"),
            )  # fmt: skip
            return cls(name, p.get("GroupName"))

        def delete(self, account_id: str, region_name: str) -> None:
            scheduler_backends[account_id][region_name].delete_schedule(self.group, self.name)

    Schedule.__module__ = __name__


@correction
def scheduler_schedule_groups() -> None:
    """Gap: moto's CloudFormation has no AWS::Scheduler::ScheduleGroup (a job's schedules and
    its not-started alarm live in one), so its GetAtt Arn fails the stack. Correction: a model
    that creates (and deletes) the group in moto's Scheduler."""
    from moto.core.common_models import CloudFormationModel
    from moto.scheduler.models import scheduler_backends

    class ScheduleGroup(CloudFormationModel):
        def __init__(self, name: str, arn: str) -> None:
            self.name, self.arn = name, arn

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Scheduler::ScheduleGroup"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Arn", "CreationDate", "LastModificationDate", "State")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.arn if attribute_name == "Arn" else ""

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, json_: dict[str, Any], account: str, region: str,
            **kwargs: Any,
        ) -> ScheduleGroup:  # fmt: skip
            name = json_.get("Properties", {}).get("Name", resource_name)
            group = scheduler_backends[account][region].create_schedule_group(name, [])
            return cls(name, group.arn)

        def delete(self, account_id: str, region_name: str) -> None:
            scheduler_backends[account_id][region_name].delete_schedule_group(self.name)

    ScheduleGroup.__module__ = __name__


@correction
def service_discovery_http_namespaces() -> None:
    """Gap: moto's CloudFormation has no AWS::ServiceDiscovery::HttpNamespace (the Service
    Connect namespace of an environment with a backend), so the cluster's GetAtt Arn fails
    the platform stack. Correction: a model that creates (and deletes) the namespace in moto's
    Cloud Map; Ref is its id, as in AWS."""
    from moto.core.common_models import CloudFormationModel
    from moto.servicediscovery.models import servicediscovery_backends

    class HttpNamespace(CloudFormationModel):
        def __init__(self, namespace: Any) -> None:
            self.namespace = namespace

        @property
        def physical_resource_id(self) -> str:
            return self.namespace.id

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ServiceDiscovery::HttpNamespace"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Arn", "Id")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.namespace.arn if attribute_name == "Arn" else self.namespace.id

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, json_: dict[str, Any], account: str, region: str,
            **kwargs: Any,
        ) -> HttpNamespace:  # fmt: skip
            props = json_.get("Properties", {})
            backend = servicediscovery_backends[account][region]
            name = props.get("Name", resource_name)
            backend.create_http_namespace(name, resource_name, props.get("Description"), [])
            (namespace,) = [n for n in backend.namespaces.values() if n.name == name]
            return cls(namespace)

        def delete(self, account_id: str, region_name: str) -> None:
            servicediscovery_backends[account_id][region_name].delete_namespace(self.namespace.id)

    HttpNamespace.__module__ = __name__


@correction
def network_stack_deletion() -> None:
    """Gap: deleting the network stack ends DELETE_FAILED "The vpc ... has dependencies":
    moto's stack deletion leaves the subnets' route-table associations, the route tables, the
    NAT gateways and the internet gateway's attachment in the VPC (CloudFormation deletes
    them first). Correction: when CloudFormation deletes a VPC, moto first deletes those."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.vpcs import VPC

    original = VPC.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def delete(cls: Any, vpc_id: str, json_: dict[str, Any], account: str, region: str) -> None:
        ec2 = ec2_backends[account][region]
        for nat in [n for n in ec2.nat_gateways.values() if n.vpc_id == vpc_id]:
            ec2.delete_nat_gateway(nat.id)
        for table in ec2.describe_route_tables(filters={"vpc-id": vpc_id}):
            if table.main_association_id is None:
                for association in list(table._associations):
                    ec2.disassociate_route_table(association)
                ec2.delete_route_table(table.id)
        for gateway in ec2.describe_internet_gateways(filters={"attachment.vpc-id": [vpc_id]}):
            ec2.detach_internet_gateway(gateway.id, vpc_id)
        original(cls, vpc_id, json_, account, region)

    VPC.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign]


@correction
def previous_ssm_parameter_values() -> None:
    """Gap: an update that keeps an SSM-typed parameter (UsePreviousValue, how the CDK CLI
    passes BootstrapVersion) answers 500: moto hands the previous *resolved* value ("30") to
    the SSM lookup as if it were the parameter's path. Correction: a value that names no SSM
    parameter is taken as the resolved previous value."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ssm.models import ssm_backends

    original = ResourceMap.parse_ssm_parameter

    def parse(self: Any, value: str, value_type: str) -> Any:
        ssm = ssm_backends[self._account_id][self._region_name]
        if ssm.get_parameter(value) is None:
            return value
        return original(self, value, value_type)

    ResourceMap.parse_ssm_parameter = parse  # type: ignore[method-assign]


@correction
def task_definition_updates() -> None:
    """Gap 1: an updated AWS::ECS::TaskDefinition (a new image tag) is registered with its
    container definitions in CloudFormation's PascalCase ("Image"), where a created one gets
    the API's camelCase ("image"), so DescribeTaskDefinition shows no image after an update.
    Correction: remap the keys as creation does.
    Gap 2: moto updates a resource only when its own JSON changes. The AWS::ECS::Service names
    its task definition by {"Ref": ...}, whose JSON stays the same when the task definition is
    replaced, so moto leaves the service on the old revision; CloudFormation updates it, as
    the Ref's value (the new revision's ARN) changed. Correction: a service whose task
    definition is modified in an update is modified too."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ecs.models import TaskDefinition, pascal_to_camelcase, remap_nested_keys

    original_update = TaskDefinition.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update(cls: Any, *, cloudformation_json: dict[str, Any], **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        containers = remap_nested_keys(props.get("ContainerDefinitions", []), pascal_to_camelcase)
        json_ = {**cloudformation_json, "Properties": {**props, "ContainerDefinitions": containers}}
        return original_update(cls, cloudformation_json=json_, **kwargs)

    TaskDefinition.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign]

    original_diff = ResourceMap.build_resource_diff

    def diff(self: Any, template: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        actions = original_diff(self, template, *args, **kwargs)
        for name, resource in template["Resources"].items():
            if resource.get("Type") != "AWS::ECS::Service" or name in actions["Modify"]:
                continue
            ref = resource.get("Properties", {}).get("TaskDefinition")
            if isinstance(ref, dict) and ref.get("Ref") in actions["Modify"]:
                actions["Modify"].append(name)
        return actions

    ResourceMap.build_resource_diff = diff  # type: ignore[method-assign]


@correction
def retained_on_update() -> None:
    """Gap: a resource that an update removes from a stack is deleted even with
    DeletionPolicy Retain (moto honours the policy only when the whole stack is deleted): a
    service's retained ECR repository, dropped from the registry stack, fails to delete
    while it holds images. Correction: an update leaves a retained resource in place, out of
    the stack, as CloudFormation does."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap._delete_resource

    def delete(self: Any, resource: Any, resource_json: dict[str, Any]) -> None:
        if resource_json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            return
        original(self, resource, resource_json)

    ResourceMap._delete_resource = delete  # type: ignore[method-assign]
