"""`fargate-env local deploy --strategy canary`: the rollback alarm's rule on the rehearsal's
own counts, and a canary deploy of one service under load, with a bad new version
(FAULT_STATUS=500: app routes fail, probes pass) and a good one. Durations x0.05: a 3-minute
bake is 9 s, a 60-second alarm period 3 s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_env.config import EnvironmentConfig, parse_config
from fargate_env.local.canary import RateRule, canary_weights
from fargate_env.local.rehearsal import Rehearsal
from fargate_env.local.templates import Deployed

from .conftest import deployed_of, rehearsal_of

SCALE = 0.05
RATE = 100  # requests/s on each service: 20 % of it is 60 canary requests per 3 s period
CERTIFICATE = "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-4000-8000-000000000000"
CANARY = {
    "web": {
        "routing": {"default": True},
        "deployment": {
            "strategy": "canary",
            "canary_percent": 20,
            "canary_bake_minutes": 3,
            "rollback_min_requests": 20,
        },
    },
}


def test_rate_rule_is_the_alarms() -> None:
    rule = RateRule(threshold_percent=5, min_requests=20, periods=3, datapoints=2, period_s=60)
    assert rule.rate(errors=1, answered=19) == 0  # under the minimum: quiet
    assert rule.rate(errors=1, answered=20) == 5
    assert rule.breaching([5, 0, 5])  # 2 of the last 3 at the threshold
    assert not rule.breaching([5, 0, 0, 5])  # only 1 of the last 3
    assert not rule.breaching([4.9, 100])
    assert canary_weights(10) == (180, 20)
    assert canary_weights(0.1) == (199, 1)  # never 0: the canary must get requests


@pytest.fixture(scope="module")
def canary_config() -> EnvironmentConfig:
    # A traffic-shifting strategy needs the HTTPS listener: a placeholder certificate (the
    # rehearsal serves plain HTTP either way).
    return parse_config(
        {
            "name": "local-test",
            "region": "us-east-1",
            "load_balancer": {"certificate_arn": CERTIFICATE},
            "services": CANARY,
        }
    )


@pytest.fixture(scope="module")
def canary_deployed(
    canary_config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory
) -> Deployed:
    return deployed_of(canary_config, tmp_path_factory)


@pytest.fixture
def rehearsal(
    canary_config: EnvironmentConfig, canary_deployed: Deployed, runtime: str, tmp_path: Path
) -> Iterator[Rehearsal]:
    with rehearsal_of(canary_config, canary_deployed, runtime, tmp_path, SCALE) as r:
        yield r


def test_a_failing_new_version_is_rolled_back_and_the_old_one_fails_nothing(
    rehearsal: Rehearsal,
) -> None:
    report = rehearsal.canary("web", new_env={"FAULT_STATUS": "500"}, load_rate=RATE)
    load = report.load
    assert load is not None
    failed = load.failed()
    print(
        f"\ncanary (bad): {report.share_percent:g} %, old {report.served(report.old)},"
        f" new {report.served(report.new)}, failed {len(failed)}, rolled back after"
        f" {report.decided_s:.2f} s, periods {[p.rate for p in report.periods]}"
    )
    assert report.rolled_back
    assert report.share_percent == 20
    # The alarm's rule decided: 2 breaching periods of 3 s, before the 9 s bake ended.
    assert [p.rate for p in report.periods] == [100, 100]
    assert report.decided_s < report.bake_s
    # Every failure was a new-version task's 500; the old version failed nothing.
    assert failed and {s.status for s in failed} == {500}
    assert report.failed_outside_canary() == 0
    assert {s.served_by for s in failed} <= set(report.new)
    # The new tasks got about their share while they had one.
    share = report.served(report.new) / (report.served(report.new) + report.served(report.old))
    assert 0.05 < share < 0.3
    # The new version is gone; the old tasks serve alone, exited cleanly.
    assert sorted(rehearsal.services["web"].running) == sorted(report.old)
    assert [r.slot for r in report.retired] == report.new
    assert all(r.exit_code == 0 for r in report.retired)
    last = max(s.t for s in load.samples)
    assert {s.served_by for s in load.samples if s.t > last - 0.3} <= set(report.old)


def test_a_good_new_version_is_promoted_with_no_failed_request(rehearsal: Rehearsal) -> None:
    report = rehearsal.canary("web", new_env={"LOG_LEVEL": "WARNING"}, load_rate=RATE)
    load = report.load
    assert load is not None
    print(
        f"\ncanary (good): {report.share_percent:g} %, old {report.served(report.old)},"
        f" new {report.served(report.new)}, failed {len(load.failed())}, promoted after"
        f" {report.decided_s:.2f} s, periods {[p.rate for p in report.periods]}"
    )
    assert not report.rolled_back
    assert load.failed() == []
    assert len(report.periods) == 3  # the whole bake was watched
    assert all(p.answered >= 20 and p.rate == 0 for p in report.periods)
    assert report.decided_s >= report.bake_s
    assert sorted(rehearsal.services["web"].running) == sorted(report.new)
    assert [r.slot for r in report.retired] == report.old
    assert all(r.exit_code == 0 for r in report.retired)
    last = max(s.t for s in load.samples)
    assert {s.served_by for s in load.samples if s.t > last - 0.3} <= set(report.new)
