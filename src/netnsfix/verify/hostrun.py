"""Run a short shell snippet on the host (outside any namespace), for the library trace."""

from __future__ import annotations

import subprocess


def host_shell_runner(script: str, arg: str) -> tuple[int, str]:
    try:
        result = subprocess.run(
            ["sh", "-c", script, arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return 124, ""
    return result.returncode, result.stdout
