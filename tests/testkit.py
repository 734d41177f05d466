"""Helpers the tests import (conftest.py holds only fixtures and hooks, and is never imported).

``ROOT`` is the checkout; :func:`unavailable` skips locally and fails under CI;
:func:`tree_state` and :func:`changed_paths` show whether a command touched
anything outside its own output.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def next_second() -> None:
    """Wait until the clock shows a later second than any time taken before the call: what a run does next
    cannot share a timestamp kept in seconds (rpm's BUILDTIME, file times in a payload) with the run before."""
    time.sleep(1.02 - time.time() % 1)


def tree_state(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``folder`` (itself included): (mode, size, mtime_ns, sha256 or link target).

    Two states compared before and after a command show whether it touched
    anything there, even a chmod, a touch or a file rewritten with the same size.
    """
    import hashlib

    state: dict[str, tuple[int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in ["", *dirnames, *filenames] if dirpath == str(folder) else dirnames + filenames:
            path = Path(dirpath) / name if name else Path(dirpath)
            info = path.lstat()
            if path.is_symlink():
                content = "-> " + os.readlink(path)
            elif path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = ""
            state[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return state


def changed_paths(before: dict, after: dict) -> list[str]:
    """Paths added, removed or changed between two :func:`tree_state` results."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
