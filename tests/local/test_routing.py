"""Requests through the HAProxy reach the service the synthesized listener rules name (real
tasks: containers or processes, conftest.runtime)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fargate_env.local.haproxy import NO_MATCH_BODY
from fargate_env.local.rehearsal import Rehearsal, route_of
from tests.local.conftest import SCALE, deployed_of, make_config

ROUTED = {
    "web": {"routing": {"default": True}},
    "api": {"routing": {"path_patterns": ["/ready", "/cpu*", "/h?alth"], "priority": 20}},
    "admin": {"routing": {"host_headers": ["*.admin.test"], "priority": 10}},
}

# (Host header, path) -> the service that must answer.
CASES = [
    (None, "/", "web"),
    (None, "/ready", "api"),
    (None, "/cpu?ms=1", "api"),  # prefix rule; the query string is not part of the path
    (None, "/health", "api"),  # `?` is one character
    (None, "/hXXalth", "web"),  # ... exactly one
    (None, "/READY", "web"),  # paths are case-sensitive
    ("ops.admin.test", "/", "admin"),
    ("X.Admin.TEST:8443", "/health", "admin"),  # hosts are not; the port does not count
    ("ops.admin.test", "/ready", "admin"),  # priority 10 is evaluated before 20
    ("admin.test", "/ready", "api"),  # `*.` needs a label before the dot
]


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> Iterator[Rehearsal]:
    config = make_config(ROUTED)
    with Rehearsal(
        config,
        tasks=1,
        scale=SCALE,
        workdir=tmp_path_factory.mktemp("routed"),
        deployed=deployed_of(config, tmp_path_factory),
        runtime=runtime,  # type: ignore[arg-type]
    ) as r:
        yield r


@pytest.mark.parametrize(("host", "path", "service"), CASES)
def test_request_reaches_the_routed_service(
    routed: Rehearsal, host: str | None, path: str, service: str
) -> None:
    headers = {"Host": host} if host else {}
    response = httpx.get(routed.url + path, headers=headers, timeout=5)
    assert response.headers["x-served-by"] == f"{service}/task1"
    # The model of the ALB's rules agrees with the HAProxy config, and the synthesized rules
    # with the config's.
    assert route_of(routed.routes, host, path.split("?")[0]) == service
    assert route_of(routed.config.routes(), host, path.split("?")[0]) == service
    if path == "/":
        assert response.json()["service"] == service  # SERVICE_NAME, as the task gets it


def test_unmatched_request_is_the_fixed_404_without_a_default(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, runtime: str
) -> None:
    config = make_config({"api": ROUTED["api"], "admin": ROUTED["admin"]})
    deployed = deployed_of(config, tmp_path_factory)
    # The listener's fixed response, read from the platform stack's template.
    assert deployed.no_match == (404, NO_MATCH_BODY)
    with Rehearsal(
        config,
        tasks=1,
        scale=SCALE,
        workdir=tmp_path,
        deployed=deployed,
        runtime=runtime,  # type: ignore[arg-type]
    ) as r:
        assert httpx.get(r.url + "/ready", timeout=5).headers["x-served-by"] == "api/task1"
        response = httpx.get(r.url + "/", timeout=5)
        assert response.status_code == 404
        assert response.text == NO_MATCH_BODY
        assert "x-served-by" not in response.headers
        assert route_of(r.routes, None, "/") is None
