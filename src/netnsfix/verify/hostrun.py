"""Run a short shell snippet on the host (outside any namespace), for the library trace."""

from __future__ import annotations

from netnsfix.errors import CommandTimeout
from netnsfix.util.command import run


def host_shell_runner(script: str, arg: str) -> tuple[int, str]:
    try:
        result = run(["sh", "-c", script, arg], timeout=20, check=False, merge_output=True)
    except CommandTimeout:
        return 124, ""
    return result.returncode, result.stdout
