"""Reading RPM headers: typed values, and one clear line for a file that is not a whole RPM."""

from __future__ import annotations

import stat
import struct
from pathlib import Path

import pytest
from cpiokit import TINY_SPEC, rpmbuild_bs
from rpmrepo import Spec, build_rpm

from netnsfix.errors import UnpackError
from netnsfix.rpm.header import LEAD_SIZE, read_header


def test_header_of_the_demo_srpm(demo_archive) -> None:
    header = read_header(demo_archive.srpm_path)
    assert (header.name, header.epoch, header.version, header.release) == ("iproute", 0, "3.6.0", "2.fc18")
    assert (header.arch, header.is_source, header.nevra) == ("src", True, "iproute-3.6.0-2.fc18.src")
    assert (header.payload_compressor, header.payload_format) == ("xz", "cpio")
    assert header.build_requires == ("gcc", "make")
    assert "rpmlib(PayloadIsXz) <= 5.2-1" in header.requires
    assert header.provides == ("iproute = 3.6.0-2.fc18",)
    assert sorted(header.files) == ["iproute.spec", "iproute2-3.6.0-demo-version.patch", "iproute2-3.6.0.tar.gz"]
    assert header.sourcerpm == "" and header.payload_offset > LEAD_SIZE
    assert sorted(e.path for e in header.entries) == sorted(header.files)


def test_build_requires_keep_their_versions(tmp_path: Path, need_tool) -> None:
    need_tool("rpmbuild")
    header = read_header(rpmbuild_bs(TINY_SPEC, tmp_path))
    assert header.epoch == 1 and header.nevra == "tiny-1:1.0-3.fc18.src"
    assert header.build_requires == ("bar = 1.0-1", "baz <= 3", "foo < 2", "gcc >= 4.7", "make", "qux > 0.1")


def test_file_entries_of_a_binary_package(tmp_path: Path, need_tool) -> None:
    need_tool("rpmbuild")
    spec = Spec(
        "entries",
        arch="x86_64",
        dirs=["/opt/d"],
        files={"/opt/d/a": "hello"},
        hardlinks={"/opt/d/b": "/opt/d/a"},
        symlinks={"/opt/l": "d/a"},
        modes={"/opt/d/a": "4750"},
        owners={"/opt/d/a": ("daemon", "mail"), "/opt/d/b": ("daemon", "mail")},
    )
    header = read_header(build_rpm(spec, tmp_path))
    assert (header.is_source, header.arch, header.sourcerpm) == (False, "x86_64", "entries-1.0-1.fc18.src.rpm")
    entries = {e.path: e for e in header.entries}
    a, b, d, lnk = entries["/opt/d/a"], entries["/opt/d/b"], entries["/opt/d"], entries["/opt/l"]
    assert (a.kind, stat.S_IMODE(a.mode), a.user, a.group, a.size) == ("file", 0o4750, "daemon", "mail", 5)
    assert a.inode == b.inode and a.digest == b.digest and len(a.digest) == 64
    assert (d.kind, lnk.kind, lnk.linkto) == ("dir", "symlink", "d/a")
    assert a.mtime > 1_000_000_000 and not a.ghost and a.caps == ""


def test_not_an_rpm(tmp_path: Path) -> None:
    junk = tmp_path / "junk.src.rpm"
    junk.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(UnpackError, match=rf"^{junk}: not an RPM \(no RPM lead\)$"):
        read_header(junk)
    with pytest.raises(UnpackError, match=r"no such file"):
        read_header(tmp_path / "missing.rpm")
    with pytest.raises(UnpackError, match=rf"^{tmp_path}: is a folder, not an RPM$"):
        read_header(tmp_path)


def _main_header_start(data: bytes) -> int:
    entries, size = struct.unpack("!ii", data[LEAD_SIZE + 8 : LEAD_SIZE + 16])
    end = LEAD_SIZE + 16 + 16 * entries + size
    return end + (8 - end % 8) % 8


@pytest.mark.parametrize(
    "where", ["in the lead", "in the signature header", "in the main header's index", "in its data"]
)
def test_a_truncated_header_is_one_line(demo_archive, tmp_path: Path, where: str) -> None:
    data = demo_archive.srpm_path.read_bytes()
    main = _main_header_start(data)
    cut = {
        "in the lead": 40,
        "in the signature header": LEAD_SIZE + 30,
        "in the main header's index": main + 40,
        "in its data": read_header(demo_archive.srpm_path).payload_offset - 10,
    }[where]
    broken = tmp_path / "cut.src.rpm"
    broken.write_bytes(data[:cut])
    with pytest.raises(UnpackError, match=rf"^{broken}: truncated header: the (file ends inside|RPM's) ") as caught:
        read_header(broken)
    assert "\n" not in str(caught.value) and "overhead" not in str(caught.value)


def test_a_corrupt_header_index_is_one_line(demo_archive, tmp_path: Path) -> None:
    """An index entry pointing past the header's data: rpmfile's own message would be 'offset overhead'."""
    data = bytearray(demo_archive.srpm_path.read_bytes())
    main = _main_header_start(bytes(data))
    first_entry = main + 16
    struct.pack_into("!i", data, first_entry + 8, 0x7FFFFFF0)  # tag, type, OFFSET, count
    broken = tmp_path / "corrupt.src.rpm"
    broken.write_bytes(bytes(data))
    with pytest.raises(UnpackError, match=rf"^{broken}: corrupt RPM header \(its index does not match its data\)$"):
        read_header(broken)


def test_a_header_with_wrong_magic_is_one_line(demo_archive, tmp_path: Path) -> None:
    data = bytearray(demo_archive.srpm_path.read_bytes())
    data[LEAD_SIZE : LEAD_SIZE + 4] = b"XXXX"
    broken = tmp_path / "magic.src.rpm"
    broken.write_bytes(bytes(data))
    with pytest.raises(UnpackError, match=rf"^{broken}: not an RPM: no signature header at byte {LEAD_SIZE}$"):
        read_header(broken)
