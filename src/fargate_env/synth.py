"""Synthesize an environment into a cloud assembly without leaving a half-written one behind."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fargate_env.app import build_app
from fargate_env.config import EnvironmentConfig


@dataclass
class StackSummary:
    name: str
    template: dict
    resource_counts: Counter = field(default_factory=Counter)

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})


def synthesize(
    config: EnvironmentConfig, outdir: Path, *, validation: bool = True
) -> list[StackSummary]:
    """Synthesize into a temporary directory, then swap it into `outdir` only on success."""
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synth-", dir=outdir.parent))
    try:
        built = build_app(config, staging, validation=validation)
        built.app.synth()
        if outdir.exists():
            shutil.rmtree(outdir)
        staging.rename(outdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_assembly(outdir)


def read_assembly(outdir: Path) -> list[StackSummary]:
    """Every stack template in a cloud assembly, in manifest (deployment) order."""
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    summaries = []
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((Path(outdir) / artifact["properties"]["templateFile"]).read_text())
        counts = Counter(r["Type"] for r in template.get("Resources", {}).values())
        summaries.append(StackSummary(name=name, template=template, resource_counts=counts))
    return summaries
