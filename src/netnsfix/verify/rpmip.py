"""Take the ``ip`` binary out of an RPM without installing it (``verify --rpm``).

The package is unpacked by the project's one safe extraction
(:func:`netnsfix.rpm.extract.extract`: gzip, bzip2, xz as in Fedora 18, zstd
as rpmbuild 4.18 and later Fedoras write; every member checked, no link
leading out) into a scratch folder, so that a symlink to ip inside the package
is followed only within the package's own tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from netnsfix.errors import UnpackError, VerifyError
from netnsfix.rpm.extract import extract
from netnsfix.util.fsutil import atomic_write_bytes

CANDIDATES = ("usr/sbin/ip", "sbin/ip")


def _inside(root: Path, name: str) -> tuple[Path, str] | None:
    """``root/name`` with its links followed, if that is a regular file inside ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(root / name)
    if os.path.commonpath([real_root, real]) != real_root or not os.path.isfile(real):
        return None
    return Path(real), os.path.relpath(real, real_root)


def extract_ip(rpm: Path, dest: Path) -> tuple[Path, str]:
    """Write the RPM's /usr/sbin/ip or /sbin/ip to ``dest/ip``; return it and its path in the RPM."""
    if not rpm.is_file():
        raise VerifyError(f"{rpm}: no such RPM file")
    dest.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".rpm-", dir=dest))
    try:
        try:
            files = extract(rpm, scratch / "root")
        except UnpackError as error:
            raise VerifyError(rpm, f"cannot read the RPM: {error.problem}") from error
        for name in CANDIDATES:
            found = _inside(scratch / "root", name)
            if found is not None:
                data = found[0].read_bytes()
                inside = "/" + found[1]
                break
        else:
            raise VerifyError(f"{rpm}: carries no /sbin/ip or /usr/sbin/ip ({len(files)} files in the package)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    target = dest / "ip"
    atomic_write_bytes(target, data, mode=0o755)
    return target, inside
