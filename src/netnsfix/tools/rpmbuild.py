"""The seam to rpmbuild on this machine (Debian's rpm package).

Used for the patched SRPM (``-bs``) and the prep check (``-bp``). Payloads
are xz like Fedora 18's, whose rpm 4.10 cannot read zstd.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from netnsfix.errors import CommandError
from netnsfix.util.command import CommandResult, last_line

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
    if shutil.which("rpmbuild") is None:
        raise CommandError("rpmbuild: not installed (apt-get install rpm)")
    args = ["rpmbuild", mode, "--nodeps", "--define", f"_topdir {topdir}", "--define", f"_sourcedir {sourcedir}"]
    if srcrpmdir is not None:
        args += ["--define", f"_srcrpmdir {srcrpmdir}"]
    for key, value in (*COMPAT_DEFINES, *(defines or {}).items()):
        args += ["--define", f"{key} {value}"]
    args.append(str(spec))
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError(
            f"rpmbuild {mode} {spec.name} failed (exit {result.returncode}): {last_line(result.stderr, result.stdout)}"
        )
    return CommandResult(tuple(args), result.returncode, result.stdout, result.stderr)
