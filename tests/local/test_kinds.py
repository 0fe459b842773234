"""The rehearsal of an environment with one service of each kind: web calls the backend by
name (Service Connect), the worker runs with no port and passes its container check, the
jobs wait for run-job. On containers when a Docker engine answers, else processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fargate_env.config import EnvironmentConfig
from fargate_env.local.containers import ContainerTask
from fargate_env.local.instances import LocalError, process_command
from fargate_env.local.kinds import connect_rewrite, container_timing
from fargate_env.local.rehearsal import Rehearsal
from fargate_env.local.templates import ContainerCheck, Deployed, read_deployed
from tests.local.conftest import SCALE, make_config
from tests.local.kinds import BACKEND_PORT, KINDS, env_file, kinds_assembly

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from fargate_env.cli import main; main()", "local"]


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    return make_config(KINDS)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    return read_deployed(kinds_assembly(KINDS, tmp_path_factory))


@pytest.fixture(scope="module")
def kinds(
    config: EnvironmentConfig,
    deployed: Deployed,
    runtime: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Rehearsal]:
    lines: list[str] = []
    r = Rehearsal(
        config,
        tasks=1,
        scale=SCALE,
        workdir=tmp_path_factory.mktemp("kinds-run"),
        deployed=deployed,
        runtime=runtime,  # type: ignore[arg-type]
        progress=lines.append,
    )
    r.lines = lines  # type: ignore[attr-defined]
    with r:
        yield r


def test_web_calls_the_backend_by_its_service_connect_name(kinds: Rehearsal) -> None:
    resp = httpx.get(kinds.url + "/upstream", timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # Containers: the URL web was given, resolved by name as in AWS. Processes: the same
    # URL rewritten to the backend's loopback stand-in (connect_notes says so).
    local = kinds.connect_ports.get(("api", BACKEND_PORT))
    want = f"http://api:{BACKEND_PORT}/" if local is None else f"http://127.0.0.1:{local}/"
    assert (local is None) == (kinds.runtime == "docker")
    assert body["upstream"] == want
    assert body["status"] == 200
    assert body["body"]["service"] == "api"  # the backend's own task answered


def test_how_the_backend_is_reached_is_said(kinds: Rehearsal) -> None:
    (note,) = kinds.connect_notes()
    assert note.startswith(f"http://api:{BACKEND_PORT} ")
    assert note in kinds.lines  # type: ignore[attr-defined]


def test_the_backend_and_worker_are_not_behind_the_load_balancer(kinds: Rehearsal) -> None:
    backends = set(kinds.haproxy.backends)
    assert "worker" not in backends and "web" in backends
    # The backend is there only as the processes' Service Connect stand-in.
    assert ("api" in backends) == (kinds.runtime == "process")
    assert httpx.get(kinds.url + "/", timeout=5).json()["service"] == "web"


def test_the_worker_runs_with_no_port_and_its_container_check_passed(kinds: Rehearsal) -> None:
    (task,) = kinds.services["worker"].running.values()
    assert task.alive()
    said = " ".join(kinds.lines)  # type: ignore[attr-defined]
    assert re.search(
        r"worker/task1: container check healthy (after|[\d.]+ s after docker run)", said
    )
    if isinstance(task, ContainerTask):
        assert task.port is None
        # Published nowhere (the image's EXPOSE lists 8080, bound to nothing).
        assert task.inspect("{{json .HostConfig.PortBindings}}") in ("{}", "null")
        assert task.health() == "healthy"


def test_jobs_do_not_run_until_asked(kinds: Rehearsal) -> None:
    assert set(kinds.services) == {"web", "api", "worker"}
    assert not [n for n in kinds.running if n.split("/")[0] in ("nightly", "broken", "sleepy")]


def test_failover_of_a_backend_is_refused_in_one_line(kinds: Rehearsal) -> None:
    with pytest.raises(LocalError, match=r"^api is a backend: this rehearses a web service"):
        kinds.failover("api")


def test_closing_removes_the_network(
    config: EnvironmentConfig, deployed: Deployed, runtime: str, tmp_path: Path
) -> None:
    r = Rehearsal(config, tasks=1, scale=SCALE, workdir=tmp_path, deployed=deployed,
                  runtime=runtime)  # type: ignore[arg-type]  # fmt: skip
    with r:
        network = r.network
        assert (network is not None) == (runtime == "docker")
    if network is not None:
        left = subprocess.run(["docker", "network", "ls", "-q", f"--filter=name={network}"],
                              capture_output=True, text=True)  # fmt: skip
        assert left.stdout.strip() == ""


def test_up_says_what_runs_of_each_kind_in_80_columns(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assembly = kinds_assembly(KINDS, tmp_path_factory)
    proc = subprocess.run(
        [*CLI, "up", "--env-file", str(env_file(KINDS, tmp_path / "kinds.toml")),
         "--assembly", str(assembly), "--tasks", "1", "--time-scale", "0.1",
         "--duration", "0.5"],
        cwd=REPO, env={**os.environ, "COLUMNS": "80"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    out = " ".join(proc.stdout.split())  # unwrapped
    assert "api: a backend, reached as http://api:8080 (Service Connect); healthy by its" in out
    assert "worker: a worker, no port; healthy by its container check" in out
    assert "nightly: a job; not started here (fargate-env local run-job nightly)" in out
    assert "nightly: command python -m sample_server.job" not in out  # jobs: no task line
    assert "http://api:8080 " in out
    assert re.search(
        r"worker/task1: container check healthy (after|[\d.]+ s after docker run)", out
    )
    assert out.endswith("stopped every task and HAProxy")


def test_connect_rewrite_points_only_the_backends_address_at_its_stand_in() -> None:
    env = {
        "UPSTREAM_URL": "http://api:8080/v1?x=1",
        "BARE": "http://api:8080",
        "OTHER_PORT": "http://api:9090/",
        "LONGER_NAME": "http://api-2:8080/",
        "NOT_A_URL": "api:8080",
    }
    out = connect_rewrite(env, {("api", 8080): 41000})
    assert out == {
        "UPSTREAM_URL": "http://127.0.0.1:41000/v1?x=1",
        "BARE": "http://127.0.0.1:41000",
        "OTHER_PORT": "http://api:9090/",
        "LONGER_NAME": "http://api-2:8080/",
        "NOT_A_URL": "api:8080",
    }


def test_a_process_runs_python_commands_and_refuses_others_in_one_line() -> None:
    assert process_command(None, "web") == [sys.executable, "-m", "sample_server"]
    assert process_command(("python3", "-m", "x"), "job") == [sys.executable, "-m", "x"]
    with pytest.raises(LocalError, match=r"^job: its command '/app/run --once' runs only in"):
        process_command(("/app/run", "--once"), "job")


def test_container_timing_follows_the_check_at_scale() -> None:
    check = ContainerCheck(
        ("CMD", "true"), interval_s=10, timeout_s=5, retries=3, start_period_s=20
    )
    t = container_timing(check, 0.1)
    assert (t.interval_s, t.rise, t.fall, t.path) == (1.0, 1, 3, "")
    assert t.registration_bound_s == pytest.approx(2 + 1 * 4)


def test_an_environment_without_a_web_service_rehearses(
    runtime: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A backend and a worker alone: no route, the listener's fixed answer; both run."""
    services = {"api": {"kind": "backend"}, "worker": {"kind": "worker"}}
    config = make_config(services)
    deployed = read_deployed(kinds_assembly(services, tmp_path_factory))
    r = Rehearsal(config, tasks=1, scale=SCALE, workdir=tmp_path, deployed=deployed,
                  runtime=runtime)  # type: ignore[arg-type]  # fmt: skip
    with r:
        assert sorted(r.running) == ["api/task1", "worker/task1"]
        assert all(task.alive() for task in r.running.values())
        assert httpx.get(r.url + "/", timeout=5).status_code == 404
