"""status and the running image a deploy keeps: ECS DescribeServices -> task definition -> tag."""

from __future__ import annotations

import boto3
import pytest

from fargate_env.ops.aws import Aws
from fargate_env.ops.status import image_tag, keep_running_tags, service_status
from tests.ops.conftest import (
    ACCOUNT,
    API,
    JOB,
    REGION,
    WEB,
    WITH_JOB,
    World,
    build_job,
    build_world,
    merge,
    real_config,
    stop_tasks,
    tasks_held,
)


def run_tag(world: World, service: str, tag: str) -> None:
    """What a deploy of `tag` leaves: a new task definition revision the ECS service runs."""
    ecs = boto3.client("ecs", region_name=REGION)
    repository = world.config.repository_name(service)
    family = f"{world.config.name}-{service}"
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}"
    arn = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "log-router", "image": "public.ecr.aws/aws-observability/fluent:2"},
            {"name": "app", "image": image, "memory": 512},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(
        cluster=world.cluster, service=world.services[service].service, taskDefinition=arn
    )


@pytest.fixture
def both(moto: None) -> World:
    world = build_world(real_config(), "https://demo.example")
    run_tag(world, WEB, "B")
    run_tag(world, API, "initial")
    return world


def test_status_rows_show_file_and_running_tag_counts_and_last_deployment(both) -> None:
    rows = {row.service: row for row in service_status(both.aws())}
    assert list(rows) == [WEB, API]
    web = rows[WEB].to_json()
    assert web["file_tag"] == "initial" and web["running_tag"] == "B"
    described = boto3.client("ecs", region_name=REGION).describe_services(
        cluster=both.cluster, services=[both.services[WEB].service]
    )["services"][0]
    assert (web["desired"], web["running"]) == (2, described["runningCount"])
    assert web["last_deployment"]["status"] == "PRIMARY"
    assert web["last_deployment"]["updated"]  # ISO time of the newest deployment
    assert rows[API].running_tag == "initial"


def test_a_service_without_a_stack_is_not_deployed(moto) -> None:
    world = build_world(real_config(), "https://demo.example", running=0, skip=(API,))
    run_tag(world, WEB, "B")
    api = {row.service: row for row in service_status(world.aws())}[API]
    assert api.to_json() == {
        "service": API,
        "kind": "web",
        "file_tag": "initial",
        "running_tag": None,
        "desired": 0,
        "running": 0,
        "last_deployment": None,
    }


def test_nothing_is_deployed_without_the_platform_stack(moto) -> None:
    rows = service_status(Aws.for_environment(real_config()))
    assert [(r.service, r.running_tag, r.deployed) for r in rows] == [
        (WEB, None, False),
        (API, None, False),
    ]


def test_deploy_keeps_each_deployed_service_on_its_running_tag(both) -> None:
    aws = both.aws()
    config, kept = keep_running_tags(aws, aws.config, except_service=None)
    assert config.services[WEB].image_tag == "B"
    assert config.services[API].image_tag == "initial"
    assert [(k.service, k.tag, k.file_tag) for k in kept] == [(WEB, "B", "initial")]


def test_the_service_given_image_tag_is_not_kept(both) -> None:
    aws = both.aws()
    config, kept = keep_running_tags(aws, aws.config, except_service=WEB)
    assert config.services[WEB].image_tag == "initial" and kept == []


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("1.dkr.ecr.us-east-1.amazonaws.com/demo/web:B", "B"),
        ("localhost:5000/demo/web:v1.2", "v1.2"),
        ("1.dkr.ecr.us-east-1.amazonaws.com/demo/web@sha256:abc", None),
        ("sample", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


URI_API = {
    "services": {API: {"image": {"build": None, "uri": "ghcr.io/acme/api:1.4"}, "image_tag": None}}
}


def test_a_uri_service_runs_what_its_file_names_and_is_not_kept(moto) -> None:
    config = real_config(URI_API)
    world = build_world(config, "https://demo.example")
    run_tag(world, WEB, "B")
    ecs = boto3.client("ecs", region_name=REGION)
    arn = ecs.register_task_definition(
        family="demo-api",
        containerDefinitions=[{"name": "app", "image": "ghcr.io/acme/api:1.3", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(
        cluster=world.cluster, service=world.services[API].service, taskDefinition=arn
    )
    rows = {row.service: row for row in service_status(world.aws())}
    assert (rows[API].file_tag, rows[API].running_tag) == ("1.4", "1.3")
    kept_config, kept = keep_running_tags(world.aws(), config, except_service=None)
    assert [k.service for k in kept] == [WEB]  # the uri service deploys what the file names
    assert kept_config.services[API].image.uri == "ghcr.io/acme/api:1.4"


BACKEND = {"services": {"orders": {"kind": "backend", "container_port": 9000}}}


def test_a_backend_row_says_where_it_is_reached(moto) -> None:
    world = build_world(real_config(BACKEND), "https://demo.example")
    orders = {row.service: row for row in service_status(world.aws())}["orders"]
    assert (orders.kind, orders.deployed, orders.reach) == ("backend", True, "http://orders:9000")
    assert orders.to_json()["reach"] == "http://orders:9000"


def run_once(world: World, exit_code: int) -> None:
    """One run of the job as its schedule starts it, ended with `exit_code`."""
    job = build_job(world)
    boto3.client("ecs", region_name=REGION).run_task(
        cluster=world.cluster,
        taskDefinition=job.task_definition,
        startedBy="events-rule",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": job.subnets,
                                                      "securityGroups": [job.security_group]}},
    )  # fmt: skip
    stop_tasks("events-rule", exit_code)


def test_a_job_row_has_its_schedule_running_tag_and_last_run(moto) -> None:
    world = build_world(real_config(WITH_JOB), "https://demo.example", skip=(JOB,))
    with tasks_held():
        run_once(world, 2)
        row = {row.service: row for row in service_status(world.aws())}[JOB]
    assert (row.kind, row.deployed, row.running_tag) == ("job", True, "initial")
    assert row.schedule.describe() == "cron(0 3 * * ? *) UTC, enabled"
    assert (row.last_run.running, row.last_run.exit_code, row.last_run.ok) == (False, 2, False)
    assert row.to_json()["last_run"]["exit_code"] == 2
    assert row.to_json()["schedule"] == "cron(0 3 * * ? *) UTC, enabled"


def test_a_job_without_its_stack_is_not_deployed(moto) -> None:
    world = build_world(real_config(WITH_JOB), "https://demo.example", skip=(JOB,))
    row = {row.service: row for row in service_status(world.aws())}[JOB]
    assert (row.deployed, row.schedule, row.last_run) == (False, None, None)


def test_a_deploy_keeps_the_tag_a_job_runs(moto) -> None:
    """A job has no ECS service: its running tag is its task definition's."""
    next_tag = {"services": {JOB: {"image_tag": "next"}}}
    world = build_world(real_config(merge(WITH_JOB, next_tag)), "https://x.example", skip=(JOB,))
    build_job(world)  # runs :initial
    aws = world.aws()
    kept_config, kept = keep_running_tags(aws, aws.config, except_service=None)
    assert [(k.service, k.tag, k.file_tag) for k in kept] == [(JOB, "initial", "next")]
    assert kept_config.services[JOB].image_tag == "initial"


def test_status_table_shows_kinds_the_backends_address_and_the_jobs_schedule(
    moto, tmp_path
) -> None:
    from typer.testing import CliRunner

    from fargate_env.cli import app
    from tests.ops.conftest import write_env_file

    both = merge(WITH_JOB, BACKEND)
    world = build_world(real_config(both), "https://demo.example", skip=(JOB,))
    with tasks_held():
        run_once(world, 1)
        result = CliRunner().invoke(
            app, ["status", "--env-file", str(write_env_file(tmp_path / "k.toml", both))]
        )
    assert result.exit_code == 0, result.output
    assert "orders: reached at http://orders:9000 inside the environment" in result.stdout
    assert f"{JOB}: cron(0 3 * * ? *) UTC, enabled" in result.stdout
    assert "last run: container app exited 1" in result.stdout
    assert "run: exit 1" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
