"""Two services behind a real HAProxy with their own health checks (durations x0.1), under
paced load on both routes at once."""

from __future__ import annotations

from pathlib import Path

from fargate_env.local.rehearsal import Rehearsal

RATE = 100  # requests/s on each service


def cgroup_of(pid: int, controller: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return ""


def test_every_service_runs_its_tasks_capped_or_says_uncapped(pair: Rehearsal) -> None:
    assert sorted(pair.running) == ["api/task1", "api/task2", "web/task1", "web/task2"]
    for name, svc in pair.config.services.items():
        if not pair.capper.available:
            assert pair.cap_description(name).startswith("uncapped (")
            continue
        assert pair.cap_description(name).startswith(f"capped at {svc.cpu / 1024:g} vCPU")
        for instance in pair.services[name].running.values():
            assert instance.cgroup is not None
            group = instance.cgroup
            assert cgroup_of(instance.pid, "cpu").endswith(group.name)
            if group.version == 1:
                cpu_dir, mem_dir = group.paths
                quota = int((cpu_dir / "cpu.cfs_quota_us").read_text())
                period = int((cpu_dir / "cpu.cfs_period_us").read_text())
                assert quota / period == svc.cpu / 1024
                assert int((mem_dir / "memory.limit_in_bytes").read_text()) == svc.memory * 2**20


def test_kill_9_fails_only_that_service_inside_its_detection_window(pair: Rehearsal) -> None:
    report = pair.failover("web", load_rate=RATE)
    web, api = report.loads.reports["web"], report.loads.reports["api"]
    failed = web.failed()
    print(
        f"\nfailover: DOWN after {report.detection_s:.2f} s (bound {report.detection_bound_s:g} s),"
        f" replacement UP after {report.replacement_healthy_s:.2f} s, both from the kill;"
        f" web {web.requests} requests, {len(failed)} failed; api {api.requests}, "
        f"{len(api.failed())} failed"
    )
    assert report.loads.urls == {"web": pair.url + "/", "api": pair.url + "/ready"}
    # The other service never noticed.
    assert api.requests > 100
    assert api.failed() == []
    assert report.detection_s <= report.detection_bound_s
    # Some requests did reach the dead task before HAProxy noticed: the ALB would fail them too.
    assert failed, "expected failures while the dead task was still routed to"
    # ... but only then: in flight at the kill or sent after it, and sent before DOWN.
    slack = 0.25
    outside = [
        (round(s.t - report.kill_at, 3), round(s.latency_s, 3), s.status)
        for s in failed
        if s.t + s.latency_s < report.kill_at or s.t > report.down_at + slack
    ]
    assert outside == [], f"DOWN at +{report.down_at - report.kill_at:.2f} s"
    # The survivor served throughout: never a gap longer than half a second (loaded CI box).
    (survivor,) = report.survivors
    assert web.max_gap_s(survivor, report.kill_at - 1.0, report.down_at) < 0.5
    # The replacement, timed from the kill on its own clock, took traffic before the end.
    assert report.replacement in web.by_target()
    timing = pair.services["web"].timing
    assert report.replacement_healthy_s < timing.registration_bound_s + 5
    assert set(pair.services["web"].running) == {survivor, report.replacement}


def test_rolling_restart_of_one_service_fails_no_request_on_either(pair: Rehearsal) -> None:
    before = {name: set(svc.running) for name, svc in pair.services.items()}
    report = pair.restart("api", load_rate=RATE)
    web, api = report.loads.reports["web"], report.loads.reports["api"]
    print(
        f"\nrestart api: api {api.requests} requests, {len(api.failed())} failed,"
        f" p99 {api.percentile_ms(99):.1f} ms; web {web.requests}, {len(web.failed())} failed"
    )
    assert api.requests > 300 and web.requests > 300
    assert api.failed() == [] and web.failed() == []
    assert [step.exit_code for step in report.steps] == [0, 0]
    # api's own deregistration delay (5 s x0.1), not web's.
    assert all(step.drain_s >= 0.5 for step in report.steps)
    after = set(pair.services["api"].running)
    assert before["api"].isdisjoint(after)
    assert set(pair.services["web"].running) == before["web"]
    # Old and new api tasks all served part of the load; web's tasks were left alone.
    assert set(api.by_target()) == before["api"] | after
    assert set(web.by_target()) == before["web"]
