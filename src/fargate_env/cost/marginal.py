"""The monthly cost of one more service, measured, not modelled.

The config is synthesized once more with a clone of its smallest service (same size, capacity,
scaling and health check; a new name, its own repository and a route of its own) and both
assemblies are priced; the difference of the totals is the marginal cost. Whatever else one
more service changes in the shared stacks (dashboard widgets, listener rules) is priced too,
because it is what the templates say. Two clones: always on, and on the default office-hours
schedule (ScheduleConfig()).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_env.assembly import assembly_region
from fargate_env.config import EnvironmentConfig, ScheduleConfig, parse_config
from fargate_env.config.limits import RULE_PRIORITY_MAX
from fargate_env.cost.estimate import Bill, estimate
from fargate_env.synth import synthesize

PROBE_NAME = "marginal-probe"
PROFILES = {"always_on": "always on", "office_hours": "office hours"}


@dataclass
class Marginal:
    template: str  # the service that was cloned
    description: str  # its size and capacity, e.g. "0.25 vCPU / 0.5 GB, Spot"
    monthly_usd: dict[str, float]  # profile key -> USD/month

    def to_json(self) -> dict[str, Any]:
        return {
            "marginal_service_monthly_usd": dict(self.monthly_usd),
            "marginal_service": {
                "clone_of": self.template,
                "size": self.description,
            },
        }


def smallest_service(config: EnvironmentConfig) -> str:
    """The service with the least CPU, then memory; the first declared on a tie."""
    return min(config.services, key=lambda n: (config.services[n].cpu, config.services[n].memory))


def probe_config(config: EnvironmentConfig, *, office_hours: bool) -> EnvironmentConfig:
    """`config` with one more service cloned from its smallest one, re-validated."""
    data: dict[str, Any] = config.model_dump(mode="json")
    template = smallest_service(config)
    name, n = PROBE_NAME, 1
    while name in data["services"]:
        n += 1
        name = f"{PROBE_NAME}-{n}"
    clone = data["services"][template]
    clone = {**clone, "repository_name": None}  # its own repository: "<env>/<name>"
    # The lowest free priority: no other rule can take the probe's requests first, and a
    # derived priority could collide with another service's explicit one.
    used = {route.priority for route in config.routes() + config.test_routes()}
    # Previews hold 1..previews.max_active when they are on.
    start = config.previews.max_active + 1 if config.load_balancer.preview_domain else 1
    # A traffic-shifting clone also needs its test rule's priority, just below its own.
    shifts = config.services[template].deployment.shifts_traffic
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
    return parse_config(data, f"marginal probe ({name}, a clone of {template})")


def _describe(config: EnvironmentConfig, name: str) -> str:
    svc = config.services[name]
    capacity = "Spot" if svc.capacity.spot else "on-demand"
    return f"{svc.cpu / 1024:g} vCPU / {svc.memory / 1024:g} GB {svc.architecture}, {capacity}"


def price(config: EnvironmentConfig, outdir: Path) -> Bill:
    """Synthesize `config` (CDK validation off: speed) and price its templates."""
    stacks = synthesize(config, outdir, validation=False)
    return estimate(stacks, assembly_region(outdir), config.cost.usage)


def marginal_service(config: EnvironmentConfig, current: Bill) -> Marginal:
    """Synthesize and price the config plus one clone per profile; subtract `current`."""
    usd: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fargate-env-marginal-") as tmp:
        for key, label in PROFILES.items():
            probe = probe_config(config, office_hours=key == "office_hours")
            bill = price(probe, Path(tmp) / label.replace(" ", "-"))
            usd[key] = round(bill.exact_total - current.exact_total, 2)
    template = smallest_service(config)
    return Marginal(template, _describe(config, template), usd)
