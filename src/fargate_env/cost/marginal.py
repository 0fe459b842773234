"""The monthly cost of one more service of each kind, measured, not modelled.

A probe config is the environment plus a clone of its smallest web service (same size,
capacity, scaling and health check; a new name, its own repository and a route of its own),
and one more backend, worker and job: a clone of the smallest of that kind, or a new one at
the config's defaults (a job: daily at 03:00 UTC). Each probe's marginal cost is its own
lines (its stack and its repository), priced from a synthesis. Two web clones: always on, and
on the default office-hours schedule (ScheduleConfig()); the other kinds always on.

Only the probes are synthesized (issue 21): the environment's own services are left out of
the probe synthesis, since one more service changes no other service's stack and no priced
line of the shared stacks (tests/cost/test_kinds.py proves both against a full synthesis of
the demo with and without every kind). Two small syntheses in all, however many services.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargate_env.assembly import assembly_region
from fargate_env.config import EnvironmentConfig, ScheduleConfig, parse_config
from fargate_env.config.limits import RULE_PRIORITY_MAX
from fargate_env.cost.estimate import PROXY_ITEM, Bill, cents_sum, estimate
from fargate_env.synth import synthesize

PROBE_NAME = "marginal-probe"
PROFILES = {"always_on": "always on", "office_hours": "office hours"}
# The other kinds' probes (always on), and a new job's schedule when the config has no job.
KIND_PROBES = {"backend": "marginal-backend", "worker": "marginal-worker", "job": "marginal-job"}
DEFAULT_JOB_SCHEDULE = "cron(0 3 * * ? *)"


@dataclass
class Marginal:
    template: str  # the web service that was cloned ("" when there was none: a new one)
    description: str  # its size and capacity, e.g. "0.25 vCPU / 0.5 GB, Spot"
    monthly_usd: dict[str, float]  # profile key -> USD/month
    # backend/worker/job -> {"clone_of": name or None (new, defaults), "size": ..., "monthly_usd"}
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "marginal_service_monthly_usd": dict(self.monthly_usd),
            "marginal_service": {
                "clone_of": self.template,
                "size": self.description,
            },
            "marginal_by_kind_monthly_usd": {
                "web": self.monthly_usd.get("always_on"),
                **{kind: probe["monthly_usd"] for kind, probe in self.kinds.items()},
            },
            "marginal_kinds": dict(self.kinds),
        }


def _size(config: EnvironmentConfig, name: str) -> tuple[int, int]:
    return config.services[name].cpu, config.services[name].memory


def smallest_service(config: EnvironmentConfig, kind: str = "web") -> str | None:
    """The service of `kind` with the least CPU, then memory; the first declared on a tie."""
    same = [n for n, svc in config.services.items() if svc.kind == kind]
    return min(same, key=lambda n: _size(config, n)) if same else None


def _free_name(data: dict[str, Any], name: str) -> str:
    base, n = name, 1
    while name in data["services"]:
        n += 1
        name = f"{base}-{n}"
    return name


def _new_service(data: dict[str, Any], config: EnvironmentConfig, kind: str) -> dict[str, Any]:
    """A service of `kind` at the config's defaults, running the image of the environment's
    smallest service (what a team adds first)."""
    base = min(config.services, key=lambda n: _size(config, n))
    source = data["services"][base]
    service: dict[str, Any] = {"kind": kind, "image": source["image"]}
    if source.get("image_tag") is not None:
        service["image_tag"] = source["image_tag"]
    if kind == "job":
        service["schedule"] = DEFAULT_JOB_SCHEDULE
    return service


def probe_config(
    config: EnvironmentConfig, *, office_hours: bool, kinds: bool = False
) -> EnvironmentConfig:
    """`config` with one more web service cloned from its smallest one (`kinds`: and one
    more backend, worker and job, named in KIND_PROBES), re-validated."""
    data: dict[str, Any] = config.model_dump(mode="json")
    template = smallest_service(config)
    name = _free_name(data, PROBE_NAME)
    if template is None:
        clone = _new_service(data, config, "web")
    else:
        clone = {**data["services"][template], "repository_name": None}  # its own repository
    # The lowest free priority: no other rule can take the probe's requests first, and a
    # derived priority could collide with another service's explicit one.
    used = {route.priority for route in config.routes() + config.test_routes()}
    # Previews hold 1..previews.max_active when they are on.
    start = config.previews.max_active + 1 if config.load_balancer.preview_domain else 1
    # A traffic-shifting clone also needs its test rule's priority, just below its own.
    shifts = template is not None and config.services[template].deployment.shifts_traffic
    first = next(
        p for p in range(start, RULE_PRIORITY_MAX - 1) if p not in used and (p + 1 not in used)
    )
    clone["routing"] = {
        "path_patterns": [f"/{name}/*"],
        "host_headers": [],
        "priority": first + 1
        if shifts
        else next(p for p in range(start, RULE_PRIORITY_MAX) if p not in used),
        "default": False,
    }
    if shifts:
        clone["deployment"] = {**clone["deployment"], "test_rule_priority": first}
    clone["schedule"] = ScheduleConfig().model_dump(mode="json") if office_hours else None
    data["services"][name] = clone
    if kinds:
        for kind, probe in KIND_PROBES.items():
            same = smallest_service(config, kind)
            data["services"][_free_name(data, probe)] = (
                _new_service(data, config, kind)
                if same is None
                else {**data["services"][same], "repository_name": None}
            )
    return parse_config(data, f"marginal probe ({name}, a clone of {template or 'nothing'})")


def _proxy_usd(bill: Bill, name: str) -> float:
    return cents_sum(
        line.monthly_usd for line in bill.lines if line.service == name and line.item == PROXY_ITEM
    )


def _describe(config: EnvironmentConfig, name: str) -> str:
    svc = config.services[name]
    capacity = "Spot" if svc.capacity.spot else "on-demand"
    size = f"{svc.cpu / 1024:g} vCPU / {svc.memory / 1024:g} GB {svc.architecture}, {capacity}"
    if svc.kind == "job":
        return f"{size}, {svc.job.schedule} {svc.job.timezone}"
    return size


def price(config: EnvironmentConfig, outdir: Path) -> Bill:
    """Synthesize `config` (CDK validation off: speed) and price its templates."""
    stacks = synthesize(config, outdir, validation=False)
    return estimate(stacks, assembly_region(outdir), config.cost.usage)


def probes_only(probe: EnvironmentConfig, config: EnvironmentConfig) -> EnvironmentConfig:
    """`probe` without `config`'s own services: what a probe synthesis needs to build."""
    data: dict[str, Any] = probe.model_dump(mode="json")
    data["services"] = {n: svc for n, svc in data["services"].items() if n not in config.services}
    return parse_config(data, "marginal probes")


def marginal_service(config: EnvironmentConfig) -> Marginal:
    """Synthesize and price the probes of each profile; each probe costs its own lines."""
    usd: dict[str, float] = {}
    kinds: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fargate-env-marginal-") as tmp:
        for key, label in PROFILES.items():
            always = key == "always_on"
            probe = probes_only(probe_config(config, office_hours=not always, kinds=always), config)
            bill = price(probe, Path(tmp) / label.replace(" ", "-"))
            subtotals = bill.service_subtotals()
            web, *others = probe.services
            usd[key] = subtotals.get(web, 0.0)
            for name in others:
                kind = probe.services[name].kind
                kinds[kind] = {
                    "clone_of": smallest_service(config, kind),
                    "size": _describe(probe, name),
                    "monthly_usd": subtotals.get(name, 0.0),
                    # Inside monthly_usd: a backend's Service Connect proxy's share.
                    "proxy_usd": _proxy_usd(bill, name) if kind == "backend" else 0.0,
                }
    template = smallest_service(config) or ""  # "": no web service to clone, a new one
    description = _describe(config, template) if template else "defaults"
    return Marginal(template, description, usd, kinds)
