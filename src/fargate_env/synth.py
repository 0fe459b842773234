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
from fargate_env.errors import UserError


@dataclass
class StackSummary:
    name: str
    template: dict
    resource_counts: Counter = field(default_factory=Counter)

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})


class StagedAssembly:
    """A scratch directory beside `outdir` that replaces it only on `commit()`.

    Anything that fails before the commit leaves `outdir` exactly as it was.
    """

    def __init__(self, outdir: Path) -> None:
        self.outdir = Path(outdir)
        try:
            self.outdir.parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".synth-", dir=self.outdir.parent))
        except OSError as exc:
            raise UserError(
                f"--out {self.outdir}: cannot write there ({exc.strerror}); choose a writable"
                " directory"
            ) from None

    def commit(self) -> None:
        if self.outdir.is_file():
            raise UserError(f"--out {self.outdir}: is a file; choose a directory")
        if self.outdir.exists():
            shutil.rmtree(self.outdir)
        self.path.rename(self.outdir)

    def __enter__(self) -> StagedAssembly:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def synthesize(
    config: EnvironmentConfig, outdir: Path, *, validation: bool = True
) -> list[StackSummary]:
    """Synthesize into a staging directory, then swap it into `outdir` only on success."""
    with StagedAssembly(outdir) as staged:
        build_app(config, staged.path, validation=validation).app.synth()
        staged.commit()
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
