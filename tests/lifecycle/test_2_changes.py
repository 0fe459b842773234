"""Living with the environment on moto's server (scenarios 3, 4, 5 of issue 19), to the
contract of `plan`, `status` and `deploy --prune` (CONTRACT-19): ship a tag to one service,
add a service, remove one. Runs after test_1 on the same environment (conftest.deployed).
"""

from __future__ import annotations

import json

import pytest

from tests.lifecycle.conftest import (
    TIMES,
    Deployed,
    assert_all_complete,
    put_images,
    stacks,
    write_env,
)

# The suite runs in one process, in file order, on one deployed environment (Makefile: a
# pytest run of its own).
pytestmark = pytest.mark.lifecycle

# Added in test_4: a web service and a worker (issue 20) that scales on its SQS queue's depth.
QUEUE = "mail-out"
ADDED = {
    "admin": {"image_tag": "initial", "routing": {"path_patterns": ["/admin", "/admin/*"]}},
    "mailer": {"kind": "worker", "queue": QUEUE, "image_tag": "initial",
               "command": ["python", "-m", "sample_server"]},
}  # fmt: skip
ADDED_STACKS = {f"demo-service-{name}" for name in ADDED}


def templates(deployed: Deployed) -> dict[str, str]:
    cfn = deployed.emulator.client("cloudformation")
    return {
        name: json.dumps(cfn.get_template(StackName=name)["TemplateBody"], sort_keys=True)
        for name in stacks(deployed.emulator)
        if name.startswith("demo-")
    }


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}


def running_tag(deployed: Deployed, service: str) -> str:
    status = deployed.emulator.fargate_env(
        "status", "--env-file", deployed.env_file, "--service", service, "--format", "json"
    )
    assert status.code == 0, status.output
    (row,) = json.loads(status.stdout)
    return row["running_tag"]


def plan(deployed: Deployed, env_file) -> tuple[int, dict]:
    result = deployed.emulator.fargate_env(
        "plan", "--env-file", env_file, "--out", deployed.out.parent / "plan.out",
        "--format", "json",
    )  # fmt: skip
    TIMES["plan"] = result.seconds
    assert result.code in (0, 1), result.output
    return result.code, json.loads(result.stdout)


def test_3_a_tag_shipped_to_one_service_changes_only_its_stack_and_is_kept(deployed):
    emulator = deployed.emulator
    put_images(emulator, ["demo/web"], "B")
    before = templates(deployed)
    ship = emulator.fargate_env("deploy", "--env-file", deployed.env_file, "--service", "web",
                                "--image-tag", "B", "--out", deployed.out)  # fmt: skip
    assert ship.code == 0, ship.output
    assert changed(before, templates(deployed)) == {"demo-service-web"}
    assert running_tag(deployed, "web") == "B"
    # A plain deploy (the file still says "initial") keeps what runs.
    again = emulator.fargate_env("deploy", "--env-file", deployed.env_file, "--out", deployed.out)
    assert again.code == 0, again.output
    assert running_tag(deployed, "web") == "B"
    assert running_tag(deployed, "api") == "initial"


def test_4_new_services_change_only_their_stacks_and_monitoring(deployed, account):
    emulator = deployed.emulator
    emulator.client("sqs").create_queue(QueueName=QUEUE)  # the team's own queue
    with_added = write_env(deployed.env_file.parent / "added.toml", account, {"services": ADDED})
    registry = emulator.fargate_env("deploy", "--env-file", with_added, "--only", "registry",
                                    "--out", deployed.out)  # fmt: skip
    assert registry.code == 0, registry.output
    put_images(emulator, [f"demo/{name}" for name in ADDED], "initial")
    code, planned = plan(deployed, with_added)
    assert code == 1
    actions = {s["stack"]: s["action"] for s in planned["stacks"]}
    assert {actions[stack] for stack in ADDED_STACKS} == {"create"}
    assert actions["demo-monitoring"] == "update"
    expected = ADDED_STACKS | {"demo-monitoring"}
    assert {n for n, a in actions.items() if a != "unchanged"} == expected
    before = templates(deployed)
    deploy = emulator.fargate_env("deploy", "--env-file", with_added, "--out", deployed.out)
    assert deploy.code == 0, deploy.output
    TIMES["deploy adding two services"] = deploy.seconds
    assert changed(before, templates(deployed)) == expected
    assert_all_complete(emulator, expected)
    status = emulator.fargate_env("status", "--env-file", with_added, "--service", "mailer",
                                  "--format", "json")  # fmt: skip
    assert status.code == 0, status.output
    (mailer,) = json.loads(status.stdout)
    assert (mailer["kind"], mailer["running_tag"]) == ("worker", "initial")
    assert mailer["desired"] >= 1


def test_5_a_removed_service_is_named_refused_without_prune_and_pruned(deployed, account):
    emulator = deployed.emulator
    without_api = write_env(deployed.env_file.parent / "no-api.toml", account,
                            {"services": {**ADDED, "api": None}})  # fmt: skip
    code, planned = plan(deployed, without_api)
    assert code == 1
    (orphan,) = [s for s in planned["stacks"] if s["action"] == "delete"]
    assert orphan["stack"] == "demo-service-api" and orphan["monthly_usd"] is not None
    before = templates(deployed)
    refused = emulator.fargate_env("deploy", "--env-file", without_api, "--out", deployed.out)
    assert refused.code == 2, refused.output
    (line,) = [ln for ln in refused.stderr.splitlines() if ln.startswith("error:")]
    assert "demo-service-api" in line and "--prune" in line
    assert templates(deployed) == before, "a refused deploy changed something"
    pruned = emulator.fargate_env("deploy", "--env-file", without_api, "--prune",
                                  "--out", deployed.out)  # fmt: skip
    assert pruned.code == 0, pruned.output
    live = stacks(emulator)
    assert "demo-service-api" not in live
    assert_all_complete(emulator, {n for n in live if n.startswith("demo-")})
