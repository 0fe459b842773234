"""Shared fixtures: one synthesized app per distinct config, reused across the session."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from fargate_env.app import EnvironmentApp, build_app
from fargate_env.config import EnvironmentConfig, parse_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_TOML = ROOT / "environments" / "demo.toml"
# The demo's default service, the one most stack tests look at.
WEB = "web"


# The CloudFront edge, without the demo's preview domain (previews need the ALB edge).
CLOUDFRONT_EDGE = {
    "edge": "cloudfront",
    "preview_domain": None,
    "preview_hosted_zone_id": None,
    "preview_hosted_zone_name": None,
}


def web(**section) -> dict:
    """Overrides for the demo's `web` service."""
    return {"services": {WEB: section}}


def demo_text() -> str:
    """demo.toml's text, its build contexts made absolute so a copy may be written anywhere."""
    server = (DEMO_TOML.parent / "../server").resolve()
    return DEMO_TOML.read_text().replace('"../server"', f'"{server}"')


def demo_data() -> dict:
    """The demo's data, its build contexts made absolute so a copy may be written anywhere."""
    data = tomllib.loads(DEMO_TOML.read_text())
    for svc in data["services"].values():
        build = svc.get("image", {}).get("build")
        if build:
            build["context"] = str((DEMO_TOML.parent / build["context"]).resolve())
    return data


# The demo's services of the other kinds: a backend that web calls (UPSTREAM_URL) and a job.
DEMO_KINDS = ("orders", "nightly")


def web_demo_data() -> dict:
    """The demo's two web services alone (web and api): the environment most tests build on,
    whose figures they check. The demo itself (demo_data) adds a backend and a job; the kinds'
    tests add theirs (tests/kinds.py)."""
    data = demo_data()
    for name in DEMO_KINDS:
        del data["services"][name]
    del data["services"][WEB]["environment"]["UPSTREAM_URL"]
    return data


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge `overrides` into a copy of `base`; a None value deletes the key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def make_config(overrides: dict | None = None) -> EnvironmentConfig:
    """The demo's web services (web_demo_data) with `overrides` deep-merged in."""
    return parse_config(merge(web_demo_data(), overrides or {}), "test-config")


@dataclass
class Synthesized:
    config: EnvironmentConfig
    built: EnvironmentApp
    outdir: Path

    def stack_name(self, part: str) -> str:
        """ "network", "platform", ... for a shared stack; "service:NAME" for a service's."""
        kind, _, service = part.partition(":")
        if kind == "service":
            return self.config.service_stack_name(service or WEB)
        return self.config.stack_name(part)

    def template_json(self, part: str) -> dict:
        return json.loads((self.outdir / f"{self.stack_name(part)}.template.json").read_text())

    def template(self, part: str) -> Template:
        """assertions.Template of one stack ("network", "service:web", ...), read from disk."""
        return Template.from_json(self.template_json(part))


@pytest.fixture(scope="session", autouse=True)
def _no_reused_assembly(tmp_path_factory):
    """`cost` and `diagram` reuse ./cdk.out while it is fresh; the project's own (left by
    `make demo` or a benchmark) must not answer for a test that patches prices or stacks."""
    from fargate_env import synth as synth_module

    saved = synth_module.DEFAULT_ASSEMBLY
    synth_module.DEFAULT_ASSEMBLY = tmp_path_factory.mktemp("none") / "cdk.out"
    yield
    synth_module.DEFAULT_ASSEMBLY = saved


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """synth(overrides) -> Synthesized; each distinct config is synthesized once per session."""
    cache: dict[str, Synthesized] = {}

    def _synth(overrides: dict | None = None) -> Synthesized:
        key = json.dumps(overrides or {}, sort_keys=True)
        if key not in cache:
            config = make_config(overrides)
            outdir = tmp_path_factory.mktemp("cdk.out")
            built = build_app(config, outdir, validation=False)
            built.app.synth()
            cache[key] = Synthesized(config=config, built=built, outdir=outdir)
        return cache[key]

    return _synth


@pytest.fixture(scope="session")
def demo(synth) -> Synthesized:
    return synth()


# `cost --compare` synthesizes ~50 variants: tests comparing the same config share one run
# (mark them @pytest.mark.xdist_group(COMPARE_GROUP) so `-n 2 --dist loadgroup` keeps them
# on one worker, where the session cache lives).
COMPARE_GROUP = "compare"


@pytest.fixture(scope="session")
def compared(synth):
    """compared(overrides) -> the Comparison of that config against its own bill, computed
    once per session; treat it as read-only."""
    from fargate_env.assembly import assembly_region, read_environment
    from fargate_env.cost.compare import compare
    from fargate_env.cost.estimate import estimate

    cache: dict[str, object] = {}

    def _compared(overrides: dict | None = None):
        key = json.dumps(overrides or {}, sort_keys=True)
        if key not in cache:
            synthesized = synth(overrides)
            stacks = read_environment(synthesized.outdir)
            region = assembly_region(synthesized.outdir)
            bill = estimate(stacks, region, synthesized.config.cost.usage)
            cache[key] = compare(synthesized.config, bill)
        return cache[key]

    return _compared
