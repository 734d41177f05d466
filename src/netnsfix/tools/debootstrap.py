"""A Debian root file system made with debootstrap, cached by what went in.

The Fedora archive cannot be reached here, so the demo archive's binary side
(working binaries repackaged as RPMs) and the harness's systemd image are both
made from a debootstrapped Debian. Building one takes about 30 s; it is kept
under the cache and shared by every caller that asks for the same packages.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import CommandError
from netnsfix.util.command import run
from netnsfix.util.paths import cache_dir

DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"


@dataclass(frozen=True)
class DebianRoot:
    path: Path
    key: str
    include: tuple[str, ...]


def _key(suite: str, variant: str, include: tuple[str, ...], mirror: str, extra_suites: tuple[str, ...] = ()) -> str:
    parts: list[object] = [suite, variant, sorted(include), mirror]
    if extra_suites:  # keeps the keys (and so the cached roots) of callers without extra suites
        parts.append(sorted(extra_suites))
    data = json.dumps(parts).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def ensure_debian_root(
    include: tuple[str, ...],
    *,
    suite: str = SUITE,
    variant: str = "minbase",
    mirror: str = DEFAULT_MIRROR,
    cache: Path | None = None,
    extra_suites: tuple[str, ...] = (),
) -> DebianRoot:
    """Return a debootstrapped root with ``include`` installed, making it once.

    Concurrent callers wait on a lock; a failed debootstrap leaves nothing in
    the cache (it runs in a temporary folder that is renamed on success).
    ``extra_suites`` lets ``include`` take packages from other suites too (the
    fleet's nodes take bullseye's python2.7, the last Debian Python 2).
    """
    base = (cache or cache_dir()) / "debian-roots"
    base.mkdir(parents=True, exist_ok=True)
    key = _key(suite, variant, include, mirror, extra_suites)
    final = base / key
    with open(base / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "etc" / "debian_version").exists():
            return DebianRoot(final, key, include)
        work = base / f".{key}.partial"
        shutil.rmtree(work, ignore_errors=True)
        command = [
            "debootstrap",
            f"--variant={variant}",
            f"--include={','.join(sorted(include))}",
            *([f"--extra-suites={','.join(extra_suites)}"] if extra_suites else []),
            suite,
            str(work),
            mirror,
        ]
        try:
            run(command, what=f"debootstrap {suite} into {work}")
        except CommandError:
            shutil.rmtree(work, ignore_errors=True)
            raise
        work.rename(final)
        return DebianRoot(final, key, include)
