"""The built image, run with `docker run`: its user, a read-only root, its own HEALTHCHECK, a
graceful `docker stop`, a clean failure on a bad PORT, and what its venv holds.

Needs a Docker engine and sample-server:local (`make image`; built here when missing). With no
engine the tests skip, except under CI=true, where a missing engine or image fails them.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parents[2]
IMAGE = "sample-server:local"
IN_CI = os.environ.get("CI") == "true"
# /cpu may require a token (CPU_ENDPOINT_TOKEN + X-Cpu-Token); sending both works either way.
# The server refuses a token shorter than 16 characters (settings.CPU_TOKEN_MIN_LEN).
CPU_TOKEN = "t0k3n-for-the-cpu-endpoint"


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def engine_problem() -> str | None:
    """Why no Docker engine can be used, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 20 s"
    if info.returncode != 0:
        lines = info.stderr.strip().splitlines()
        return "no Docker engine answers (" + (lines[-1] if lines else "docker info failed") + ")"
    return None


def image_exists() -> bool:
    return docker("image", "inspect", IMAGE, check=False).returncode == 0


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true needs a Docker engine: {problem}")
        pytest.skip(f"{problem}; start dockerd to run the image tests")
    if IN_CI:
        assert image_exists(), f"CI=true expects {IMAGE} (run `make image` first)"
        return IMAGE
    # One build for all xdist workers: the others wait on the lock, then find the image.
    lock = Path(tempfile.gettempdir()) / "fargate-env-image-build.lock"
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not image_exists():
            build = subprocess.run(
                [str(REPO / "scripts" / "build-image.sh")],
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert build.returncode == 0, f"make image failed:\n{build.stderr[-3000:]}"
    assert image_exists()
    return IMAGE


class Containers:
    """Starts uniquely named containers; the fixture removes every one of them."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.names: list[str] = []

    def name(self) -> str:
        name = f"fargate-env-test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        return name

    def run(self, *options: str, command: tuple[str, ...] = ()) -> tuple[str, str]:
        """`docker run -d` on 127.0.0.1:<free port>; returns (name, base URL)."""
        name, port = self.name(), free_port()
        docker(
            "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080",
            *options, self.image, *command,
        )  # fmt: skip
        return name, f"http://127.0.0.1:{port}"

    def oneshot(self, *options: str, command: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        """`docker run` in the foreground (bounded); the container is kept for its logs."""
        return docker("run", "--name", self.name(), *options, self.image, *command, check=False)


@pytest.fixture
def containers(image: str) -> Iterator[Containers]:
    started = Containers(image)
    yield started
    if started.names:
        docker("rm", "-f", *started.names, check=False)


def inspect(name: str, template: str) -> str:
    return docker("inspect", "-f", template, name).stdout.strip()


def inspect_image(image: str, template: str) -> str:
    return docker("image", "inspect", "-f", template, image).stdout.strip()


def wait_ready(name: str, url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if inspect(name, "{{.State.Running}}") != "true":
            pytest.fail(f"{name} exited: {docker('logs', name).stderr}")
        time.sleep(0.05)
    pytest.fail(f"{name} not ready after {timeout} s: {docker('logs', name).stdout}")


def test_the_server_runs_as_uid_10001(containers: Containers) -> None:
    assert inspect_image(containers.image, "{{.Config.User}}") == "10001"
    name, url = containers.run()
    wait_ready(name, url)
    status = docker("exec", name, "cat", "/proc/1/status").stdout
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M)
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M)
    assert uids and uids.group(1).split() == ["10001"] * 4
    assert gids and gids.group(1).split() == ["10001"] * 4


PROBE_WRITES = """
import errno, sys
for path in sys.argv[1:]:
    try:
        open(path, "w").close()
        print(path, "written")
    except OSError as exc:
        print(path, errno.errorcode[exc.errno])
"""


def test_read_only_root_refuses_writes_with_erofs(containers: Containers) -> None:
    probe = ("python", "-c", PROBE_WRITES, "/probe", "/tmp/probe")
    ro = containers.oneshot("--read-only", "--cap-drop", "ALL", command=probe)
    assert ro.returncode == 0, ro.stderr
    assert ro.stdout.split("\n")[:2] == ["/probe EROFS", "/tmp/probe EROFS"]
    # The control: without --read-only, /tmp takes the write (so EROFS above is the mount's
    # doing), and / is closed to uid 10001 anyway.
    rw = containers.oneshot(command=probe)
    assert rw.stdout.split("\n")[:2] == ["/probe EACCES", "/tmp/probe written"]


def test_turns_healthy_by_its_own_healthcheck(containers: Containers) -> None:
    # As ECS runs it: read-only root, no capabilities, the image's HEALTHCHECK untouched.
    name, url = containers.run("--read-only", "--cap-drop", "ALL")
    wait_ready(name, url)
    check = json.loads(inspect_image(containers.image, "{{json .Config.Healthcheck}}"))
    interval = check["Interval"] / 1e9  # nanoseconds
    deadline = time.monotonic() + interval * 3 + 10
    status = ""
    while time.monotonic() < deadline:
        status = inspect(name, "{{.State.Health.Status}}")
        if status != "starting":
            break
        time.sleep(0.25)
    health = json.loads(inspect(name, "{{json .State.Health}}"))
    assert status == "healthy", health
    assert health["Log"][-1]["ExitCode"] == 0


def test_docker_stop_answers_the_request_in_flight_and_exits_0(containers: Containers) -> None:
    # At a quarter CPU, 600 ms of CPU take ~2.4 s of wall time: the stop lands mid-request.
    name, url = containers.run("--cpus", "0.25", "-e", f"CPU_ENDPOINT_TOKEN={CPU_TOKEN}")
    wait_ready(name, url)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(
            httpx.get, url + "/cpu?ms=600", headers={"X-Cpu-Token": CPU_TOKEN}, timeout=30
        )
        time.sleep(0.5)
        assert not slow.done(), "the slow request finished before the stop"
        stop = docker("stop", "--time", "25", name, timeout=40)
        response = slow.result(timeout=30)
    assert stop.returncode == 0
    assert response.status_code == 200, response.text
    assert response.json()["requested_ms"] == 600
    assert inspect(name, "{{.State.ExitCode}}") == "0"
    events = [json.loads(line) for line in docker("logs", name).stdout.splitlines()]
    draining = [e for e in events if e["msg"] == "draining"]
    assert draining and draining[0]["in_flight"] == 1, events


def test_a_bad_port_exits_non_zero_with_one_clean_line(containers: Containers) -> None:
    run = containers.oneshot("-e", "PORT=abc")
    assert run.returncode not in (0, 125, 126, 127), run.stderr  # 125+: docker's own failures
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "PORT" in lines[0] and "abc" in lines[0]
    assert "Traceback" not in lines[0]


def test_the_venv_holds_the_locked_versions_and_no_installers(image: str) -> None:
    listing = docker(
        "run", "--rm", "--read-only", "--entrypoint", "python", image, "-c",
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
    )  # fmt: skip
    installed = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in json.loads(listing.stdout).items()
    }
    assert not {"pip", "setuptools", "wheel"} & installed.keys(), installed
    ours = tomllib.loads((REPO / "server" / "pyproject.toml").read_text())["project"]
    assert installed.pop("sample-server") == ours["version"]
    lock = {}
    for pin in (REPO / "requirements.lock").read_text().split():
        name, _, version = pin.partition("==")
        lock[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert installed == {name: lock.get(name) for name in installed}
