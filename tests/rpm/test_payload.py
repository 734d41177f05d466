"""The one cpio reader: every compressor rpm writes, members as the archive holds them, one set of name checks."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from cpiokit import LINK, TINY_SPEC, cpio, cpio_entry, craft, folder, link, rpmbuild_bs, spec_entry

from netnsfix.errors import UnpackError
from netnsfix.rpm.extract import extract
from netnsfix.rpm.header import read_header
from netnsfix.rpm.payload import members, read_members

RPM = Path("/x/crafted.rpm")


def read(payload: bytes) -> list[tuple[str, int, str, bytes]]:
    return [(m.path, stat.S_IFMT(m.mode), m.linkto, m.data.read()) for m in members(io.BytesIO(payload), RPM)]


@pytest.mark.parametrize(
    "payload, compressor", [("w9.gzdio", "gzip"), ("w9.bzdio", "bzip2"), ("w19.zstdio", "zstd"), ("w9.xzdio", "xz")]
)
def test_payload_compressors(tmp_path: Path, need_tool, payload: str, compressor: str) -> None:
    """One rpmbuild per compressor, read by the cpio reader and extracted (the extractor's check too)."""
    need_tool("rpmbuild")
    srpm = rpmbuild_bs(TINY_SPEC, tmp_path, payload)
    assert read_header(srpm).payload_compressor == compressor
    found = [(m.path, m.data.read()) for m in read_members(srpm)]
    assert found == [("tiny.spec", (tmp_path / "tiny.spec").read_bytes())]
    assert [p.name for p in extract(srpm, tmp_path / "x")] == ["tiny.spec"]
    assert (tmp_path / "x" / "tiny.spec").read_bytes() == (tmp_path / "tiny.spec").read_bytes()


def test_members_with_their_kinds_links_and_hard_links(demo_archive, tmp_path: Path) -> None:
    payload = cpio(
        spec_entry(),
        folder("./docs", ino=2),
        link("./docs/spec", "../iproute.spec", ino=3),
        cpio_entry("./one", b"", ino=7, nlink=2),
        cpio_entry("./two", b"linked", ino=7, nlink=2),
        cpio_entry("big", b"z" * 300_000, ino=8),
    )
    crafted = craft(demo_archive.srpm_path, tmp_path / "ok.src.rpm", payload)
    got = {m.path: m for m in read_members(crafted)}
    assert list(got) == ["iproute.spec", "docs", "docs/spec", "one", "two", "big"]
    assert got["docs"].kind == stat.S_IFDIR and got["docs/spec"].linkto == "../iproute.spec"
    assert (got["one"].ino, got["one"].nlink, got["one"].size) == (7, 2, 0)
    assert got["two"].name == "./two" and got["two"].size == 6
    assert got["big"].mtime == 1349265600


def test_data_is_streamed_and_skipped_when_unread() -> None:
    payload = cpio(cpio_entry("a", b"x" * 10), cpio_entry("b", b"yy"), cpio_entry("c", b"zzz"))
    seen = []
    for member in members(io.BytesIO(payload), RPM):
        seen.append((member.path, member.data.read(4) if member.path != "b" else b""))
    assert seen == [("a", b"xxxx"), ("b", b""), ("c", b"zzz")]


def test_the_archive_root_is_dot() -> None:
    assert read(cpio(folder("."), cpio_entry("./f", b"1")))[0][:2] == (".", stat.S_IFDIR)


BAD_NAMES = {
    "absolute": (cpio_entry("/etc/cron.d/evil", b"x"), r"member '/etc/cron\.d/evil' has an absolute path"),
    "dot-dot": (cpio_entry("../../evil.sh", b"x"), r"member '\.\./\.\./evil\.sh' contains '\.\.'"),
    "dot-dot inside": (cpio_entry("sub/../../evil", b"x"), r"member 'sub/\.\./\.\./evil' contains '\.\.'"),
    "dot-slash dot-dot": (cpio_entry("./../evil", b"x"), r"member '\./\.\./evil' contains '\.\.'"),
    "NUL in the name": (cpio_entry(b"ok\0/../../evil", b"x"), r"member 'ok\\x00/\.\./\.\./evil' has a NUL byte"),
    "empty name": (cpio_entry("", b"x"), r"a member has an empty name"),
    "twice": (cpio_entry("f", b"1") + cpio_entry("./f", b"2"), r"member '\./f' appears twice in the payload"),
    "twice, once as a folder": (link("l", "sub") + folder("l/"), r"member 'l/' appears twice in the payload"),
    "long symlink target": (link("l", "a/" * 2100), r"member 'l' is a symlink with a 4200-byte target"),
    "NUL in a symlink target": (link("l", "a\0b"), r"member 'l' is a symlink whose target has a NUL byte"),
}


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_bad_names_are_one_line_naming_the_rpm_and_member(case: str) -> None:
    entries, message = BAD_NAMES[case]
    with pytest.raises(UnpackError, match=rf"^{RPM}: {message}") as caught:
        read(cpio(spec_entry(), entries))
    assert "\n" not in str(caught.value)


BROKEN = {
    "no trailer": (spec_entry(), r"the payload ends without a cpio trailer"),
    "cut inside the trailer": (cpio(spec_entry())[:-120], r"the payload ends early"),
    "cut inside a member": (cpio(cpio_entry("big", b"y" * 1000))[:600], r"the payload ends inside member 'big'"),
    "cut inside a name": (cpio_entry("a-long-name", b"")[:115], r"the payload ends early"),
    "not newc": (b"070707" + b"0" * 200, r"the payload is not a cpio \(newc\) archive: magic b'070707' at byte 0"),
    "rpm's stripped cpio": (b"07070X" + b"0" * 200, r"the payload is rpm's stripped cpio"),
    "hex that is not": (b"070701" + b"zz" * 60, r"corrupt cpio header at byte 0"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_archive_is_one_line(case: str) -> None:
    payload, message = BROKEN[case]
    with pytest.raises(UnpackError, match=rf"^{RPM}: {message}"):
        read(payload)


def test_symlink_members_carry_their_target() -> None:
    assert read(cpio(link("a", "b/c"))) == [("a", stat.S_IFLNK, "b/c", b"")]
    assert LINK & 0o777 == 0o777
