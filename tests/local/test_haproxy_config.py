"""HAProxy's config is the environment's health check, number for number."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fargate_env.config import EnvironmentConfig
from fargate_env.local.haproxy import CheckTiming, matcher_regex, render_config


def test_timing_from_config_and_scale(demo_config: EnvironmentConfig) -> None:
    hc = demo_config.health_check
    full = CheckTiming.from_config(hc)
    assert (full.interval_s, full.timeout_s) == (hc.interval_seconds, hc.timeout_seconds)
    assert (full.rise, full.fall) == (hc.healthy_threshold, hc.unhealthy_threshold)
    assert full.deregistration_delay_s == hc.deregistration_delay_seconds
    assert full.detection_bound_s == hc.interval_seconds * (hc.unhealthy_threshold + 1)
    fast = CheckTiming.from_config(hc, scale=0.1)
    assert fast.interval_s == pytest.approx(hc.interval_seconds / 10)
    assert (fast.rise, fast.fall) == (full.rise, full.fall)  # counts are not scaled


def test_render_uses_the_config_numbers(demo_config: EnvironmentConfig, tmp_path: Path) -> None:
    hc = demo_config.health_check
    text = render_config(
        CheckTiming.from_config(hc), port=18080, socket_path=tmp_path / "s", slots=5
    )
    assert f"option httpchk GET {hc.path}\n" in text
    assert (
        f"default-server inter {hc.interval_seconds * 1000}ms fall {hc.unhealthy_threshold}"
        f" rise {hc.healthy_threshold}\n"
    ) in text
    assert f"timeout check {hc.timeout_seconds * 1000}ms\n" in text
    assert f"http-check expect rstatus {matcher_regex(hc.matcher)}\n" in text
    # The ALB does not retry a failed request on another target.
    assert "retries 0\n" in text
    assert "redispatch" not in text
    assert "bind 127.0.0.1:18080\n" in text
    assert "server-template task 1-5 " in text


def test_rendered_config_is_valid_haproxy(demo_config: EnvironmentConfig, tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy must be installed (apt-get install -y haproxy)"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        render_config(
            CheckTiming.from_config(demo_config.health_check, 0.1),
            port=18080,
            socket_path=tmp_path / "s",
            slots=3,
        )
    )
    proc = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


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
