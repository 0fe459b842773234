"""GET /upstream: the one configured UPSTREAM_URL, called and reported; nothing else."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from conftest import Server, free_port
from sample_server.app import create_app
from sample_server.settings import Settings, SettingsError
from starlette.testclient import TestClient


def test_upstream_reports_the_configured_services_answer_by_name(
    start_server: Callable[..., Server],
) -> None:
    """One sample server calls another by a name (localhost), as web calls a backend."""
    backend = start_server(SERVICE_NAME="api", APP_VERSION="7")
    web = start_server(SERVICE_NAME="web", UPSTREAM_URL=f"http://localhost:{backend.port}/")
    resp = httpx.get(web.url + "/upstream", timeout=5)
    assert resp.status_code == 200
    body = resp.json()
    assert body["upstream"] == f"http://localhost:{backend.port}/"
    assert body["status"] == 200
    assert body["body"]["service"] == "api"
    assert body["body"]["version"] == "7"


def test_upstream_down_is_502_naming_it(start_server: Callable[..., Server]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    web = start_server(UPSTREAM_URL=url)
    resp = httpx.get(web.url + "/upstream", timeout=5)
    assert resp.status_code == 502
    assert resp.json()["upstream"] == url
    assert "refused" in resp.json()["error"].lower()


def test_upstream_status_passes_through_and_query_is_ignored(
    start_server: Callable[..., Server],
) -> None:
    backend = start_server()
    web = start_server(UPSTREAM_URL=f"http://127.0.0.1:{backend.port}/nowhere")
    # A client cannot steer the call: no URL, host or path from the request is used.
    resp = httpx.get(web.url + "/upstream", params={"url": "http://example.org/"}, timeout=5)
    assert resp.status_code == 200
    assert resp.json()["upstream"] == f"http://127.0.0.1:{backend.port}/nowhere"
    assert resp.json()["status"] == 404


def test_upstream_is_404_when_not_configured() -> None:
    with TestClient(create_app(Settings())) as c:
        assert c.get("/upstream").status_code == 404


def test_upstream_lives_under_the_path_prefix() -> None:
    settings = Settings(path_prefix="/web", upstream_url="http://api:8080/")
    with TestClient(create_app(settings)) as c:
        assert c.get("/upstream").status_code == 404
        assert [r.path for r in c.app.routes if r.path.endswith("/upstream")] == [  # type: ignore[attr-defined]
            "/web/upstream"
        ]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("https://api:8080/", "UPSTREAM_URL must be http://NAME[:PORT][/path]"),
        ("api:8080", "UPSTREAM_URL must be http://NAME[:PORT][/path]"),
        ("http://user:pw@api:8080/", "UPSTREAM_URL must be http://NAME[:PORT][/path]"),
        ("http://api:8080/?to=x", "UPSTREAM_URL must have no query or fragment"),
        ("http://api:99999/", "UPSTREAM_URL has a bad port"),
    ],
)
def test_bad_upstream_url_is_refused(raw: str, error: str) -> None:
    with pytest.raises(SettingsError, match=error.replace("[", r"\[").replace("]", r"\]")):
        Settings.from_env({"UPSTREAM_URL": raw})


def test_upstream_url_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"UPSTREAM_URL": "http://api:8080/", "UPSTREAM_TIMEOUT_SECONDS": "1"}
    )
    assert settings.upstream_url == "http://api:8080/"
    assert settings.upstream_timeout_seconds == 1.0
