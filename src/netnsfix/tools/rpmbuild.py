"""The seam to rpmbuild on this machine (Debian's rpm package).

Used for the patched SRPM (``-bs``), the prep check (``-bp``) and the demo
archive's packages. Payloads are xz like Fedora 18's, whose rpm 4.10 cannot
read zstd.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from netnsfix.util.command import CommandResult, run

# What Fedora 18's rpm 4.10 can read.
COMPAT_DEFINES: tuple[tuple[str, str], ...] = (
    ("_source_payload", "w9.xzdio"),
    ("_binary_payload", "w9.xzdio"),
)


def run_rpmbuild(
    mode: str,
    spec: Path,
    topdir: Path,
    *,
    sourcedir: Path,
    srcrpmdir: Path | None = None,
    defines: dict[str, str] | None = None,
) -> CommandResult:
    """Run ``rpmbuild MODE`` on ``spec`` in a private topdir; a failure is a CommandError with its last line."""
    args = ["--nodeps", "--define", f"_topdir {topdir}", "--define", f"_sourcedir {sourcedir}"]
    if srcrpmdir is not None:
        args += ["--define", f"_srcrpmdir {srcrpmdir}"]
    for key, value in COMPAT_DEFINES:
        args += ["--define", f"{key} {value}"]
    return rpmbuild([mode, *args], spec, defines or {}, what=f"rpmbuild {mode} {spec.name}")


def rpmbuild(
    options: Sequence[str],
    spec: Path,
    defines: Mapping[str, str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    what: str | None = None,
) -> CommandResult:
    """``rpmbuild OPTIONS --define 'KEY VALUE'... SPEC``: every rpmbuild netnsfix runs goes through here."""
    argv = ["rpmbuild", *options]
    for key, value in defines.items():
        argv += ["--define", f"{key} {value}"]
    argv.append(os.fspath(spec))
    return run(argv, env=env, cwd=cwd, check=check, what=what or f"rpmbuild {spec.name}")
