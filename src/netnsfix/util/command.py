"""What an external command left behind, as every seam that runs one reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def last_line(stderr: str, stdout: str) -> str:
    """What a failed command said last: the last line of its stderr, else of its stdout, else "no output"."""
    lines = (stderr or stdout).strip().splitlines()
    return lines[-1] if lines else "no output"
