"""plan: stacks to create, update, delete (orphans, priced) or leave; data-holding
replacements; CloudFormation's export-in-use refusal predicted; --against offline."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from fargate_env.assembly import Stack, read_environment
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.plan import (
    Deployed,
    ExportInUse,
    baseline_stacks,
    deletion_order,
    deployed_stacks,
    make_plan,
    orphan_prices,
)
from fargate_env.preview_spec import TAG_PREVIEW
from tests.ops.conftest import API, REGION, real_config

NO_API = {"services": {API: None}}


def stacks_of(outdir: Path) -> dict[str, Deployed]:
    """An assembly's stacks as if deployed (with the environment's tags)."""
    tags = {"environment": "demo", "managed-by": "fargate-env"}
    return {s.name: Deployed(s.body(), tags) for s in read_environment(outdir)}


def summary(name: str, template: dict) -> Stack:
    return Stack.from_template(name, template)


def topic(exports: dict[str, str] | None = None, imports: list[str] = ()) -> dict:
    """A template with one topic, `exports` (output -> export name) and imported names."""
    resources: dict = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}
    for i, name in enumerate(imports):
        resources[f"Sub{i}"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Fn::ImportValue": name}, "Protocol": "sqs"},
        }
    outputs = {
        key: {"Value": {"Ref": "Topic"}, "Export": {"Name": name}}
        for key, name in (exports or {}).items()
    }
    return {"Resources": resources, "Outputs": outputs}


def deployed(**templates: dict) -> dict[str, Deployed]:
    return {name: Deployed(t, {}) for name, t in templates.items()}


def row(plan, stack: str):
    return next(s for s in plan.stacks if s.stack == stack)


# --- with the demo's real templates --------------------------------------------------------


def test_the_same_assembly_changes_nothing(demo) -> None:
    plan = make_plan("demo", read_environment(demo.outdir), stacks_of(demo.outdir))
    assert not plan.changes
    assert {s.action for s in plan.stacks} == {"unchanged"}
    assert plan.export_in_use == [] and plan.release == []


def test_a_removed_service_is_an_orphan_priced_and_deleted_after_monitoring_lets_go(
    demo, synth
) -> None:
    config = real_config(NO_API)
    new = read_environment(synth(NO_API).outdir)
    old = stacks_of(demo.outdir)
    plan = make_plan("demo", new, old, price=orphan_prices(config, REGION, new, old))
    orphan = row(plan, "demo-service-api")
    assert [s.stack for s in plan.orphans] == ["demo-service-api"]
    assert orphan.action == "delete"
    assert orphan.monthly_usd is not None and orphan.monthly_usd > 1  # Fargate tasks, alarms
    # Its log group goes with it; the retained repository (registry) stays: not lost.
    assert [(r.type, r.loses) for r in orphan.replaced] == [("AWS::Logs::LogGroup", "log events")]
    assert row(plan, "demo-registry").action == "update"
    assert row(plan, "demo-registry").replaced == []
    assert row(plan, "demo-monitoring").action == "update"
    assert row(plan, "demo-service-web").action == "unchanged"
    # monitoring imports the orphan's exports: it is updated first, so nothing is refused.
    assert plan.release == ["demo-monitoring"]
    assert plan.export_in_use == [] and plan.unreleasable == []
    data = json.loads(json.dumps(plan.to_json()))
    assert data["environment"] == "demo"
    assert set(data) == {"environment", "stacks", "export_in_use"}
    first = data["stacks"][0]
    assert first["stack"] == "demo-service-api" and first["monthly_usd"] == round(
        orphan.monthly_usd, 2
    )


def test_an_added_service_creates_its_stack_and_updates_monitoring(demo, synth) -> None:
    plan = make_plan("demo", read_environment(demo.outdir), stacks_of(synth(NO_API).outdir))
    actions = {s.stack: s.action for s in plan.stacks}
    assert actions["demo-service-api"] == "create"
    assert actions["demo-monitoring"] == "update"
    assert actions["demo-registry"] == "update"  # the new service's repository
    assert actions["demo-service-web"] == actions["demo-network"] == "unchanged"
    assert row(plan, "demo-service-api").added  # every resource of the new stack


def test_cdk_metadata_and_resource_metadata_are_not_changes(demo) -> None:
    new = read_environment(demo.outdir)
    old = stacks_of(demo.outdir)
    web = old["demo-service-web"].template
    for res in web["Resources"].values():
        if res["Type"] == "AWS::CDK::Metadata":
            res["Properties"] = {"Analytics": "v2:deflate64:something-else"}
        res["Metadata"] = {"aws:cdk:path": "elsewhere/Resource"}
    lid, res = next((k, v) for k, v in web["Resources"].items() if "DependsOn" in v)
    depends = res["DependsOn"]
    res["DependsOn"] = depends if isinstance(depends, str) else list(reversed(depends))
    assert row(make_plan("demo", new, old), "demo-service-web").action == "unchanged"
    res["DependsOn"] = [*([depends] if isinstance(depends, str) else depends), "Other"]
    changed = row(make_plan("demo", new, old), "demo-service-web")
    assert changed.action == "update" and changed.modified == [lid]


def _resource(stacks: dict[str, Deployed], stack: str, rtype: str) -> tuple[str, dict]:
    resources = stacks[stack].template["Resources"]
    return next((k, v) for k, v in resources.items() if v["Type"] == rtype)


def test_replacing_what_holds_data_says_what_is_lost(demo) -> None:
    """New templates (as a new version of the app could write them) against the demo's."""
    old = stacks_of(demo.outdir)
    changed = stacks_of(demo.outdir)
    # A create-only property: a new repository name (old one retained, new one empty).
    _, repo = _resource(changed, "demo-registry", "AWS::ECR::Repository")
    repo["Properties"]["RepositoryName"] = "demo/renamed"
    # A changed logical id of a log group (DeletionPolicy Delete): its events are deleted.
    resources = changed["demo-service-web"].template["Resources"]
    lid, _ = _resource(changed, "demo-service-web", "AWS::Logs::LogGroup")
    resources[lid + "New"] = resources.pop(lid)
    # A KMS key's KeySpec; and a change that is not create-only (retention): no replacement.
    _, key = _resource(changed, "demo-alerts", "AWS::KMS::Key")
    key["Properties"]["KeySpec"] = "RSA_2048"
    _, flow_logs = _resource(changed, "demo-network", "AWS::Logs::LogGroup")
    flow_logs["Properties"]["RetentionInDays"] = 400
    new = [summary(n, d.template) for n, d in changed.items()]
    plan = make_plan("demo", new, old)
    replaced = {s.stack: [(r.resource, r.type, r.loses) for r in s.replaced] for s in plan.stacks}
    assert replaced["demo-registry"] == [
        (
            repo_lid(old),
            "AWS::ECR::Repository",
            "images (stay in the retained old one; the new one starts empty)",
        )
    ]
    assert replaced["demo-service-web"] == [(lid, "AWS::Logs::LogGroup", "log events")]
    assert replaced["demo-alerts"][0][1:] == ("AWS::KMS::Key", "everything encrypted with it")
    assert replaced["demo-network"] == []
    assert row(plan, "demo-network").modified  # still a change, only not a replacement


def repo_lid(stacks: dict[str, Deployed]) -> str:
    return _resource(stacks, "demo-registry", "AWS::ECR::Repository")[0]


# --- export-in-use and orphan order, on small templates --------------------------------------


def test_an_export_dropped_while_a_later_stack_still_imports_it_is_predicted() -> None:
    old = deployed(a=topic({"One": "a:one", "Two": "a:two"}), b=topic(imports=["a:one", "a:two"]))
    # The new b no longer imports a:two, but b is updated after a (it depends on a).
    new = [summary("a", topic({"One": "a:one"})), summary("b", topic(imports=["a:one"]))]
    plan = make_plan("demo", new, old)
    assert plan.export_in_use == [ExportInUse("a:two", "a", "b")]
    assert plan.to_json()["export_in_use"] == [
        {"export": "a:two", "exporter": "a", "importer": "b"}
    ]


def test_an_importer_updated_first_does_not_block() -> None:
    old = deployed(a=topic({"Two": "a:two"}), b=topic(imports=["a:two"]))
    new = [summary("b", topic()), summary("a", topic())]  # b first in the assembly's order
    assert make_plan("demo", new, old).export_in_use == []


def test_a_stack_outside_this_deploy_keeps_its_imports() -> None:
    old = deployed(a=topic({"Two": "a:two"}), b=topic(imports=["a:two"]))
    new = [summary("b", topic()), summary("a", topic())]
    plan = make_plan("demo", new, old, targets={"a"})
    assert plan.export_in_use == [ExportInUse("a:two", "a", "b")]
    assert [s.stack for s in plan.stacks] == ["a"]


def test_orphans_are_deleted_importers_first() -> None:
    orphans = {
        "base": topic({"X": "base:x"}),
        "middle": topic({"Y": "middle:y"}, imports=["base:x"]),
        "top": topic(imports=["middle:y"]),
    }
    stacks = {name: summary(name, template) for name, template in orphans.items()}
    assert deletion_order(stacks) == ["top", "middle", "base"]
    plan = make_plan("demo", [], deployed(**orphans))
    assert [s.stack for s in plan.orphans] == ["top", "middle", "base"]
    assert plan.export_in_use == []


def test_an_orphan_still_imported_by_a_kept_stack_that_cannot_let_go_first() -> None:
    """A kept stack imports the orphan's export and, in its new template, an export that only
    the deploy itself creates: it cannot be released before the orphan is deleted."""
    old = deployed(gone=topic({"G": "gone:g"}), watcher=topic(imports=["gone:g"]))
    new = [
        summary("fresh", topic({"F": "fresh:f"})),
        summary("watcher", topic(imports=["fresh:f"])),
    ]
    plan = make_plan("demo", new, old)
    assert plan.release == ["watcher"]
    assert [(u.stack, u.export) for u in plan.unreleasable] == [("watcher", "fresh:f")]


# --- the two sides: deployed (tags, GetTemplate) and --against --------------------------------


def test_deployed_stacks_are_the_environments_tagged_ones_without_previews(moto) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    ours = [{"Key": "environment", "Value": "demo"}, {"Key": "managed-by", "Value": "fargate-env"}]
    body = json.dumps(topic({"Out": "demo-x:out"}))
    cfn.create_stack(StackName="demo-service-api", TemplateBody=body, Tags=ours)
    cfn.create_stack(
        StackName="demo-preview-pr-1",
        TemplateBody=json.dumps(topic()),
        Tags=[*ours, {"Key": TAG_PREVIEW, "Value": "pr-1"}],
    )
    cfn.create_stack(
        StackName="other-service-api",
        TemplateBody=json.dumps(topic()),
        Tags=[{"Key": "environment", "Value": "other"}, ours[1]],
    )
    cfn.create_stack(StackName="demo-handmade", TemplateBody=json.dumps(topic()))
    found = deployed_stacks(Aws.for_environment(real_config()))
    assert list(found) == ["demo-service-api"]
    assert found["demo-service-api"].template == json.loads(body)


def test_against_reads_the_environments_stacks_of_another_assembly(demo, tmp_path) -> None:
    baseline = baseline_stacks(real_config(), demo.outdir)
    assert set(baseline) == {s.name for s in read_environment(demo.outdir)}
    assert baseline_stacks(real_config({"name": "other"}), demo.outdir) == {}


def test_against_a_directory_without_an_assembly_is_one_line(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"--against .*: no manifest.json there"):
        baseline_stacks(real_config(), tmp_path)
