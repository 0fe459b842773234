"""deploy with orphans (stacks tagged with the environment, no longer in the file): refused
without --prune, nothing changed; with --prune, released and deleted first, in order; and the
image tag each deployed service runs is kept."""

from __future__ import annotations

import json

import boto3
import pytest

from fargate_env.assembly import Stack
from fargate_env.errors import UserError
from fargate_env.ops.aws import Aws
from fargate_env.ops.deploy import run_deploy
from fargate_env.ops.plan import Plan
from tests.ops.conftest import API, ONE_SERVICE, REGION, WEB, build_world, real_config, stacks
from tests.ops.test_deploy import Recorder, npx, push, targets
from tests.ops.test_status import run_tag

TAGS = [{"Key": "environment", "Value": "demo"}, {"Key": "managed-by", "Value": "fargate-env"}]


def tagged_stack(name: str, exports: dict | None = None, imports: tuple[str, ...] = ()) -> None:
    """A deployed stack of the environment: one topic, its exports and imports."""
    resources: dict = {"Topic": {"Type": "AWS::SNS::Topic"}}
    for i, export in enumerate(imports):
        resources[f"Import{i}"] = {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": f"/{name}/import{i}",
                "Type": "String",
                "Value": {"Fn::ImportValue": export},
            },
        }
    outputs = {
        key: {"Value": {"Ref": "Topic"}, "Export": {"Name": value}}
        for key, value in (exports or {}).items()
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name,
        TemplateBody=json.dumps({"Resources": resources, "Outputs": outputs}),
        Tags=TAGS,
    )


@pytest.fixture
def api_removed(moto, synth) -> None:
    """`api` was deployed (its stack exports what monitoring imports); the file now has
    `web` alone, whose image is pushed. The stacks the new monitoring imports from are
    deployed with those exports."""
    exporters: dict[str, dict[str, str]] = {}
    monitoring = Stack.from_template(
        "demo-monitoring", synth(ONE_SERVICE).template_json("monitoring")
    )
    for export in sorted(monitoring.imports):
        stack = export.split(":")[0]
        exporters.setdefault(stack, {})[f"Out{len(exporters.get(stack, {}))}"] = export
    for stack, exports in exporters.items():
        tagged_stack(stack, exports)
    tagged_stack("demo-service-api", {"Name": "demo-service-api:name"})
    tagged_stack("demo-monitoring", imports=("demo-service-api:name",))
    push(real_config(ONE_SERVICE), WEB, "initial")


def deploy(tmp_path, cdk_bin, runner, **kwargs):
    plans: list[Plan] = []
    rc = run_deploy(
        Aws.for_environment(real_config(ONE_SERVICE)),
        image_tag=None,
        outdir=tmp_path / "cdk.out",
        runner=runner,
        which=npx,
        cdk_bin=cdk_bin,
        validation=False,
        report=plans.append,
        sleep=lambda _: None,
        **kwargs,
    )
    return rc, plans[0]


def test_orphans_refused_without_prune_nothing_changed(api_removed, tmp_path, cdk_bin) -> None:
    runner = Recorder()
    before = stacks()
    with pytest.raises(UserError) as refused:
        deploy(tmp_path, cdk_bin, runner)
    message = str(refused.value)
    assert message.startswith("1 stack(s) of environment demo are no longer in the file:")
    assert "demo-service-api ($0.00/month)" in message and "--prune" in message
    assert "\n" not in message
    assert runner.calls == []  # cdk never ran
    assert stacks() == before  # no stack deleted


def test_prune_releases_the_importer_then_deletes_the_orphan_then_deploys(
    api_removed, tmp_path, cdk_bin
) -> None:
    seen: list[tuple[list[str], set[str]]] = []

    class Watching(Recorder):
        def __call__(self, cmd, *, stdin=None, cwd=None):
            seen.append((targets(cmd), stacks()))
            return super().__call__(cmd, stdin=stdin, cwd=cwd)

    rc, plan = deploy(tmp_path, cdk_bin, Watching(), prune=True)
    assert rc == 0
    assert [o.stack for o in plan.orphans] == ["demo-service-api"]
    # 1. monitoring alone, while the orphan still exists; 2. everything, once it is gone.
    assert seen[0] == (["demo-monitoring", "--exclusively"], seen[0][1])
    assert "demo-service-api" in seen[0][1]
    assert seen[1][0] == ["--all"] and "demo-service-api" not in seen[1][1]
    assert len(seen) == 2


def test_prune_deletes_importing_orphans_first(moto, tmp_path, cdk_bin) -> None:
    tagged_stack("demo-service-api", {"Name": "demo-service-api:name"})
    tagged_stack("demo-service-api-extra", imports=("demo-service-api:name",))
    push(real_config(ONE_SERVICE), WEB, "initial")
    said: list[str] = []
    rc, plan = deploy(tmp_path, cdk_bin, Recorder(), prune=True, progress=said.append)
    assert rc == 0
    assert [o.stack for o in plan.orphans] == ["demo-service-api-extra", "demo-service-api"]
    assert [line for line in said if line.startswith("delet")] == [
        "deleting demo-service-api-extra",
        "deleted demo-service-api-extra",
        "deleting demo-service-api",
        "deleted demo-service-api",
    ]
    assert not {"demo-service-api", "demo-service-api-extra"} & stacks()


def test_a_plain_deploy_keeps_the_running_tag(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    world = build_world(config, "https://demo.example", skip=(API,))
    run_tag(world, WEB, "B")
    push(config, WEB, "B")  # only B exists for web: the file's "initial" was never pushed
    push(config, API, "initial")  # api is not deployed: the file's tag
    runner = Recorder()
    progress: list[str] = []
    run_deploy(Aws.for_environment(config), image_tag=None, outdir=tmp_path / "o", runner=runner,
               which=npx, cdk_bin=cdk_bin, validation=False, progress=progress.append)  # fmt: skip
    web = (tmp_path / "o" / "demo-service-web.template.json").read_text()
    api = (tmp_path / "o" / "demo-service-api.template.json").read_text()
    assert ":B" in web and ":initial" not in web
    assert ":initial" in api
    assert any(line.startswith("web stays on image tag B") for line in progress)


def test_image_tag_still_sets_one_service(moto, tmp_path, cdk_bin) -> None:
    config = real_config()
    world = build_world(config, "https://demo.example")
    run_tag(world, WEB, "B")
    run_tag(world, API, "A2")
    push(config, WEB, "C")
    push(config, API, "A2")
    run_deploy(Aws.for_environment(config), image_tag="C", service=WEB, outdir=tmp_path / "o",
               runner=Recorder(), which=npx, cdk_bin=cdk_bin, validation=False)  # fmt: skip
    assert ":C" in (tmp_path / "o" / "demo-service-web.template.json").read_text()
    assert ":A2" in (tmp_path / "o" / "demo-service-api.template.json").read_text()


def test_export_in_use_is_refused_before_anything_changes(moto, tmp_path, cdk_bin) -> None:
    """A deployed stack imports an export the new registry no longer has (an older version of
    the app wired it so); the registry is updated before it: refused, nothing run."""
    tagged_stack("demo-registry", {"Old": "demo-registry:old"})
    tagged_stack("demo-service-web", imports=("demo-registry:old",))
    push(real_config(ONE_SERVICE), WEB, "initial")
    runner = Recorder()
    with pytest.raises(UserError, match=r"^CloudFormation would refuse this deploy midway:"
                       r" demo-registry drops export demo-registry:old while demo-service-web"
                       r" still imports it"):  # fmt: skip
        deploy(tmp_path, cdk_bin, runner, prune=True)
    assert runner.calls == []


def test_a_uri_service_needs_nothing_in_ecr(moto, tmp_path, cdk_bin) -> None:
    uri = {"image": {"build": None, "uri": "ghcr.io/a/b:1"}, "image_tag": None}
    config = real_config({"services": {API: uri}})
    push(config, WEB, "initial")  # api has no ECR repository at all
    runner = Recorder()
    run_deploy(Aws.for_environment(config), image_tag=None, outdir=tmp_path / "o", runner=runner,
               which=npx, cdk_bin=cdk_bin, validation=False)  # fmt: skip
    assert len(runner.calls) == 1
