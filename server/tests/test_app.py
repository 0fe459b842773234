"""Unit tests of every endpoint, in process (Starlette's TestClient runs the lifespan)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sample_server.app import CPU_MS_MAX, ServiceState, burn_cpu, create_app
from sample_server.settings import Settings, SettingsError
from starlette.testclient import TestClient

TOKEN = "t0k3n-for-the-cpu-endpoint"


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = Settings(version="1.2.3", service_name="svc", cpu_endpoint_token=TOKEN)
    with TestClient(create_app(settings), headers={"X-Cpu-Token": TOKEN}) as c:
        yield c


def test_health_is_200_json(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_ready_after_startup_then_503_when_draining(client: TestClient) -> None:
    assert client.get("/ready").status_code == 200
    client.app.state.service.draining = True  # type: ignore[attr-defined]
    resp = client.get("/ready")
    assert resp.status_code == 503
    assert resp.json() == {"status": "draining"}
    # Liveness is not readiness: a draining task is still alive.
    assert client.get("/health").status_code == 200


def test_ready_503_while_starting() -> None:
    state = ServiceState()
    app = create_app(Settings(), state)
    with TestClient(app) as c:
        state.starting = True
        resp = c.get("/ready")
    assert resp.status_code == 503
    assert resp.json() == {"status": "starting"}


def test_index_without_metadata(client: TestClient) -> None:
    body = client.get("/").json()
    assert body == {
        "service": "svc",
        "version": "1.2.3",
        "task_id": None,
        "availability_zone": None,
        "cluster": None,
    }


@pytest.fixture
def metadata_uri() -> Iterator[str]:
    """A fake ECS task metadata endpoint v4 on loopback."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/v4/abc/task":
                self.send_error(404)
                return
            body = json.dumps(
                {
                    "Cluster": "arn:aws:ecs:us-east-1:111122223333:cluster/demo",
                    "TaskARN": "arn:aws:ecs:us-east-1:111122223333:task/demo/0123456789abcdef",
                    "AvailabilityZone": "us-east-1b",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v4/abc"
    server.shutdown()
    server.server_close()


def test_index_reads_task_metadata(metadata_uri: str) -> None:
    app = create_app(Settings(metadata_uri=metadata_uri, version="9"))
    with TestClient(app) as c:
        # /ready turns 200 only once the metadata fetch has finished.
        for _ in range(200):
            if c.get("/ready").status_code == 200:
                break
            threading.Event().wait(0.01)
        body = c.get("/").json()
    assert body["task_id"] == "0123456789abcdef"
    assert body["availability_zone"] == "us-east-1b"
    assert body["cluster"] == "arn:aws:ecs:us-east-1:111122223333:cluster/demo"
    assert body["version"] == "9"


def test_index_survives_unreachable_metadata() -> None:
    app = create_app(Settings(metadata_uri="http://127.0.0.1:9/v4/x"))
    with TestClient(app) as c:
        for _ in range(300):
            if c.get("/ready").status_code == 200:
                break
            threading.Event().wait(0.01)
        assert c.get("/ready").status_code == 200
        assert c.get("/").json()["task_id"] is None


def test_cpu_burns_requested_time(client: TestClient) -> None:
    body = client.get("/cpu?ms=30").json()
    assert body["requested_ms"] == 30
    assert 30 <= body["cpu_ms"] < 60


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?ms=",
        "?ms=0",
        "?ms=-5",
        f"?ms={CPU_MS_MAX + 1}",
        "?ms=abc",
        "?ms=1.5",
        "?ms=1e3",
        "?ms=%ff",
        "?ms=99999999999999999999999",
    ],
)
def test_cpu_rejects_bad_values(client: TestClient, query: str) -> None:
    resp = client.get("/cpu" + query)
    assert resp.status_code == 400, resp.text
    assert "error" in resp.json()


def test_burn_cpu_measures_cpu_time() -> None:
    assert 20 <= burn_cpu(20) < 40


def test_unknown_path_and_method(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert client.post("/health").status_code == 405
    assert client.request("BREW", "/").status_code == 405


def test_access_log_skips_probes(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="sample_server.access")
    client.get("/health")
    client.get("/ready")
    client.get("/?x=1")
    records = [r for r in caplog.records if r.name == "sample_server.access"]
    assert len(records) == 1
    assert records[0].path == "/"  # type: ignore[attr-defined]
    assert records[0].status == 200  # type: ignore[attr-defined]
    assert records[0].query == "x=1"  # type: ignore[attr-defined]


def test_settings_from_env() -> None:
    s = Settings.from_env({"PORT": "9000", "APP_VERSION": "v7", "LOG_LEVEL": "debug"})
    assert (s.port, s.version, s.log_level) == (9000, "v7", "DEBUG")
    assert Settings.from_env({}).port == 8080
    for bad in ({"PORT": "http"}, {"PORT": "70000"}, {"LOG_LEVEL": "loud"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


@pytest.fixture
def prefixed() -> Iterator[TestClient]:
    env = {"PATH_PREFIX": "/api", "SERVICE_NAME": "svc", "CPU_ENDPOINT_TOKEN": TOKEN}
    with TestClient(create_app(Settings.from_env(env)), headers={"X-Cpu-Token": TOKEN}) as c:
        yield c


def test_path_prefix_moves_app_routes_under_it(prefixed: TestClient) -> None:
    resp = prefixed.get("/api/")
    assert resp.status_code == 200
    assert resp.json()["service"] == "svc"
    assert prefixed.get("/api/cpu?ms=1").status_code == 200
    # The ALB does not strip the prefix, so unprefixed app routes are someone else's paths.
    assert prefixed.get("/").status_code == 404
    assert prefixed.get("/cpu?ms=1").status_code == 404


def test_path_prefix_keeps_probes_at_root_and_under_it(prefixed: TestClient) -> None:
    for path in ("/health", "/api/health", "/ready", "/api/ready"):
        assert prefixed.get(path).status_code == 200, path


def test_access_log_skips_prefixed_probes(
    prefixed: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="sample_server.access")
    for path in ("/health", "/api/health", "/ready", "/api/ready", "/api/"):
        prefixed.get(path)
    paths = [r.path for r in caplog.records if r.name == "sample_server.access"]  # type: ignore[attr-defined]
    assert paths == ["/api/"]


@pytest.mark.parametrize("prefix", ["/api", "/team-a/api.v2", "/_~x"])
def test_path_prefix_accepts(prefix: str) -> None:
    assert Settings.from_env({"PATH_PREFIX": prefix}).path_prefix == prefix
    assert Settings.from_env({}).path_prefix == ""


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("api", "must start with '/'"),
        ("/api/", "must not end with '/'"),
        ("/", "must not end with '/'"),
        ("/a//b", "segment"),
        ("/a b", "segment"),
        ("/a?b", "segment"),
        ("/../etc", "segment"),
        ("/a/.", "segment"),
    ],
)
def test_path_prefix_rejects(prefix: str, problem: str) -> None:
    with pytest.raises(SettingsError, match="PATH_PREFIX") as info:
        Settings.from_env({"PATH_PREFIX": prefix})
    assert problem in str(info.value)
    assert repr(prefix) in str(info.value)


def test_cpu_is_off_without_a_token() -> None:
    with TestClient(create_app(Settings()), headers={"X-Cpu-Token": TOKEN}) as c:
        not_found = c.get("/nope")
        for method in ("GET", "POST"):
            resp = c.request(method, "/cpu?ms=1")
            assert resp.status_code == 404, method
            assert resp.json() == not_found.json()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "wrong-token-of-some-length",
        TOKEN[:-1],
        TOKEN + "x",
        TOKEN.upper(),
        " " + TOKEN + "x",
        "t\u00f6ken-non-ascii-value",
    ],
)
def test_cpu_without_the_right_token_is_404_like_any_unknown_path(header: str | None) -> None:
    settings = Settings(cpu_endpoint_token=TOKEN)
    with TestClient(create_app(settings)) as c:
        headers = {} if header is None else {"X-Cpu-Token": header.encode()}
        not_found = c.get("/nope")
        for method in ("GET", "POST"):
            resp = c.request(method, "/cpu?ms=500", headers=headers)
            assert resp.status_code == 404, method
            assert resp.json() == not_found.json()


def test_cpu_with_the_right_token_checks_the_method(client: TestClient) -> None:
    resp = client.post("/cpu?ms=1")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET"


def test_cpu_token_setting() -> None:
    assert Settings.from_env({}).cpu_endpoint_token is None
    assert Settings.from_env({"CPU_ENDPOINT_TOKEN": ""}).cpu_endpoint_token is None
    settings = Settings.from_env({"CPU_ENDPOINT_TOKEN": TOKEN})
    assert settings.cpu_endpoint_token == TOKEN
    assert TOKEN not in repr(settings)
    for bad in ("short", "has a space in it ok", "tab\there-and-long-enough", "\u00e9" * 20):
        with pytest.raises(SettingsError, match=r"^CPU_ENDPOINT_TOKEN must") as info:
            Settings.from_env({"CPU_ENDPOINT_TOKEN": bad})
        assert bad not in str(info.value)  # a secret is never echoed


def test_fault_status_fails_app_routes_but_not_the_probes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="sample_server.access")
    env = {"FAULT_STATUS": "500", "PATH_PREFIX": "/api", "CPU_ENDPOINT_TOKEN": TOKEN}
    with TestClient(create_app(Settings.from_env(env)), headers={"X-Cpu-Token": TOKEN}) as c:
        for path in ("/api/", "/api/cpu?ms=1", "/api/nope"):
            resp = c.get(path)
            assert resp.status_code == 500, path
            assert "FAULT_STATUS" in resp.json()["error"]
        for path in ("/health", "/api/health", "/ready", "/api/ready"):
            assert c.get(path).status_code == 200, path
    # The access log shows what the client got.
    statuses = [r.status for r in caplog.records if r.name == "sample_server.access"]  # type: ignore[attr-defined]
    assert statuses == [500, 500, 500]


def test_fault_status_setting_is_off_by_default_and_an_error_status() -> None:
    assert Settings.from_env({}).fault_status is None
    assert Settings.from_env({"FAULT_STATUS": ""}).fault_status is None
    assert Settings.from_env({"FAULT_STATUS": "503"}).fault_status == 503
    for bad in ("200", "abc", "600"):
        with pytest.raises(SettingsError, match="FAULT_STATUS"):
            Settings.from_env({"FAULT_STATUS": bad})
    with TestClient(create_app(Settings())) as c:
        assert c.get("/").status_code == 200
