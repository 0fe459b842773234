"""[previews] and load_balancer.preview_*: one line naming the field and what is allowed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fargate_env.config import ConfigError, format_ttl, parse_ttl
from tests.conftest import make_config


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"load_balancer": {"preview_hosted_zone_id": None}}, "needs preview_hosted_zone_id"),
        ({"load_balancer": {"preview_hosted_zone_name": "other.org"}}, "not inside hosted zone"),
        (
            {"load_balancer": {"preview_domain": None}},
            "preview_hosted_zone_* set without preview_domain",
        ),
        ({"services": {"api": {"routing": {"priority": 3}}}}, "previews' range 1-5"),
        ({"previews": {"default_ttl": "8d"}}, "min_ttl <= default_ttl <= max_ttl"),
        ({"previews": {"min_ttl": "5m", "default_ttl": "10m"}}, "at least 15m"),
        ({"previews": {"max_ttl": "soon"}}, "previews.max_ttl"),
        ({"previews": {"expected_active": 6}}, "exceeds max_active"),
    ],
)
def test_bad_preview_settings_are_one_line(overrides, words):
    with pytest.raises(ConfigError) as info:
        make_config(overrides)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_service_may_use_the_previews_range_when_previews_are_off():
    off = {"preview_domain": None, "preview_hosted_zone_id": None, "preview_hosted_zone_name": None}
    config = make_config({"load_balancer": off, "services": {"api": {"routing": {"priority": 3}}}})
    assert config.services["api"].routing.priority == 3


def test_ttls_read_and_print_alike():
    assert parse_ttl("90m") == timedelta(minutes=90)
    assert parse_ttl("48h") == timedelta(days=2)
    assert [format_ttl(parse_ttl(t)) for t in ("90m", "48h", "7d", "36h")] == [
        "90m", "2d", "7d", "36h",
    ]  # fmt: skip
    config = make_config({"previews": {"max_ttl": "14d", "default_ttl": "36h"}})
    assert config.previews.max_ttl == timedelta(days=14)
    assert config.previews.default_ttl == timedelta(hours=36)
    # A model_dump round trip (cost variants, --image-tag) keeps the durations.
    from fargate_env.config import parse_config

    again = parse_config(config.model_dump(mode="json"))
    assert again.previews == config.previews
