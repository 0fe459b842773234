"""Behind a real HAProxy with the demo's health check (durations x0.1), under paced load."""

from __future__ import annotations

from pathlib import Path

from fargate_env.local.rehearsal import Rehearsal


def cgroup_of(pid: int, controller: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return ""


def test_tasks_are_capped_or_say_uncapped(rehearsal: Rehearsal) -> None:
    svc = rehearsal.config.service
    if not rehearsal.capper.available:
        assert rehearsal.cap_description.startswith("uncapped (")
        return
    assert rehearsal.cap_description.startswith(f"capped at {svc.cpu / 1024:g} vCPU")
    for instance in rehearsal.running.values():
        assert instance.cgroup is not None
        group = instance.cgroup
        assert cgroup_of(instance.pid, "cpu").endswith(group.name)
        if group.version == 1:
            cpu_dir, mem_dir = group.paths
            quota = int((cpu_dir / "cpu.cfs_quota_us").read_text())
            period = int((cpu_dir / "cpu.cfs_period_us").read_text())
            assert quota / period == svc.cpu / 1024
            assert int((mem_dir / "memory.limit_in_bytes").read_text()) == svc.memory * 2**20


def test_kill_9_fails_requests_only_inside_the_detection_window(rehearsal: Rehearsal) -> None:
    report = rehearsal.failover(load_rate=200)
    load = report.load
    assert load is not None
    failed = load.failed()
    print(
        f"\nfailover: detection {report.detection_s:.2f} s (bound {report.detection_bound_s:g} s),"
        f" replacement healthy {report.replacement_healthy_s:.2f} s,"
        f" requests {load.requests}, failed {len(failed)}"
    )
    assert report.detection_s <= report.detection_bound_s
    # Some requests did reach the dead task before HAProxy noticed: the ALB would fail them too.
    assert failed, "expected failures while the dead task was still routed to"
    # ... but only then: sent after the kill (minus one in-flight request) and before DOWN.
    slack = 0.25
    assert all(report.kill_at - slack <= s.t <= report.down_at + slack for s in failed)
    # The survivor served throughout: never a gap longer than a quarter second.
    (survivor,) = report.survivors
    assert load.max_gap_s(survivor, report.kill_at - 1.0, report.down_at) < 0.25
    assert load.by_target()[survivor] > 0
    # The replacement took traffic before the end.
    assert len(load.by_target()) == 3
    assert report.replacement_healthy_s < report.detection_bound_s + rehearsal.timing.interval_s * 4


def test_rolling_restart_under_load_has_zero_failures(rehearsal: Rehearsal) -> None:
    before = set(rehearsal.running)
    report = rehearsal.restart(load_rate=200)
    load = report.load
    assert load is not None
    print(
        f"\nrestart: requests {load.requests}, failed {len(load.failed())},"
        f" p99 {load.percentile_ms(99):.1f} ms"
    )
    assert load.requests > 500
    assert load.failed() == []
    assert [step.exit_code for step in report.steps] == [0, 0]
    assert before.isdisjoint(rehearsal.running)
    # Old and new tasks all served part of the load.
    assert set(load.by_target()) == before | set(rehearsal.running)
