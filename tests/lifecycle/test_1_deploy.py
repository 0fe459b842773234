"""An environment's first days through the real deploy path on moto's server: the first deploy
(scenario 1), deploys again into the same --out, also after one killed mid-run (2), and
previews (6). Modules run in name order on one environment (conftest.deployed): test_1 ->
test_3 (destroy); test_2 (changes: tags, services added and removed) is on branch
lifecycle-changes until it passes.

Every command is the CDK CLI or `fargate-env` run as a subprocess, as a user runs it. What
moto cannot show is listed in moto_gaps.NOT_EMULATED; the assertions stay on what moto holds
(stacks, their status and outputs, ECS services, ECR repositories).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from fargate_env import outputs
from tests.lifecycle.conftest import (
    DEMO_SERVICES,
    DEMO_STACKS,
    FARGATE_ENV,
    ROOT,
    TIMES,
    assert_all_complete,
    stack_outputs,
    stacks,
)

# The suite runs in one process, in file order, on one deployed environment (Makefile: a
# pytest run of its own).
pytestmark = pytest.mark.lifecycle

# The outputs the ops commands read (src/fargate_env/outputs.py), per stack.
OPS_OUTPUTS = {
    "demo-registry": {
        outputs.per_service(key, service)
        for key in (outputs.REPOSITORY_URI, outputs.REPOSITORY_NAME)
        for service in ("web", "api")
    },
    "demo-platform": {
        outputs.LOAD_BALANCER_DNS, outputs.BASE_URL, outputs.LISTENER_ARN, outputs.CLUSTER_NAME,
    },
    "demo-alerts": {outputs.TOPIC_ARN},
    "demo-service-web": {
        outputs.SERVICE_NAME, outputs.TARGET_GROUP_ARN, outputs.LOG_GROUP_NAME,
        outputs.TASK_ROLE_ARN,
    },
    "demo-monitoring": {outputs.DASHBOARD_URL},
}  # fmt: skip


def test_1_first_deploy_creates_every_stack_with_the_outputs_ops_commands_read(deployed):
    emulator = deployed.emulator
    live = stacks(emulator)
    assert {n: s for n, s in live.items() if n in DEMO_STACKS} == dict.fromkeys(
        DEMO_STACKS, "CREATE_COMPLETE"
    )
    for stack, keys in OPS_OUTPUTS.items():
        found = stack_outputs(emulator, stack)
        assert keys <= set(found), (stack, sorted(keys - set(found)))
    cluster = stack_outputs(emulator, "demo-platform")[outputs.CLUSTER_NAME]
    services = emulator.client("ecs").list_services(cluster=cluster)["serviceArns"]
    assert len(services) == 3  # web, api, orders; a job has no ECS service
    repositories = {r["repositoryName"] for r in
                    emulator.client("ecr").describe_repositories()["repositories"]}  # fmt: skip
    assert {f"demo/{name}" for name in DEMO_SERVICES} <= repositories


def test_1_each_kind_is_deployed_as_its_kind(deployed):
    """Issue 20: the demo's backend answers by name inside the environment and its job is on
    its schedule (EventBridge Scheduler), both as `status` reads them from the emulator."""
    emulator = deployed.emulator
    status = emulator.fargate_env("status", "--env-file", deployed.env_file, "--format", "json")
    assert status.code == 0, status.output
    rows = {row["service"]: row for row in json.loads(status.stdout)}
    assert {n: r["kind"] for n, r in rows.items()} == {
        "web": "web", "api": "web", "orders": "backend", "nightly": "job",
    }  # fmt: skip
    assert rows["orders"]["reach"] == "http://orders:8080"
    assert rows["orders"]["running_tag"] == "initial" and rows["orders"]["desired"] >= 1
    assert rows["nightly"]["running_tag"] == "initial"
    assert rows["nightly"]["schedule"] == "cron(0 3 * * ? *) UTC, enabled"
    # The schedule starts the job's state machine (timeout, retries, exit-code check).
    job = stack_outputs(emulator, "demo-service-nightly")
    scheduler = emulator.client("scheduler")
    (listed,) = scheduler.list_schedules(NamePrefix=job[outputs.SCHEDULE_NAME])["Schedules"]
    schedule = scheduler.get_schedule(Name=listed["Name"], GroupName=listed["GroupName"])
    assert schedule["Target"]["Arn"] == job[outputs.STATE_MACHINE_ARN]


def test_2_a_second_deploy_into_the_same_out_succeeds(deployed):
    """Issue 19: the CLI's `.cache/` in --out refused every deploy after the first."""
    assert (deployed.out / ".cache").is_dir(), "the CDK CLI no longer writes .cache/"
    again = deployed.emulator.fargate_env("deploy", "--env-file", deployed.env_file,
                                          "--out", deployed.out)  # fmt: skip
    assert again.code == 0, again.output
    TIMES["deploy with no change"] = again.seconds
    assert again.output.count("(no changes)") == len(DEMO_STACKS)
    assert_all_complete(deployed.emulator, DEMO_STACKS)


def test_2_a_deploy_after_one_killed_mid_run_succeeds(deployed):
    """The third deploy is killed (SIGKILL to its process group: fargate-env and the CDK CLI)
    once the CLI deploys; it leaves its reader lock in --out. The next deploy succeeds."""
    deploy = subprocess.Popen(
        [str(FARGATE_ENV), "deploy", "--env-file", str(deployed.env_file),
         "--out", str(deployed.out)],
        cwd=ROOT, env=deployed.emulator.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert deploy.stdout is not None
        for line in deploy.stdout:
            seen.append(line)
            if "deploying..." in line or "(no changes)" in line:
                break
    finally:
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait(timeout=30)
    assert any("deploying..." in ln or "(no changes)" in ln for ln in seen), "".join(seen)
    assert list(deployed.out.glob("read.*.lock")), "the killed CLI left no reader lock"
    after = deployed.emulator.fargate_env("deploy", "--env-file", deployed.env_file,
                                          "--out", deployed.out)  # fmt: skip
    assert after.code == 0, after.output
    assert_all_complete(deployed.emulator, DEMO_STACKS)


def test_6_preview_up_list_extend_down(deployed, tmp_path):
    emulator, env_file = deployed.emulator, deployed.env_file
    up = emulator.fargate_env("preview", "up", "pr-7", "--service", "web", "--ttl", "2h",
                              "--env-file", env_file, "--out", tmp_path / "cdk.out")  # fmt: skip
    assert up.code == 0, up.output
    TIMES["preview up"] = up.seconds
    assert "preview pr-7: https://pr-7.preview.demo.example.com" in up.stdout
    assert stacks(emulator).get("demo-preview-pr-7") == "CREATE_COMPLETE"
    listed = emulator.fargate_env("preview", "list", "--env-file", env_file)
    assert listed.code == 0, listed.output
    assert "pr-7" in listed.stdout and "1 of previews.max_active" in listed.stdout
    extended = emulator.fargate_env("preview", "extend", "pr-7", "--ttl", "24h",
                                    "--env-file", env_file)  # fmt: skip
    assert extended.code == 0, extended.output
    assert "preview pr-7 now deletes itself at" in extended.stdout
    down = emulator.fargate_env("preview", "down", "pr-7", "--env-file", env_file)
    assert down.code == 0, down.output
    assert "deleted demo-preview-pr-7" in down.stdout
    assert "demo-preview-pr-7" not in stacks(emulator)
    assert_all_complete(emulator, DEMO_STACKS)
