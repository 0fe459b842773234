"""App wiring: cdk.json's feature flags reach the app, and the CDK CLI synthesizes the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fargate_env.app import build_app, cdk_json_context
from fargate_env.assembly import read_environment
from tests.conftest import ROOT, make_config, web_demo_data
from tests.ops.conftest import toml_text

CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"


def resources_by_stack(outdir: Path) -> dict[str, dict[str, str]]:
    """{stack: {logical id: type}} without CDK's own metadata resource."""
    return {
        s.name: {k: r.type for k, r in s.resources.items() if r.type != "AWS::CDK::Metadata"}
        for s in read_environment(outdir)
    }


def test_every_cdk_json_flag_reaches_the_app(tmp_path):
    flags = cdk_json_context()
    assert flags["@aws-cdk/core:defaultCrossStackReferences"] == "strong"
    built = build_app(make_config(), tmp_path, validation=False)
    for key, value in flags.items():
        assert built.app.node.try_get_context(key) == value, key


def test_stacks_carry_the_environment_tags(demo):
    vpc = next(
        r
        for r in demo.template_json("network")["Resources"].values()
        if r["Type"] == "AWS::EC2::VPC"
    )
    tags = {t["Key"]: t["Value"] for t in vpc["Properties"]["Tags"]}
    assert tags["environment"] == "demo" and tags["managed-by"] == "fargate-env"


def test_app_py_and_the_cdk_cli_synthesize_the_same_resources(tmp_path, demo):
    if not CDK_CLI.exists():
        pytest.skip("the pinned CDK CLI is not installed: run `npm ci` (make test does)")
    env_file = tmp_path / "web-demo.toml"  # the config `demo` was synthesized from
    env_file.write_text(toml_text(web_demo_data()))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CDK_VALIDATION": "false",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "FARGATE_ENV_FILE": str(env_file),
    }
    out = tmp_path / "cli.out"
    subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--no-notices", "-o", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert resources_by_stack(out) == resources_by_stack(demo.outdir)


def test_python_app_py_writes_the_assembly_where_told(tmp_path):
    out = tmp_path / "py.out"
    env = {**os.environ, "CDK_VALIDATION": "false", "CDK_OUTDIR": str(out)}
    subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert "demo-network" in manifest["artifacts"]
    shutil.rmtree(out)


# --- several services: 1, 2 and 25 in one environment ------------------------------------------


def many(count: int) -> dict:
    """The demo's web (default) and api, plus `count - 2` more on /sN/*; count 1: web alone."""
    if count == 1:
        return {"services": {"api": None}}
    extra = {f"s{i}": {"routing": {"path_patterns": [f"/s{i}/*"]}} for i in range(count - 2)}
    return {"services": extra}


def counts(synthesized, rtype: str) -> dict[str, int]:
    return {
        synthesized.stack_name(p): sum(
            r["Type"] == rtype for r in synthesized.template_json(p)["Resources"].values()
        )
        for p in ["platform", *(f"service:{s}" for s in synthesized.config.services)]
    }


def rule_priorities(synthesized) -> dict[str, list[int]]:
    return {
        s: sorted(
            r["Properties"]["Priority"]
            for r in synthesized.template_json(f"service:{s}")["Resources"].values()
            if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
        )
        for s in synthesized.config.services
    }


@pytest.mark.parametrize("count", [1, 2, 25])
def test_one_alb_and_one_stack_per_service(synth, count):
    synthesized = synth(many(count))
    assert len(synthesized.config.services) == count
    assert counts(synthesized, "AWS::ElasticLoadBalancingV2::LoadBalancer") == {
        synthesized.stack_name("platform"): 1,
        **{synthesized.stack_name(f"service:{s}"): 0 for s in synthesized.config.services},
    }
    for rtype in ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::TargetGroup"):
        per_stack = counts(synthesized, rtype)
        assert per_stack.pop(synthesized.stack_name("platform")) == 0
        assert set(per_stack.values()) == {1}, rtype
    priorities = [p for ps in rule_priorities(synthesized).values() for p in ps]
    assert len(priorities) == len(set(priorities)), "listener-rule priorities must be unique"
    # The default service's catch-all takes the last priority; every other service one rule.
    assert rule_priorities(synthesized)["web"][-1] == 50000
    # The listener itself answers a fixed 404 when nothing matches.
    (listener,) = [
        r["Properties"]
        for r in synthesized.template_json("platform")["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and r["Properties"]["Port"] == 443
    ]
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"


def test_a_26th_service_changes_no_existing_stack_but_the_dashboard(synth):
    before, after = (
        synth(many(25)),
        synth(
            many(25)
            | {
                "services": {
                    **many(25)["services"],
                    "late": {"routing": {"path_patterns": ["/late/*"]}},
                }
            }
        ),
    )
    assert rule_priorities(after)["late"]
    for service, priorities in rule_priorities(before).items():
        assert rule_priorities(after)[service] == priorities, service
        assert before.template_json(f"service:{service}") == after.template_json(
            f"service:{service}"
        ), f"adding a service changed {service}'s stack"
    for part in ("network", "platform", "alerts"):
        assert before.template_json(part) == after.template_json(part), part


def test_25_services_stay_far_below_the_stack_resource_limit(synth):
    synthesized = synth(many(25))
    for name in synthesized.built.stacks:
        resources = synthesized.template_json(
            name.stack_name.removeprefix("demo-").replace("service-", "service:", 1)
        )["Resources"]
        assert len(resources) < 250, f"{name.stack_name}: {len(resources)} of 500"
