"""run-job: RunTask with the job stack's parameters, a wait for the exit code, exit 0/1/2.

moto runs the tasks; the harness (tests/ops/conftest.py) holds each task where it is and stops
it with the exit code a run gives, as ECS does when the container exits."""

from __future__ import annotations

from pathlib import Path

import pytest
from moto.ecs.models import ecs_backends
from typer.testing import CliRunner

from fargate_env.cli import app
from fargate_env.errors import UserError
from fargate_env.ops.run_job import STARTED_BY, JobTarget, outcome, run_job
from tests.ops.conftest import (
    ACCOUNT,
    JOB,
    REGION,
    WITH_JOB,
    DeployedJob,
    World,
    build_job,
    build_world,
    finish_tasks,
    real_config,
    tasks_held,
    write_env_file,
)

runner = CliRunner()
# Fast polls: the harness stops a run within a fraction of a second.
FAST = {"ops": {"poll_interval_seconds": 0.05}}


@pytest.fixture
def job_world(moto: None) -> tuple[World, DeployedJob]:
    world = build_world(real_config({**WITH_JOB, **FAST}), "https://demo.example", skip=(JOB,))
    return world, build_job(world)


@pytest.fixture
def job_env(tmp_path: Path) -> Path:
    return write_env_file(tmp_path / "job.toml", {**WITH_JOB, **FAST})


def moto_task(arn: str):
    for tasks in ecs_backends[ACCOUNT][REGION].tasks.values():
        if arn in tasks:
            return tasks[arn]
    raise AssertionError(f"no task {arn}")


def test_a_run_uses_the_schedules_task_network_and_capacity(job_world) -> None:
    world, job = job_world
    with finish_tasks(STARTED_BY, 0) as stopped:
        run = run_job(world.aws(), JOB)
    assert run.ok and run.exit_code == 0 and run.reason == ""
    assert stopped == [run.task_arn]
    task = moto_task(run.task_arn)
    assert task.task_definition_arn == job.task_definition
    assert task.capacity_provider_name == "FARGATE_SPOT"
    assert task.network_configuration["awsvpcConfiguration"] == {
        "subnets": job.subnets,
        "securityGroups": [job.security_group],
        "assignPublicIp": "DISABLED",
    }
    assert task.cluster_name == world.cluster
    assert run.log_group == job.log_group


def test_on_demand_capacity_is_passed_through(moto: None) -> None:
    world = build_world(real_config({**WITH_JOB, **FAST}), "https://x.example", skip=(JOB,))
    build_job(world, capacity_provider="FARGATE")
    with finish_tasks(STARTED_BY, 0):
        run = run_job(world.aws(), JOB)
    assert moto_task(run.task_arn).capacity_provider_name == "FARGATE"


def test_a_failing_container_fails_the_run_with_its_exit_code(job_world) -> None:
    world, _ = job_world
    with finish_tasks(STARTED_BY, 3):
        run = run_job(world.aws(), JOB)
    assert not run.ok
    assert run.exit_code == 3
    assert run.reason == "container app exited 3: Essential container in task exited"


def test_a_run_past_the_wait_is_stopped_and_failed(job_world) -> None:
    world, _ = job_world
    with tasks_held():  # nobody stops it: the run never ends by itself
        run = run_job(world.aws(), JOB, timeout_minutes=0.2 / 60)
    assert not run.ok and run.exit_code is None
    assert run.reason.startswith("still running after")
    task = moto_task(run.task_arn)
    assert task.last_status == "STOPPED"
    assert task.stopped_reason.startswith("run-job waited")


def test_outcome_reads_only_essential_containers() -> None:
    task = {
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "app", "exitCode": 0}, {"name": "sidecar", "exitCode": 137}],
    }
    assert outcome(task, {"app"}) == (0, "")
    assert outcome(task, {"app", "sidecar"})[0] == 137
    never = {"stoppedReason": "CannotPullContainerError: not found",
             "containers": [{"name": "app"}]}  # fmt: skip
    assert outcome(never, {"app"}) == (
        None,
        "container app never ran to an exit: CannotPullContainerError: not found",
    )


def test_a_web_service_is_not_a_job(job_world) -> None:
    world, _ = job_world
    with pytest.raises(UserError, match=r"web is a web service, not a job.*\(jobs here: nightly\)"):
        JobTarget.read(world.aws(), "web")


def test_cli_success_prints_exit_code_and_log_group(job_world, job_env: Path) -> None:
    _, job = job_world
    with finish_tasks(STARTED_BY, 0):
        result = runner.invoke(app, ["run-job", JOB, "--env-file", str(job_env)])
    assert result.exit_code == 0, result.output
    assert f"pass: {JOB}: exit code 0 after" in result.output
    assert f"logs: {job.log_group}" in result.output


def test_cli_failure_exits_1_with_the_reason(job_world, job_env: Path) -> None:
    with finish_tasks(STARTED_BY, 1):
        result = runner.invoke(app, ["run-job", JOB, "--env-file", str(job_env)])
    assert result.exit_code == 1, result.output
    assert f"fail: {JOB}: exit code 1 after" in result.output
    assert "reason: container app exited 1" in result.output


def test_cli_not_a_job_is_one_line_exit_2(job_world, job_env: Path) -> None:
    result = runner.invoke(app, ["run-job", "api", "--env-file", str(job_env)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "api is a web service, not a job" in result.output


def test_cli_unknown_name_is_exit_2(job_world, job_env: Path) -> None:
    result = runner.invoke(app, ["run-job", "nope", "--env-file", str(job_env)])
    assert result.exit_code == 2 and "nope" in result.output


def test_cli_missing_job_stack_is_one_line_exit_2(moto: None, job_env: Path) -> None:
    build_world(real_config({**WITH_JOB, **FAST}), "https://demo.example", skip=(JOB,))
    result = runner.invoke(app, ["run-job", JOB, "--env-file", str(job_env)])
    assert result.exit_code == 2
    assert f"stack {real_config(WITH_JOB).service_stack_name(JOB)} not found" in result.output
    # Nothing was started: RunTask comes after every output is read.
    started = [t for tasks in ecs_backends[ACCOUNT][REGION].tasks.values() for t in tasks.values()]
    assert [t for t in started if t.started_by == STARTED_BY] == []


def test_cli_without_credentials_is_one_line_exit_2(no_credentials: None, job_env: Path) -> None:
    result = runner.invoke(app, ["run-job", JOB, "--env-file", str(job_env)])
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output


def test_cli_a_wait_of_zero_is_refused_before_anything_starts(job_env: Path) -> None:
    result = runner.invoke(
        app, ["run-job", JOB, "--env-file", str(job_env), "--timeout-minutes", "0"]
    )
    assert result.exit_code == 2
    assert "--timeout-minutes 0: give a positive number" in result.output
