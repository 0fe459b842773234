"""AWS cron is parsed once (config/cron.py): the config's validation and the cost model's
firing times read the same fields the same way."""

import pytest

from fargate_env.config import ScheduleConfig
from fargate_env.config.cron import CronNotExpanded, cron_fields, expand
from fargate_env.cost.schedule import ScheduleNotUnderstood, firings


def test_fields_and_expansion():
    assert cron_fields("cron(0 20 ? * MON-FRI *)") == ["0", "20", "?", "*", "MON-FRI", "*"]
    assert cron_fields("cron(0 7 * * MON-FRI)") is None
    assert expand("5/15", 0, 59) == {5, 20, 35, 50}
    assert expand("*/20", 0, 59) == {0, 20, 40}
    assert expand("1-10/3,30", 0, 59) == {1, 4, 7, 10, 30}
    assert expand("MON-FRI", 1, 7, {"MON": 2, "FRI": 6}) == {2, 3, 4, 5, 6}
    for bad in ("L", "2#1", "61"):
        with pytest.raises(CronNotExpanded):
            expand(bad, 0, 59)


def test_the_default_office_schedule_fires_at_its_hours():
    schedule = ScheduleConfig()
    start, stop = firings(schedule.start), firings(schedule.stop)
    assert len(start) == len(stop) == 5  # Monday to Friday
    assert start[0] == 7 * 60 and stop[0] == 20 * 60  # 07:00 and 20:00 on Monday


def test_a_step_from_a_start_fires_through_the_hour():
    # "5/15": 5, 20, 35 and 50 past; the cost model once read it as 5 past only.
    assert firings("cron(5/15 9 ? * MON *)") == [9 * 60 + m for m in (5, 20, 35, 50)]
    with pytest.raises(ScheduleNotUnderstood):
        firings("cron(0 9 ? * 2#1 *)")
