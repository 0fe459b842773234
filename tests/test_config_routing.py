"""Routing honesty: a host route needs a certificate that covers it; rules that can match one
request need an explicit order; the catch-all is explicit only."""

from __future__ import annotations

import pytest

from fargate_env.config.matching import certificate_covers, globs_meet
from tests.conftest import make_config
from tests.test_config_load_balancer import run_bad

DNS = {
    "certificate_arn": None,
    "domain_name": "app.example.com",
    "hosted_zone_id": "Z0123456789ABC",
    "hosted_zone_name": "example.com",
}


def admin(**routing) -> dict:
    return {"services": {"admin": {"routing": routing}}}


BAD = [
    (
        "host-not-on-imported-certificate",
        {
            "load_balancer": {"certificate_names": ["app.example.com"]},
            **admin(host_headers=["admin.other.org"]),
        },
        [
            "services.admin.routing.host_headers: 'admin.other.org' is not covered by the"
            " certificate (app.example.com)",
            "certificate_names",
        ],
    ),
    (
        "imported-names-unknown",
        admin(host_headers=["admin.example.com"]),
        ["'admin.example.com'", "cannot be read offline", "load_balancer.certificate_names"],
    ),
    (
        "host-not-the-dns-validated-name",
        {"load_balancer": DNS, **admin(host_headers=["admin.example.com"])},
        ["not covered by the certificate (app.example.com)", "set load_balancer.domain_name"],
    ),
    (
        "wildcard-covers-one-label-only",
        {
            "load_balancer": {"certificate_names": ["*.example.com"]},
            **admin(host_headers=["a.b.example.com"]),
        },
        ["'a.b.example.com' is not covered"],
    ),
    (
        "host-and-path-overlap-without-order",
        {
            "load_balancer": {"certificate_names": ["*.example.com"]},
            **admin(host_headers=["admin.example.com"]),
        },
        ["services.", "can match the same request", "set routing.priority"],
    ),
    (
        "path-overlap-without-order",
        admin(path_patterns=["/api/v*"]),
        ["services.", "/api/v*", "/api/*", "can match the same request"],
    ),
    (
        "names-need-an-imported-certificate",
        {"load_balancer": {**DNS, "certificate_names": ["app.example.com"]}},
        ["load_balancer", "certificate_names: only with certificate_arn"],
    ),
]


@pytest.mark.parametrize(("case", "overrides", "words"), BAD, ids=[b[0] for b in BAD])
def test_dishonest_routes_are_one_line_exit_2(tmp_path, case, overrides, words):
    line = run_bad(tmp_path, overrides)
    for word in words:
        assert word in line, f"{case}: {word!r} not in {line!r}"


def test_a_covered_host_route_is_accepted_and_http_only_needs_no_certificate():
    covered = make_config(
        {
            "load_balancer": {"certificate_names": ["*.example.com"]},
            **admin(host_headers=["admin.example.com"], path_patterns=["/ui/*"]),
        }
    )
    assert covered.services["admin"].routing.host_headers == ["admin.example.com"]
    dns = make_config(
        {"load_balancer": DNS, **admin(host_headers=["app.example.com"], path_patterns=["/ui/*"])}
    )
    assert dns.service_routes("admin")[0].hosts == ("app.example.com",)
    http = make_config(
        {
            "load_balancer": {
                "certificate_arn": None,
                "allow_http_only": True,
                "preview_domain": None,
                "preview_hosted_zone_id": None,
                "preview_hosted_zone_name": None,
            },
            **admin(host_headers=["admin.other.org"], priority=100),
        }
    )
    assert http.service_routes("admin")[0].hosts == ("admin.other.org",)


def test_an_explicit_priority_settles_an_overlap_and_it_is_listed_in_evaluation_order():
    config = make_config(
        {
            "load_balancer": {"certificate_names": ["*.example.com"]},
            **admin(host_headers=["admin.example.com"], priority=100),
        }
    )
    [(first, second)] = config.overlaps()
    assert (first.service, second.service) == ("admin", "api")
    assert first.priority == 100 < second.priority


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("/api/*", "/api/v1/*", True),
        ("/api/*", "/admin/*", False),
        ("/a?c", "/abc", True),
        ("*.example.com", "admin.example.com", True),
        ("admin.example.com", "admin.example.org", False),
        ("*", "", True),
        ("a*", "*b", True),
        ("/x", "/x/", False),
    ],
)
def test_glob_overlap(a, b, meet):
    assert globs_meet(a, b) is meet and globs_meet(b, a) is meet


@pytest.mark.parametrize(
    ("name", "host", "covered"),
    [
        ("app.example.com", "app.example.com", True),
        ("app.example.com", "admin.example.com", False),
        ("*.example.com", "admin.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
    ],
)
def test_certificate_coverage(name, host, covered):
    assert certificate_covers(name, host) is covered
