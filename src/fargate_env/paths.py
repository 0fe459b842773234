"""Where the project's files live. Imports nothing heavy: commands that only talk to AWS
(push, verify, preview list, destroy ...) read these without loading the CDK."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
