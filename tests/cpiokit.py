"""Crafted RPMs for the reader's tests: newc cpio members written by hand, inside a real SRPM's lead and headers.

The newc layout (a 110-byte ASCII header: "070701", then 13 eight-digit hex
fields ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
rdevmajor, rdevminor, namesize, check; the name with its NUL; data; each padded
to 4 bytes; "TRAILER!!!" last) is cpio(5)'s "New ASCII Format", which rpm writes
(lib/cpio.c, rpm-software-management/rpm).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import subprocess
from pathlib import Path

import zstandard

from netnsfix.rpm.header import read_header

TINY_SPEC = """\
Name:           tiny
Epoch:          1
Version:        1.0
Release:        3%{?dist}
Summary:        A spec with versioned BuildRequires
License:        MIT
BuildRequires:  gcc >= 4.7
BuildRequires:  make
BuildRequires:  foo < 2
BuildRequires:  bar = 1.0-1
BuildRequires:  baz <= 3, qux > 0.1

%description
tiny

%prep
%build
%files
"""

DIR = stat.S_IFDIR | 0o755
LINK = stat.S_IFLNK | 0o777


def rpmbuild_bs(spec_text: str, tmp_path: Path, payload: str = "w9.xzdio") -> Path:
    spec = tmp_path / "tiny.spec"
    spec.write_text(spec_text)
    out = tmp_path / f"out-{payload}"
    subprocess.run(
        [
            "rpmbuild",
            "-bs",
            "--quiet",
            "--define",
            f"_topdir {tmp_path / 'top'}",
            "--define",
            f"_srcrpmdir {out}",
            "--define",
            f"_sourcedir {tmp_path}",
            "--define",
            "dist .fc18",
            "--define",
            f"_source_payload {payload}",
            str(spec),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    return next(out.glob("*.src.rpm"))


def cpio_entry(
    name: str | bytes, data: bytes = b"", mode: int = stat.S_IFREG | 0o644, ino: int = 1, nlink: int = 1
) -> bytes:
    encoded = (name if isinstance(name, bytes) else name.encode()) + b"\0"
    fields = [ino, mode, 0, 0, nlink, 1349265600, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % v for v in fields) + encoded
    header += b"\0" * ((4 - len(header) % 4) % 4)
    return header + data + b"\0" * ((4 - len(data) % 4) % 4)


def link(name: str, target: str, ino: int = 0) -> bytes:
    return cpio_entry(name, target.encode(), LINK, ino=ino)


def folder(name: str, mode: int = 0o755, ino: int = 0) -> bytes:
    return cpio_entry(name, mode=stat.S_IFDIR | mode, ino=ino)


def cpio(*entries: bytes) -> bytes:
    return b"".join(entries) + cpio_entry("TRAILER!!!", mode=0, ino=0)


COMPRESS = {
    "xz": lambda b: lzma.compress(b, format=lzma.FORMAT_XZ),
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


def craft(srpm: Path, out: Path, payload: bytes) -> Path:
    """``srpm`` with its payload replaced by ``payload``, compressed as its header says."""
    header = read_header(srpm)
    data = srpm.read_bytes()[: header.payload_offset]
    out.write_bytes(data + COMPRESS[header.payload_compressor](payload))
    return out


def spec_entry() -> bytes:
    return cpio_entry("iproute.spec", b"Name: iproute\n")
