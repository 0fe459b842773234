"""The weekly schedule model: cron firings and the task-hours they leave."""

import pytest

from fargate_env.cost.schedule import (
    MINUTES_PER_WEEK,
    ScheduleNotUnderstood,
    firings,
    runs_per_month,
    weekly_segments,
)


def task_hours(segments) -> float:
    return sum(s.minutes * s.tasks for s in segments) / 60


def test_weekday_firings_monday_to_friday():
    # Monday 07:00 is minute 420; AWS day-of-week 2-6 = MON-FRI.
    assert firings("cron(0 7 ? * MON-FRI *)") == [d * 1440 + 420 for d in range(5)]
    assert firings("cron(30 20 ? * 2-6 *)") == [d * 1440 + 1230 for d in range(5)]


def test_office_hours_keep_one_task_65_hours_a_week():
    segments = weekly_segments(1, [("cron(0 20 ? * MON-FRI *)", 0), ("cron(0 7 ? * MON-FRI *)", 1)])
    assert sum(s.minutes for s in segments) == MINUTES_PER_WEEK
    assert task_hours(segments) == pytest.approx(13 * 5)


def test_weekend_wraps_to_the_last_firing():
    # Stop Friday 18:00, start Monday 08:00: up Mon 08:00 -> Fri 18:00 = 4 days + 10 h.
    segments = weekly_segments(2, [("cron(0 18 ? * FRI *)", 0), ("cron(0 8 ? * MON *)", 2)])
    assert task_hours(segments) == pytest.approx(2 * (4 * 24 + 10))


def test_no_schedule_is_always_up():
    assert task_hours(weekly_segments(3, [])) == pytest.approx(3 * 168)


def test_date_based_schedule_is_refused():
    with pytest.raises(ScheduleNotUnderstood):
        firings("cron(0 7 1 * ? *)")


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 day)", 730 / 24),
        ("rate(6 hours)", 730 / 6),
        ("rate(30 minutes)", 730 * 2),
        ("cron(0 3 * * ? *)", 7 * 730 / 168),  # daily: 7 firings a week
        ("cron(0 9 ? * MON-FRI *)", 5 * 730 / 168),
        ("cron(0 3 1 * ? *)", 1),  # the 1st of each month
        ("cron(0 3 1,15 * ? *)", 2),
        ("cron(0 3 1 1 ? *)", 1 / 12),  # once a year
        ("cron(0 3 ? 1-6 MON *)", 730 / 168 / 2),  # Mondays in half the year
    ],
)
def test_runs_per_month(expression: str, runs: float) -> None:
    assert runs_per_month(expression) == pytest.approx(runs)


@pytest.mark.parametrize("expression", ["cron(0 3 L * ? *)", "cron(0 3 * * ? 2027)", "at(x)"])
def test_runs_per_month_refuses_what_it_cannot_count(expression: str) -> None:
    with pytest.raises(ScheduleNotUnderstood):
        runs_per_month(expression)
