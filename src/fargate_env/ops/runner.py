"""Running external tools (docker, npx cdk): output streams straight to the terminal."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol

from fargate_env.errors import UserError


class Runner(Protocol):
    def __call__(
        self, cmd: list[str], *, stdin: bytes | None = None, cwd: Path | None = None
    ) -> int: ...


class CommandFailed(UserError):
    """An external tool failed after it started: its own output above says why; exit 1."""

    exit_code = 1


def run(cmd: list[str], *, stdin: bytes | None = None, cwd: Path | None = None) -> int:
    """Run `cmd` with inherited stdout/stderr (the tool's own progress); return its exit code."""
    try:
        return subprocess.run(cmd, input=stdin, cwd=cwd, check=False).returncode
    except FileNotFoundError:
        raise UserError(f"{cmd[0]} not found on PATH") from None
