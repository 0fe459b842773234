"""Several services in one environment: routes, stable priorities, ALB quotas and names.

Each mistake is one line naming the field and the fix, exit 2, nothing written.
"""

from __future__ import annotations

from typing import Any

import pytest

from fargate_env.config import ConfigError, parse_config, select_service
from fargate_env.config.limits import ALB_RULES, ALB_TARGET_GROUPS
from tests.conftest import demo_data, make_config, merge
from tests.test_config_load_balancer import run_bad


def services(count: int, **extra: Any) -> dict[str, Any]:
    """`count` services on /sN/* besides the demo's web (default) and api (/api)."""
    return {f"s{i}": {"routing": {"path_patterns": [f"/s{i}/*"]}, **extra} for i in range(count)}


def route(*paths: str, **routing: Any) -> dict[str, Any]:
    return {"routing": {"path_patterns": list(paths), **routing}}


def only(**tables: Any) -> dict[str, Any]:
    """The demo with exactly these [services.*] tables."""
    data = demo_data()
    data["services"] = tables
    return data


# (id, full config data, words the one line must hold)
BAD = [
    ("no-service", only(), ["services: declare at least one [services.NAME]"]),
    (
        "no-services-table",
        merge(demo_data(), {"services": None}),
        ["services: declare at least one [services.NAME]"],
    ),
    (
        "lone-service-without-route",
        only(web={"routing": {"default": False}}),
        ["services: web: no route", "routing.default = true"],
    ),
    (
        "same-route",
        merge(
            demo_data(), {"services": {"admin": {"routing": {"path_patterns": ["/api", "/api/*"]}}}}
        ),
        ["services.", "same route", "/api/*"],
    ),
    (
        "priority-collision",
        merge(
            demo_data(),
            {
                "services": {
                    "a": {"routing": {"path_patterns": ["/a/*"], "priority": 7}},
                    "b": {"routing": {"path_patterns": ["/b/*"], "priority": 7}},
                }
            },
        ),
        ["priority 7", "set routing.priority"],
    ),
    (
        "broad-rule-hides-narrow",
        merge(
            demo_data(),
            {
                "services": {
                    "admin": {"routing": {"path_patterns": ["/api/admin/*"], "priority": 49999}}
                }
            },
        ),
        ["services.api", "would take every request of services.admin", "lower routing.priority"],
    ),
    (
        "two-defaults",
        merge(demo_data(), {"services": {"api": {"routing": {"default": True}}}}),
        ["services", "both set routing.default = true"],
    ),
    (
        "no-route",
        merge(demo_data(), {"services": {"extra": {"image_tag": "x"}}}),
        ["services", "extra: no route", "routing.path_patterns"],
    ),
    ("name-uppercase", only(Web={}), ["services.Web", "lowercase letters"]),
    ("name-double-dash", only(**{"a--b": {}}), ["services.a--b", "single dashes"]),
    ("name-trailing-dash", only(**{"ab-": {}}), ["services.ab-", "single dashes"]),
    ("name-too-long", only(**{"a" * 25: {}}), ["1-24 characters"]),
    ("name-digit-first", only(**{"1web": {}}), ["services.1web", "starting with a letter"]),
    (
        "condition-values",
        merge(
            demo_data(),
            {"services": {"api": {"routing": {"path_patterns": [f"/p{i}" for i in range(6)]}}}},
        ),
        ["services.api.routing", "at most 5 condition values", "ALB quota"],
    ),
    (
        "target-group-quota",
        merge(demo_data(), {"services": services(ALB_TARGET_GROUPS)}),
        ["services", f"at most {ALB_TARGET_GROUPS} target groups", "ALB quota"],
    ),
    (
        "rule-quota",
        # 98 + api + web (its own path and the catch-all): 100 target groups, 101 rules.
        merge(
            demo_data(),
            {"services": {**services(98), "web": route("/web/*", default=True)}},
        ),
        [f"{ALB_RULES} by default", "ALB quota"],
    ),
    (
        "path-not-absolute",
        merge(demo_data(), {"services": {"api": {"routing": {"path_patterns": ["api/*"]}}}}),
        ["services.api.routing.path_patterns", "starts with '/'"],
    ),
    (
        "secret-in-environment",
        merge(demo_data(), {"services": {"api": {"environment": {"DB_PASSWORD": "hunter2"}}}}),
        ["services.api.environment", "DB_PASSWORD", "move it to `secrets`"],
    ),
]


@pytest.mark.parametrize(("case", "data", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_services_are_one_line_exit_2(tmp_path, case, data, words):
    line = run_bad(tmp_path, data, replace=True)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_one_service_is_the_catch_all_only_when_it_says_so():
    with pytest.raises(ConfigError, match="web: no route"):
        parse_config(only(web={}), "one")
    config = parse_config(only(web={"routing": {"default": True}}), "one")
    assert config.default_service == "web"
    [route] = config.routes()
    assert route.catch_all and route.paths == ("/*",)


def test_without_a_default_the_listener_has_no_catch_all():
    config = make_config(
        {"services": {"web": {"routing": {"default": False, "path_patterns": ["/"]}}}}
    )
    assert config.default_service is None
    assert not any(r.catch_all for r in config.routes())


def test_priorities_are_stable_when_services_come_and_go():
    """Adding a 26th service, or removing one, changes no other service's priority."""
    base = merge(demo_data(), {"services": services(23)})
    before = {r.service: r.priority for r in parse_config(base).routes()}
    assert len(before) == 25
    grown = merge(base, {"services": {"late": {"routing": {"path_patterns": ["/late/*"]}}}})
    after = {r.service: r.priority for r in parse_config(grown).routes()}
    assert {s: after[s] for s in before} == before
    shrunk = merge(base, {"services": {"s3": None}})
    assert {s: p for s, p in before.items() if s != "s3"} == {
        r.service: r.priority for r in parse_config(shrunk).routes()
    }
    assert len(set(after.values())) == len(after)


def test_an_explicit_priority_wins_and_a_narrow_rule_may_precede_a_broad_one():
    config = make_config(
        {"services": {"admin": {"routing": {"path_patterns": ["/api/admin/*"], "priority": 10}}}}
    )
    priorities = {r.service: r.priority for r in config.routes()}
    assert priorities["admin"] == 10 and priorities["admin"] < priorities["api"]


@pytest.mark.parametrize(
    ("names", "given", "expected"),
    [(["web"], None, "web"), (["web", "api"], "api", "api")],
)
def test_select_service(names, given, expected):
    config = parse_config(only(**{n: {"routing": {"path_patterns": [f"/{n}/*"]}} for n in names}))
    assert select_service(config, given)[0] == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [(None, "--service is required"), ("nope", "--service 'nope'")],
)
def test_select_service_refuses_missing_or_unknown(given, words):
    with pytest.raises(ConfigError, match="web, api") as info:
        select_service(make_config(), given)
    assert words in str(info.value)


def test_service_endpoint_follows_the_route():
    config = make_config(
        {
            "load_balancer": {"certificate_names": ["*.example.com"]},
            "services": {
                "admin": {
                    "routing": {"host_headers": ["admin.example.com"], "path_patterns": ["/ui/*"]}
                }
            },
        }
    )
    assert config.service_endpoint("api") == (None, "/api")
    assert config.service_endpoint("web") == (None, "")
    assert config.service_endpoint("admin") == ("admin.example.com", "/ui")


def test_a_command_for_web_services_counts_and_names_only_them():
    """failover, scale-test and the local rehearsals take a web service: with one web
    service beside a backend and a job it is implied; with several the list names them."""
    demo = parse_config(demo_data())  # web, api, the backend orders and the job nightly
    one_web = parse_config(merge(demo_data(), {"services": {"api": None}}))
    assert select_service(one_web, None, ("web",))[0] == "web"
    with pytest.raises(ConfigError, match=r"has web, orders, nightly$"):
        select_service(one_web, None)  # a command for every kind
    # A name of another kind is the command's to refuse, in its own words.
    assert select_service(demo, "orders", ("web",))[0] == "orders"
    with pytest.raises(ConfigError) as info:
        select_service(demo, None, ("web",))
    assert str(info.value) == "--service is required: environment 'demo' has web services web, api"
