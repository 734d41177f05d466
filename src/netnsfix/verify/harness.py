"""One short function that drives a verify run through the checks it is given.

The binary is staged as ``.../ip`` (iproute2's ip dispatches on its own
name), every check's preflight runs before any check does (so a missing
library is one error, not a half-run report), then each check runs and is
timed. The host's own mounts under /sys are compared before and after, as a
guard that the harness itself left the host alone.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from netnsfix.errors import CommandError, NetnsfixError, VerifyError
from netnsfix.util.command import run
from netnsfix.util.fsutil import sha256_file
from netnsfix.verify.elf import require_runnable
from netnsfix.verify.report import CheckResult, Status, VerifyResult
from netnsfix.verify.scenario import host_sys_mounts


class Check(Protocol):
    name: str

    def preflight(self, ip: Path) -> None: ...

    def run(self, ip: Path) -> CheckResult: ...


def run_checks(
    ip: Path,
    checks: Sequence[Check],
    *,
    label: str | None = None,
    image: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> VerifyResult:
    """Run ``checks`` against the ``ip`` binary at ``ip``; the result says what each found."""
    start = clock()
    kind = require_runnable(ip)  # an ELF for another machine is one clear error, not a failed step
    host_before = host_sys_mounts()
    with staged_as_ip(ip) as staged:
        for check in checks:
            check.preflight(staged)
        results = tuple(_timed(check, staged, clock) for check in checks)
        version = ip_version(staged)
    return VerifyResult(
        ip=label or str(ip),
        sha256=sha256_file(ip),
        version=version,
        checks=results,
        seconds=clock() - start,
        image=image,
        host_untouched=host_sys_mounts() == host_before,
        kind=kind.description,
        elf=kind.elf,
    )


def _timed(check: Check, ip: Path, clock: Callable[[], float]) -> CheckResult:
    start = clock()
    try:
        result = check.run(ip)
    except VerifyError:
        raise  # the input cannot be verified at all (missing libraries, ...): one error, no report
    except NetnsfixError as error:
        result = CheckResult(check.name, Status.ERROR, str(error))
    return replace(result, seconds=clock() - start)


@contextmanager
def staged_as_ip(binary: Path) -> Iterator[Path]:
    """A private copy of ``binary`` named ``ip`` (mode 0755), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="netnsfix-verify-"))
    try:
        staged = folder / "ip"
        shutil.copyfile(binary, staged)
        staged.chmod(0o755)
        yield staged
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ip_version(ip: Path) -> str:
    """``ip -V`` (best effort: empty when the binary cannot run here)."""
    try:
        result = run([ip, "-V"], timeout=5, check=False)
    except CommandError:  # cannot run here, or no answer
        return ""
    return " ".join((result.stdout or result.stderr).split())[:120] if result.returncode == 0 else ""
