"""The seam to rpmbuild on this machine (Debian's rpm package).

Used for the patched SRPM (``-bs``), the prep check (``-bp``) and the demo
archive's packages. Payloads are xz like Fedora 18's, whose rpm 4.10 cannot
read zstd.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from netnsfix.util.command import CommandResult, run

# Every build says it was built here: rpm writes the host's name into BUILDHOST otherwise
# (the container's id, or this machine's name), so two builds would never agree.
BUILD_HOST = "netnsfix.build"

# SOURCE_DATE_EPOCH and the macros that use it came with rpm 4.14; Fedora 18's rpm is 4.10.
SOURCE_DATE_EPOCH_SINCE = (4, 14)


def clamped_install_post(epoch: int) -> str:
    """rpm's own %__spec_install_post (the same from 4.10 to 4.18), then every file in the build
    root stamped with ``epoch``: rpm 4.10 cannot clamp mtimes itself. Every file, not only those
    newer than ``epoch``: the build's clock may be behind it (the lock's day at noon is later than
    a build that morning), and a file's time must not depend on when it was built. Lines are
    joined with backslash-newline, which is how --define takes a body of several lines."""
    lines = (
        "%{?__debug_package:%{__debug_install_post}}",
        "%{__arch_install_post}",
        "%{__os_install_post}",
        f'find "$RPM_BUILD_ROOT" -print0 | xargs -0r touch -h -d @{epoch}',
        "%{nil}",
    )
    return "\\\n".join(lines)


def reproducible_defines(epoch: int, source_date_epoch: bool) -> dict[str, str]:
    """What makes rpmbuild's output depend on its inputs only (see README, "Reproducible outputs").

    ``epoch`` is the build's time, taken from the inputs (the newest %changelog
    entry); ``source_date_epoch``: the rpm that runs knows SOURCE_DATE_EPOCH
    (4.14+), so BUILDTIME can be that time too (rpm 4.10 always writes the clock).
    """
    defines = {
        "_buildhost": BUILD_HOST,
        "__spec_install_post": clamped_install_post(epoch),
    }
    if source_date_epoch:
        defines |= {"use_source_date_epoch_as_buildtime": "1", "clamp_mtime_to_source_date_epoch": "1"}
    return defines


def reproducible_env(epoch: int) -> dict[str, str]:
    """The environment for a reproducible rpmbuild: SOURCE_DATE_EPOCH (read by rpm 4.14+), UTC, C locale.

    rpm turns each %changelog date into a time at noon in the local time zone,
    so the time zone is fixed too."""
    return {"SOURCE_DATE_EPOCH": str(epoch), "TZ": "UTC", "LC_ALL": "C"}


def day_start(timestamp: int) -> int:
    """00:00 UTC of the day ``timestamp`` falls on: a %changelog entry's day, as the build's time."""
    return timestamp - timestamp % 86400


def rpm_version(nevras: Sequence[str]) -> tuple[int, ...] | None:
    """The version of the rpm-build package among ``nevras`` (a build root's packages), if any."""
    for nevra in nevras:
        match = re.match(r"rpm-build-(?:\d+:)?(\d+)\.(\d+)", nevra)
        if match:
            return int(match[1]), int(match[2])
    return None


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
    epoch: int | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run ``rpmbuild MODE`` on ``spec`` in a private topdir; a failure is a CommandError with its last line.

    With ``epoch`` (this machine's rpm is 4.18) the output depends on the inputs
    only: build time and file times ``epoch``, a fixed build host, UTC. The
    SRPM's header keeps the spec with its macros expanded (``%setup``'s
    ``cd BUILDDIR``, each ``%{SOURCE0}``, ``%{buildroot}``): give the folders
    relative to ``cwd`` so that no temporary path ends up there.
    """
    args = ["--nodeps", "--define", f"_topdir {topdir}", "--define", f"_sourcedir {sourcedir}"]
    if srcrpmdir is not None:
        args += ["--define", f"_srcrpmdir {srcrpmdir}"]
    for key, value in COMPAT_DEFINES:
        args += ["--define", f"{key} {value}"]
    env = None
    if epoch is not None:
        folders = {"_builddir": f"{topdir}/BUILD", "_buildrootdir": f"{topdir}/BUILDROOT"}
        defines = {**reproducible_defines(epoch, True), **folders, **(defines or {})}
        env = {**os.environ, **reproducible_env(epoch)}
    # rpm records each file's owner by name: as another user than root, fakeroot makes it root
    # (as every build root's files are), so the SRPM does not depend on who made it
    wrapper = ["fakeroot"] if epoch is not None and os.geteuid() != 0 and shutil.which("fakeroot") else []
    return rpmbuild(
        [mode, *args], spec, defines or {}, env=env, cwd=cwd, what=f"rpmbuild {mode} {spec.name}", wrapper=wrapper
    )


def rpmbuild(
    options: Sequence[str],
    spec: Path,
    defines: Mapping[str, str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    what: str | None = None,
    wrapper: Sequence[str] = (),
) -> CommandResult:
    """``rpmbuild OPTIONS --define 'KEY VALUE'... SPEC``: every rpmbuild netnsfix runs goes through here."""
    argv = [*wrapper, "rpmbuild", *options]
    for key, value in defines.items():
        argv += ["--define", f"{key} {value}"]
    argv.append(os.fspath(spec))
    return run(argv, env=env, cwd=cwd, check=check, what=what or f"rpmbuild {spec.name}")
