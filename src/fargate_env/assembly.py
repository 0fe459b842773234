"""The one reader of a synthesized cloud assembly: its stacks, templates and region, for the
cost model, the summary, the diagram and the local rehearsal."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_STACK_MARK = "-service-"
PREVIEW_STACK_MARK = "-preview-"


@dataclass
class StackSummary:
    name: str
    template: dict
    resource_counts: Counter = field(default_factory=Counter)

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})

    @property
    def service(self) -> str | None:
        """The service this stack holds ("<env>-service-<name>"), None for a shared stack."""
        _, mark, name = self.name.partition(SERVICE_STACK_MARK)
        return name if mark else None

    @property
    def is_preview(self) -> bool:
        """A preview's own stack ("<env>-preview-<name>"; not the shared "<env>-previews")."""
        return PREVIEW_STACK_MARK in self.name

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == rtype}


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


def assembly_region(outdir: Path) -> str:
    """The region the assembly's stacks target (all stacks share one environment)."""
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact.get("type") == "aws:cloudformation:stack":
            return artifact["environment"].rsplit("/", 1)[1]
    raise ValueError(f"{outdir}: no stack in the cloud assembly")
