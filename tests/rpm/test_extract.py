"""Reading RPM headers and extracting payloads, including crafted hostile ones."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import subprocess
from pathlib import Path

import pytest
import rpmfile

from netnsfix.errors import UnpackError
from netnsfix.rpm.extract import extract, read_header, spec_of

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


# -- crafting: a real SRPM's lead and headers, with a payload written here ----------


def cpio_entry(name: str, data: bytes = b"", mode: int = stat.S_IFREG | 0o644, ino: int = 1, nlink: int = 1) -> bytes:
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, 1349265600, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % v for v in fields) + encoded
    header += b"\0" * ((4 - len(header) % 4) % 4)
    return header + data + b"\0" * ((4 - len(data) % 4) % 4)


def cpio(*entries: bytes) -> bytes:
    return b"".join(entries) + cpio_entry("TRAILER!!!", mode=0, ino=0)


def craft(srpm: Path, out: Path, payload: bytes) -> Path:
    """``srpm`` with its payload replaced by ``payload``, compressed as its header says."""
    with rpmfile.open(str(srpm)) as package:
        offset = package.data_offset
        compressor = package.headers.get("archive_compression", b"gzip").decode()
    compress = {"xz": lambda b: lzma.compress(b, format=lzma.FORMAT_XZ), "gzip": gzip.compress, "bzip2": bz2.compress}[
        compressor
    ]
    out.write_bytes(srpm.read_bytes()[:offset] + compress(payload))
    return out


def spec_entry() -> bytes:
    return cpio_entry("iproute.spec", b"Name: iproute\n")


def nothing_left(dest: Path) -> bool:
    if not dest.parent.exists():  # refused before anything was made, even the destination's parent
        return True
    leftovers = [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]
    return not dest.exists() and not leftovers


# -- header ----------------------------------------------------------------------


def test_header_of_the_demo_srpm(demo_archive) -> None:
    header = read_header(demo_archive.srpm_path)
    assert (header.name, header.epoch, header.version, header.release) == ("iproute", 0, "3.6.0", "2.fc18")
    assert (header.arch, header.is_source, header.nevra) == ("src", True, "iproute-3.6.0-2.fc18.src")
    assert (header.payload_compressor, header.payload_format) == ("xz", "cpio")
    assert header.build_requires == ("gcc", "make")
    assert "rpmlib(PayloadIsXz) <= 5.2-1" in header.requires
    assert header.provides == ("iproute = 3.6.0-2.fc18",)
    assert sorted(header.files) == ["iproute.spec", "iproute2-3.6.0-demo-version.patch", "iproute2-3.6.0.tar.gz"]


def test_build_requires_keep_their_versions(tmp_path: Path, need_tool) -> None:
    need_tool("rpmbuild")
    header = read_header(rpmbuild_bs(TINY_SPEC, tmp_path))
    assert header.epoch == 1 and header.nevra == "tiny-1:1.0-3.fc18.src"
    assert header.build_requires == ("bar = 1.0-1", "baz <= 3", "foo < 2", "gcc >= 4.7", "make", "qux > 0.1")


def test_not_an_rpm(tmp_path: Path) -> None:
    junk = tmp_path / "junk.src.rpm"
    junk.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(UnpackError, match=rf"^{junk}: not an RPM \(no RPM lead\)$"):
        read_header(junk)
    with pytest.raises(UnpackError, match=r"no such file"):
        read_header(tmp_path / "missing.rpm")


# -- extraction --------------------------------------------------------------------


def test_extracts_spec_and_sources(demo_archive, tmp_path: Path) -> None:
    dest = tmp_path / "src"
    paths = extract(demo_archive.srpm_path, dest)
    assert sorted(p.name for p in paths) == sorted(read_header(demo_archive.srpm_path).files)
    spec = spec_of(paths)
    assert spec == dest / "iproute.spec"
    assert "%setup -q -n iproute2-%{version}" in spec.read_text()
    assert (dest / "iproute2-3.6.0.tar.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert stat.S_IMODE(spec.stat().st_mode) == 0o644
    assert nothing_left(tmp_path / "other")


@pytest.mark.parametrize(
    "payload, compressor", [("w9.gzdio", "gzip"), ("w9.bzdio", "bzip2"), ("w19.zstdio", "zstd"), ("w9.xzdio", "xz")]
)
def test_payload_compressors(tmp_path: Path, need_tool, payload: str, compressor: str) -> None:
    need_tool("rpmbuild")
    srpm = rpmbuild_bs(TINY_SPEC, tmp_path, payload)
    assert read_header(srpm).payload_compressor == compressor
    assert [p.name for p in extract(srpm, tmp_path / "x")] == ["tiny.spec"]


def test_unsupported_compressor_is_a_clear_error(tmp_path: Path, need_tool) -> None:
    need_tool("rpmbuild")
    srpm = rpmbuild_bs(TINY_SPEC, tmp_path, "w6.lzdio")
    with pytest.raises(UnpackError, match=r"payload compressor 'lzma' is not supported \(gzip, bzip2, xz, zstd are\)$"):
        extract(srpm, tmp_path / "x")
    assert nothing_left(tmp_path / "x")


def test_dest_must_be_new_or_empty(demo_archive, tmp_path: Path) -> None:
    dest = tmp_path / "src"
    dest.mkdir()
    (dest / "keep").write_text("mine")
    with pytest.raises(UnpackError, match=r"exists and is not an empty folder"):
        extract(demo_archive.srpm_path, dest)
    assert [p.name for p in dest.iterdir()] == ["keep"]
    (dest / "keep").unlink()
    assert len(extract(demo_archive.srpm_path, dest)) == 3


def test_rpmfile_checks_no_digest_so_crafted_payloads_are_read(demo_archive, tmp_path: Path, need_tool) -> None:
    need_tool("rpm")
    crafted = craft(demo_archive.srpm_path, tmp_path / "crafted.src.rpm", cpio(spec_entry()))
    check = subprocess.run(["rpm", "-K", "--nosignature", str(crafted)], capture_output=True, text=True)
    assert check.returncode != 0  # rpm itself sees the payload digest mismatch
    assert [p.name for p in extract(crafted, tmp_path / "x")] == ["iproute.spec"]  # rpmfile does not


HOSTILE = {
    "dot-dot member": (
        cpio(spec_entry(), cpio_entry("../../evil.sh", b"rm -rf /")),
        r"member '\.\./\.\./evil\.sh' contains '\.\.'",
    ),
    "dot-dot inside": (
        cpio(spec_entry(), cpio_entry("sub/../../evil", b"x")),
        r"member 'sub/\.\./\.\./evil' contains '\.\.'",
    ),
    "absolute member": (
        cpio(spec_entry(), cpio_entry("/etc/cron.d/evil", b"x")),
        r"member '/etc/cron\.d/evil' has an absolute path",
    ),
    "escaping symlink": (
        cpio(spec_entry(), cpio_entry("link", b"../../../etc", stat.S_IFLNK | 0o777)),
        r"member 'link' is a symlink to '\.\./\.\./\.\./etc', outside the destination",
    ),
    "absolute symlink": (
        cpio(spec_entry(), cpio_entry("link", b"/etc/passwd", stat.S_IFLNK | 0o777)),
        r"member 'link' is a symlink to the absolute path '/etc/passwd'",
    ),
    "chain of symlinks": (
        cpio(
            spec_entry(),
            cpio_entry("a/b", b"..", stat.S_IFLNK | 0o777),
            cpio_entry("c", b"a/b/..", stat.S_IFLNK | 0o777, ino=2),
        ),
        r"member 'c' is a symlink that resolves outside the destination",
    ),
    "write through a symlink": (
        cpio(
            cpio_entry("sub", mode=stat.S_IFDIR | 0o755, ino=3),
            cpio_entry("l", b"sub", stat.S_IFLNK | 0o777, ino=2),
            cpio_entry("l/x", b"x", ino=4),
        ),
        r"member 'l/x' would be written through a symlink",
    ),
    "device node": (
        cpio(spec_entry(), cpio_entry("dev", mode=stat.S_IFCHR | 0o600, ino=5)),
        r"member 'dev' is not a file, folder or symlink",
    ),
    "cut short": (
        cpio(spec_entry(), cpio_entry("big", b"y" * 1000))[:-400],
        r"the payload ends",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_payload_is_refused_and_nothing_written(demo_archive, tmp_path: Path, case: str) -> None:
    payload, message = HOSTILE[case]
    crafted = craft(demo_archive.srpm_path, tmp_path / "crafted.src.rpm", payload)
    dest = tmp_path / "out" / "src"
    with pytest.raises(UnpackError, match=rf"^{crafted}: .*{message}"):
        extract(crafted, dest)
    assert nothing_left(dest)
    assert not (tmp_path / "evil.sh").exists() and not (tmp_path / "evil").exists()


def test_links_inside_and_hard_links_are_kept(demo_archive, tmp_path: Path) -> None:
    payload = cpio(
        spec_entry(),
        cpio_entry("docs", mode=stat.S_IFDIR | 0o755, ino=2),
        cpio_entry("docs/spec", b"../iproute.spec", stat.S_IFLNK | 0o777, ino=3),
        cpio_entry("one", b"", ino=7, nlink=2),
        cpio_entry("two", b"shared", ino=7, nlink=2),
        cpio_entry("run.sh", b"#!/bin/sh\n", stat.S_IFREG | 0o755, ino=8),
    )
    dest = tmp_path / "src"
    paths = extract(craft(demo_archive.srpm_path, tmp_path / "ok.src.rpm", payload), dest)
    assert (dest / "docs" / "spec").read_text() == "Name: iproute\n"
    assert os.readlink(dest / "docs" / "spec") == "../iproute.spec"
    assert (dest / "one").read_text() == "shared" and os.path.samefile(dest / "one", dest / "two")
    assert os.access(dest / "run.sh", os.X_OK)
    assert spec_of(paths) == dest / "iproute.spec"


def test_spec_of_needs_exactly_one(tmp_path: Path) -> None:
    with pytest.raises(UnpackError, match=r"no \.spec file"):
        spec_of([tmp_path / "a.tar.gz"])
    with pytest.raises(UnpackError, match=r"more than one \.spec file"):
        spec_of([tmp_path / "a.spec", tmp_path / "b.spec"])


@pytest.mark.parametrize("damage", ["cut in half", "payload bytes flipped"])
def test_damaged_rpm_is_one_error_and_nothing_written(demo_archive, tmp_path: Path, damage: str) -> None:
    data = demo_archive.srpm_path.read_bytes()
    with rpmfile.open(str(demo_archive.srpm_path)) as package:
        offset = package.data_offset
    if damage == "cut in half":
        data = data[: offset + (len(data) - offset) // 2]
    else:
        data = data[: offset + 200] + bytes(b ^ 0xFF for b in data[offset + 200 : offset + 400]) + data[offset + 400 :]
    broken = tmp_path / "broken.src.rpm"
    broken.write_bytes(data)
    dest = tmp_path / "src"
    with pytest.raises(UnpackError, match=rf"^{broken}: (cannot extract the xz payload|the payload ends)"):
        extract(broken, dest)
    assert nothing_left(dest)
