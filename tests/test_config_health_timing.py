"""The health-check timing formulas live once (HealthCheckConfig); the rehearsal's HAProxy
bounds, the failover bound and the speed figures read them from there."""

from fargate_env.config import HealthCheckConfig
from fargate_env.local.haproxy import CheckTiming
from fargate_env.ops.failover import recovery_bound_seconds
from tests.conftest import make_config


def test_timing_formulas():
    hc = HealthCheckConfig(interval_seconds=10, healthy_threshold=3, unhealthy_threshold=2,
                           deregistration_delay_seconds=7)  # fmt: skip
    assert hc.detection_seconds == 20
    assert hc.detection_bound_seconds == 30
    assert hc.registration_seconds == 30
    assert hc.registration_bound_seconds == 40
    assert hc.deploy_overhead_seconds == 37


def test_rehearsal_and_failover_use_the_same_formulas():
    hc = HealthCheckConfig(interval_seconds=10, healthy_threshold=3, unhealthy_threshold=4)
    timing = CheckTiming.from_config(hc, scale=0.5)
    assert timing.detection_bound_s == hc.detection_bound_seconds * 0.5
    assert timing.registration_bound_s == hc.registration_bound_seconds * 0.5
    config = make_config()
    service = next(iter(config.services))
    svc_hc = config.services[service].health_check
    assert recovery_bound_seconds(config, service) == (
        config.ops.task_launch_seconds
        + svc_hc.container_start_period_seconds
        + svc_hc.registration_seconds
    )
