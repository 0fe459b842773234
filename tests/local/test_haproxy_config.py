"""HAProxy's config is the environment's listener rules and each service's health check."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fargate_env.config import EnvironmentConfig
from fargate_env.local.haproxy import (
    NO_MATCH_BACKEND,
    NO_MATCH_BODY,
    BackendSpec,
    CheckTiming,
    host_condition,
    matcher_regex,
    path_conditions,
    render_config,
)
from fargate_env.local.kinds import container_timing
from fargate_env.local.templates import ContainerCheck
from tests.local.conftest import make_config

# Three services, no default: a host rule with wildcards, a path rule mixing every pattern kind.
TRIO = {
    "web": {"routing": {"path_patterns": ["/", "/static/*"], "priority": 30}},
    "api": {
        "routing": {"path_patterns": ["/api", "/api/*", "/v?/*/items"], "priority": 20},
        "health_check": {"path": "/ready", "matcher": "200-202", "interval_seconds": 30},
    },
    "admin": {"routing": {"host_headers": ["admin.*.test", "adm?n.test"], "priority": 10}},
}


def render(config: EnvironmentConfig, tmp_path: Path, scale: float = 1.0) -> str:
    backends = [
        BackendSpec(name, CheckTiming.from_config(svc.health_check, scale), 3)
        for name, svc in config.services.items()
    ]
    return render_config(
        backends,
        config.routes(),
        config.default_service,
        port=18080,
        socket_path=tmp_path / "s",
    )


def haproxy_check(text: str, tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy must be installed (apt-get install -y haproxy)"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    proc = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + text
    assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def backend_section(text: str, name: str) -> str:
    return text.split(f"\nbackend {name}\n", 1)[1].split("\nbackend ", 1)[0]


def test_timing_from_config_and_scale(demo_config: EnvironmentConfig) -> None:
    hc = demo_config.services["web"].health_check
    full = CheckTiming.from_config(hc)
    assert (full.interval_s, full.timeout_s) == (hc.interval_seconds, hc.timeout_seconds)
    assert (full.rise, full.fall) == (hc.healthy_threshold, hc.unhealthy_threshold)
    assert full.deregistration_delay_s == hc.deregistration_delay_seconds
    assert full.detection_bound_s == hc.interval_seconds * (hc.unhealthy_threshold + 1)
    fast = CheckTiming.from_config(hc, scale=0.1)
    assert fast.interval_s == pytest.approx(hc.interval_seconds / 10)
    assert (fast.rise, fast.fall) == (full.rise, full.fall)  # counts are not scaled


def test_one_service_renders_its_numbers_and_is_valid(tmp_path: Path) -> None:
    config = make_config({"solo": {"routing": {"default": True}}})
    hc = config.services["solo"].health_check
    text = render(config, tmp_path)
    solo = backend_section(text, "solo")
    assert f"option httpchk GET {hc.path}\n" in solo
    assert (
        f"default-server inter {hc.interval_seconds * 1000}ms fall {hc.unhealthy_threshold}"
        f" rise {hc.healthy_threshold}\n"
    ) in solo
    assert f"timeout check {hc.timeout_seconds * 1000}ms\n" in solo
    assert f"http-check expect rstatus {matcher_regex(hc.matcher)}\n" in solo
    assert "server-template task 1-3 " in solo
    # One service with no rule is the default: no rules, no 404 backend.
    assert "    default_backend solo\n" in text
    assert "use_backend" not in text and NO_MATCH_BACKEND not in text
    # The ALB does not retry a failed request on another target.
    assert "retries 0\n" in text and "redispatch" not in text
    assert "bind 127.0.0.1:18080\n" in text
    haproxy_check(text, tmp_path)


def test_demo_renders_valid_with_the_default_last(
    demo_config: EnvironmentConfig, tmp_path: Path
) -> None:
    text = render(demo_config, tmp_path, scale=0.1)
    assert re.search(r"acl r\d+_path path /api\n", text)
    assert re.search(r"acl r\d+_path path_beg /api/\n", text)
    assert re.search(r"use_backend api if r\d+_path\n", text)
    assert text.index("use_backend api") < text.index("default_backend web")
    assert NO_MATCH_BACKEND not in text
    haproxy_check(text, tmp_path)


def test_several_services_each_with_their_check_in_priority_order(tmp_path: Path) -> None:
    config = make_config(TRIO)
    text = render(config, tmp_path)
    # The ALB evaluates the lowest priority first; HAProxy the first use_backend that matches.
    order = [text.index(f"use_backend {name} if") for name in ("admin", "api", "web")]
    assert order == sorted(order)
    api = backend_section(text, "api")
    assert "option httpchk GET /ready\n" in api
    assert "http-check expect rstatus ^(200|201|202)$\n" in api
    assert "default-server inter 30000ms " in api
    assert "default-server inter 10000ms " in backend_section(text, "web")
    # No default service: the listener's fixed 404.
    assert f"    default_backend {NO_MATCH_BACKEND}\n" in text
    assert f'http-request return status 404 content-type text/plain string "{NO_MATCH_BODY}"' in (
        backend_section(text, NO_MATCH_BACKEND)
    )
    assert "http-response set-header X-Served-By %[be_name]/%[srv_name]" in api
    haproxy_check(text, tmp_path)


def test_path_patterns_map_to_exact_prefix_and_regex() -> None:
    assert path_conditions(["/api", "/", "/api/*", "/static*", "/v?/*/items", "/x*y"]) == [
        "path /api /",
        "path_beg /api/ /static",
        r"path_reg ^/v./.*/items$",
        r"path_reg ^/x.*y$",
    ]
    # Regex metacharacters are literal; quotes are escaped for HAProxy's parser.
    assert path_conditions(["/a.b+$*", "/it's\"*"]) == ["path_beg /a.b+$ /it\\'s\\\""]
    assert path_conditions(["/a.b?"]) == [r"path_reg ^/a\\.b.$"]


def test_host_headers_ignore_case_and_port() -> None:
    assert host_condition(["api.example.com", "*.test"]) == (
        r"hdr(host) -m reg -i ^(api\\.example\\.com|.*\\.test)(:[0-9]+)?$"
    )


def test_no_match_body_is_the_listeners() -> None:
    from fargate_env.constructs.load_balancer import NO_MATCH_BODY as PLATFORM_BODY

    assert NO_MATCH_BODY == PLATFORM_BODY


@pytest.mark.parametrize(
    ("matcher", "regex"),
    [
        ("200", "^(200)$"),
        ("200,204", "^(200|204)$"),
        ("200-202", "^(200|201|202)$"),
    ],
)
def test_matcher_regex(matcher: str, regex: str) -> None:
    assert matcher_regex(matcher) == regex


def test_a_backend_run_as_processes_gets_a_loopback_frontend_and_tcp_checks(
    tmp_path: Path,
) -> None:
    """Service Connect's stand-in: 127.0.0.1:PORT balances over the backend's tasks, judged
    by TCP connects at its container check's pace (no target group to copy a check from)."""
    config = make_config({"web": {"routing": {"default": True}}})
    web = BackendSpec("web", CheckTiming.from_config(config.services["web"].health_check), 3)
    check = ContainerCheck(("CMD", "true"), interval_s=10, timeout_s=5, retries=3)
    api = BackendSpec("api", container_timing(check, 0.1), 3, connect_port=18081)
    text = render_config([web, api], config.routes(), "web", port=18080, socket_path=tmp_path / "s")
    assert "\nfrontend connect_api\n    bind 127.0.0.1:18081\n    default_backend api\n" in text
    section = backend_section(text, "api")
    assert "httpchk" not in section and "http-check" not in section
    assert "default-server inter 1000ms fall 3 rise 1\n" in section
    assert "option httpchk GET" in backend_section(text, "web")
    haproxy_check(text, tmp_path)
