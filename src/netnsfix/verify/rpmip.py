"""Take the ``ip`` binary out of an RPM without installing it (``verify --rpm``).

rpmfile reads the payload (gzip, xz as in Fedora 18, zstd as rpmbuild 4.18
and later Fedoras write) in pure Python; a symlink to ip inside the package
is followed.
"""

from __future__ import annotations

from pathlib import Path

import rpmfile

from netnsfix.errors import VerifyError
from netnsfix.util.fsutil import atomic_write_bytes

CANDIDATES = ("usr/sbin/ip", "sbin/ip")


def _clean(name: str) -> str:
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name


def extract_ip(rpm: Path, dest: Path) -> tuple[Path, str]:
    """Write the RPM's /usr/sbin/ip or /sbin/ip to ``dest/ip``; return it and its path in the RPM."""
    if not rpm.is_file():
        raise VerifyError(f"{rpm}: no such RPM file")
    try:
        with rpmfile.open(str(rpm)) as package:
            members = {_clean(m.name): m for m in package.getmembers()}
            for name in CANDIDATES:
                member = members.get(name)
                hops = 0
                while member is not None and member.issymlink and hops < 5:
                    target = package.extractfile(member).read().decode()
                    base = Path("/" + name).parent
                    name = _clean(str((base / target).resolve()) if not target.startswith("/") else target)
                    member, hops = members.get(name), hops + 1
                if member is not None and not member.isdir and not member.issymlink:
                    data = package.extractfile(member).read()
                    break
            else:
                raise VerifyError(f"{rpm}: carries no /sbin/ip or /usr/sbin/ip ({len(members)} files in the package)")
    except VerifyError:
        raise
    except Exception as error:  # noqa: BLE001 - rpmfile raises many kinds on a bad file
        raise VerifyError(f"{rpm}: cannot read the RPM ({type(error).__name__}: {error})") from None
    target = dest / "ip"
    atomic_write_bytes(target, data, mode=0o755)
    return target, "/" + name
