"""cost --compare prices its variants in two processes: the same bills, in the same order, as
one process pricing them one after another."""

from __future__ import annotations

import pytest

from fargate_env.cost import compare as compare_module
from fargate_env.cost.compare import (
    COMPUTE,
    SCHEDULES,
    Variant,
    price_all,
    price_config,
    price_variant,
)
from tests.conftest import make_config

VARIANTS = [Variant("public", compute, schedule) for compute in COMPUTE for schedule in SCHEDULES]


def test_two_processes_price_like_one(tmp_path, monkeypatch):
    config = make_config()
    here = []

    def counted(*args):
        here.append(args[1])
        return price_config(*args)

    monkeypatch.setattr(compare_module, "processes", lambda: 2)
    monkeypatch.setattr(compare_module, "price_config", counted)
    heard = []
    rows, skipped = price_all(config, VARIANTS[:4], tmp_path / "two", heard.append)
    assert skipped == {}
    assert [row.variant for row in rows] == VARIANTS[:4]
    assert sorted(heard) == sorted(v.label for v in VARIANTS[:4])
    # The spawned helper priced some of them (this process's price_config did not see those).
    assert 0 < len(here) < 4
    for row in rows:
        alone = price_variant(config, row.variant, tmp_path / "one")
        assert row.bill.to_json() == alone.bill.to_json()
        assert row.essentials == alone.essentials


def test_one_core_prices_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(compare_module, "processes", lambda: 1)
    monkeypatch.setattr(
        compare_module, "ProcessPoolExecutor", lambda *a, **k: (_ for _ in ()).throw(AssertionError)
    )
    rows, _ = price_all(make_config(), VARIANTS[:4], tmp_path, lambda label: None)
    assert [row.variant for row in rows] == VARIANTS[:4]


# idle cores from /proc/stat (None: unreadable, then the load average decides); a lagging
# load of 9 beside a reading shows that the reading wins.
@pytest.mark.parametrize(
    ("cores", "idle", "load", "expected"),
    [
        (2, 1.9, 9.0, 2), (2, 1.5, 9.0, 2), (2, 1.2, 9.0, 1), (1, 1.0, 9.0, 1), (8, 6, 9.0, 2),
        (2, None, 0.4, 2), (2, None, 1.0, 2), (2, None, 1.5, 1), (1, None, 0.0, 1),
        (8, None, 3, 2),
    ],
)  # fmt: skip
def test_a_helper_only_while_it_and_this_process_each_find_an_idle_core(
    monkeypatch, cores, idle, load, expected
):
    monkeypatch.setattr(compare_module.os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(compare_module, "idle_cores", lambda: idle)
    monkeypatch.setattr(compare_module.os, "getloadavg", lambda: (load, load, load))
    assert compare_module.processes() == expected


def stat(user: int, idle: int, iowait: int) -> str:
    """/proc/stat's first lines on a 2-core machine: cpu user nice system idle iowait ..."""
    return f"cpu {user} 0 0 {idle} {iowait} 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0\n"


def test_idle_cores_are_the_idle_share_of_proc_stat_between_two_reads():
    # 200 ticks pass: 50 busy, 120 idle, 30 waiting on I/O -> 2 x 150/200 = 1.5 idle cores.
    texts = iter([stat(100, 1000, 10), stat(150, 1120, 40)])
    assert compare_module.idle_cores(lambda: next(texts), interval=0) == pytest.approx(1.5)
    assert compare_module.idle_cores(lambda: "not a stat file", interval=0) is None
