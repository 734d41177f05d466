"""Extracting payloads safely, including crafted hostile ones: refused whole, nothing written anywhere."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cpiokit import TINY_SPEC, cpio, cpio_entry, craft, folder, link, rpmbuild_bs, spec_entry

from netnsfix.errors import UnpackError
from netnsfix.rpm.extract import _Writer, extract, spec_of
from netnsfix.rpm.header import read_header
from netnsfix.rpm.payload import members


def nothing_left(dest: Path) -> bool:
    if not dest.parent.exists():  # refused before anything was made, even the destination's parent
        return True
    leftovers = [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]
    return not dest.exists() and not leftovers


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


# every compressor rpm writes: tests/rpm/test_payload.py::test_payload_compressors reads and extracts each


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
        cpio_entry("two", b"linked", ino=7, nlink=2),
        cpio_entry("run.sh", b"#!/bin/sh\n", stat.S_IFREG | 0o755, ino=8),
    )
    dest = tmp_path / "src"
    paths = extract(craft(demo_archive.srpm_path, tmp_path / "ok.src.rpm", payload), dest)
    assert (dest / "docs" / "spec").read_text() == "Name: iproute\n"
    assert os.readlink(dest / "docs" / "spec") == "../iproute.spec"
    assert (dest / "one").read_text() == "linked" and os.path.samefile(dest / "one", dest / "two")
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
    offset = read_header(demo_archive.srpm_path).payload_offset
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


# -- the hostile catalogue (issue 13, item 2) ----------------------------------------------------
#
# Each payload is refused whole: one line naming the RPM and the member, nothing extracted, and the
# folders around the destination (its parent, their modes and times, everything in them) unchanged.


def chain(n: int) -> list[bytes]:
    """``n`` symlinks, each inside on its own (its target, read alone, stays in), of which only the last,
    resolved through the others, leads out of the destination (to its parent)."""
    if n == 1:
        return [link("l1", "..")]
    entries = [folder("/".join(["x"] * depth)) for depth in range(1, n - 1)]
    entries.append(link("l1", "/".join(["x"] * (n - 2)) or "."))
    return entries + [link(f"l{k}", f"l{k - 1}/..") for k in range(2, n + 1)]


def chain_message(n: int) -> tuple[str, str]:
    if n == 1:
        return "l1", r"is a symlink to '\.\.', outside the destination"
    return f"l{n}", "is a symlink that resolves outside the destination"


CATALOGUE: dict[str, tuple[list[bytes], str, str]] = {}
for _n in range(1, 9):
    _name, _message = chain_message(_n)
    CATALOGUE[f"chain of {_n}"] = (chain(_n), _name, _message)
    CATALOGUE[f"chain of {_n}, then a 0777 folder over its end"] = (
        [*chain(_n), folder(f"l{_n}", 0o777)],
        *((_name, _message) if _n == 1 else (f"l{_n}", "appears twice in the payload")),
    )
    CATALOGUE[f"chain of {_n}, then a file through it"] = (
        [*chain(_n), cpio_entry(f"l{_n}/evil", b"x")],
        *((_name, _message) if _n == 1 else (f"l{_n}/evil", r"would be written through a symlink \('l" + str(_n))),
    )
    CATALOGUE[f"chain of {_n}, then a 0777 folder through it"] = (
        [*chain(_n), folder(f"l{_n}/sub", 0o777)],
        *((_name, _message) if _n == 1 else (f"l{_n}/sub", "would be written through a symlink")),
    )
CATALOGUE |= {
    "issue 13's chain (l -> ., m -> l/.., n -> m/.., o -> n/.., folder o 0777)": (
        [link("l", "."), link("m", "l/.."), link("n", "m/.."), link("o", "n/.."), folder("o", 0o777)],
        "o",
        "appears twice in the payload",
    ),
    "issue 13's chain without the folder": (
        [link("l", "."), link("m", "l/.."), link("n", "m/.."), link("o", "n/..")],
        "m",
        "is a symlink that resolves outside the destination",
    ),
    "a link replaced by a folder": (
        [folder("sub"), link("l", "sub"), folder("l/", 0o777)],
        "l/",
        "appears twice in the payload",
    ),
    "a link replaced by a file": ([link("l", "sub"), cpio_entry("./l", b"x")], "./l", "appears twice in the payload"),
    "a folder member over a link": (
        [folder("sub"), link("l", "sub"), folder("l/d", 0o777)],
        "l/d",
        r"would be written through a symlink \('l' -> 'sub'\)",
    ),
    "a folder replaced by a link": (
        [cpio_entry("d/f", b"x"), link("d", "e")],
        "d",
        r"\(symlink\) would replace the folder earlier members are in",
    ),
    "a file used as a folder": ([cpio_entry("f", b"x"), cpio_entry("f/g", b"y")], "f/g", "inside the file 'f'"),
    "a hard link through a link to outside": (
        [
            link("l1", "."),
            link("l2", "l1/.."),
            cpio_entry("l2/h", ino=9, nlink=2),
            cpio_entry("f", b"d", ino=9, nlink=2),
        ],
        "l2/h",
        "would be written through a symlink",
    ),
    "a hard link's data through a link to outside": (
        [
            link("l1", "."),
            link("l2", "l1/.."),
            cpio_entry("h", ino=9, nlink=2),
            cpio_entry("l2/f", b"d", ino=9, nlink=2),
        ],
        "l2/f",
        "would be written through a symlink",
    ),
    "a hard link named outside": (
        [cpio_entry("../h", ino=9, nlink=2), cpio_entry("f", b"d", ino=9, nlink=2)],
        "../h",
        r"contains '\.\.'",
    ),
    "an absolute symlink": ([link("l", "/etc")], "l", "is a symlink to the absolute path '/etc'"),
    "a symlink to the destination's sibling": ([link("l", "../sibling")], "l", "outside the destination"),
    "a symlink loop": ([link("a", "b"), link("b", "a")], "a", "resolves through more than 40 links"),
    "an absolute name": ([cpio_entry("/etc/cron.d/evil", b"x")], "/etc/cron.d/evil", "has an absolute path"),
    "an absolute name, doubled slash": ([cpio_entry("//etc/evil", b"x")], "//etc/evil", "has an absolute path"),
    "a '..' name": ([cpio_entry("../evil", b"x")], "../evil", r"contains '\.\.'"),
    "a '..' name behind ./": ([cpio_entry("./../evil", b"x")], "./../evil", r"contains '\.\.'"),
    "a '..' inside a name": ([cpio_entry("a/../../evil", b"x")], "a/../../evil", r"contains '\.\.'"),
    "a '..' that stays inside": ([cpio_entry("a/../b", b"x")], "a/../b", r"contains '\.\.'"),
    "a NUL in a name": ([cpio_entry(b"a\0/../../evil", b"x")], "a\x00/../../evil", "has a NUL byte in its name"),
    "a device node": ([cpio_entry("dev", mode=stat.S_IFCHR | 0o666, ino=5)], "dev", "is not a file, folder or symlink"),
}


def snapshot(top: Path, dest: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``top`` (type, mode, times, link target, bytes) and the mode of each ancestor up to /."""
    seen: dict[str, tuple[object, ...]] = {}
    for folder_path, names, files in os.walk(top):
        for name in [".", *names, *files]:
            path = Path(folder_path) / name
            info = path.lstat()
            content: object = None
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            seen[str(path)] = (info.st_mode, info.st_mtime_ns, info.st_uid, content)
    for ancestor in dest.parents:
        info = ancestor.lstat()
        seen[f"ancestor {ancestor}"] = (info.st_mode, info.st_uid)
    return seen


@pytest.mark.parametrize("case", list(CATALOGUE))
def test_hostile_catalogue(demo_archive, tmp_path: Path, case: str) -> None:
    entries, member, message = CATALOGUE[case]
    crafted = craft(demo_archive.srpm_path, tmp_path / "crafted.src.rpm", cpio(spec_entry(), *entries))
    top = tmp_path / "top"
    parent = top.joinpath(*(f"a{i}" for i in range(1, 10)), "out")
    parent.mkdir(parents=True)
    (parent / "sibling").write_text("keep me\n")
    (top / "a1" / "mine").write_text("mine\n")
    for folder_path in [parent, *parent.relative_to(top).parents]:
        (top / folder_path).chmod(0o750)
    dest = parent / "dest"
    before = snapshot(top, dest)
    with pytest.raises(UnpackError) as caught:
        extract(crafted, dest)
    text = str(caught.value)
    assert "\n" not in text
    named = f"member {member!r}"
    assert re.match(rf"^{re.escape(str(crafted))}: {re.escape(named)} .*{message}.*; nothing was extracted$", text), (
        text
    )
    assert not dest.exists() and not list(parent.glob(".dest.*"))
    assert snapshot(top, dest) == before


def test_links_that_stay_inside_through_other_links_are_kept(demo_archive, tmp_path: Path) -> None:
    payload = cpio(
        spec_entry(),
        folder("x"),
        folder("x/x"),
        link("l1", "x/x"),
        link("l2", "l1/.."),  # x
        link("l3", "l2/.."),  # the destination itself
        link("l4", "l3/iproute.spec"),
        cpio_entry("x/x/f", b"deep"),
    )
    dest = tmp_path / "src"
    paths = extract(craft(demo_archive.srpm_path, tmp_path / "ok.src.rpm", payload), dest)
    assert {p.name for p in paths} == {"iproute.spec", "l1", "l2", "l3", "l4", "f"}
    assert (dest / "l1" / "f").read_text() == "deep" and (dest / "l4").read_text() == "Name: iproute\n"
    assert os.readlink(dest / "l2") == "l1/.." and os.path.samefile(dest / "l3", dest)


def test_modes_are_kept_without_set_id_bits(demo_archive, tmp_path: Path) -> None:
    payload = cpio(
        spec_entry(),
        cpio_entry("run", b"#!/bin/sh\n", stat.S_IFREG | 0o4755, ino=2),
        folder("locked", 0o500, ino=3),
        cpio_entry("locked/f", b"x", stat.S_IFREG | 0o400, ino=4),
    )
    dest = tmp_path / "src"
    extract(craft(demo_archive.srpm_path, tmp_path / "modes.src.rpm", payload), dest)
    assert stat.S_IMODE((dest / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "locked").stat().st_mode) == 0o700  # owner keeps access, so it can be removed
    assert stat.S_IMODE((dest / "locked" / "f").stat().st_mode) == 0o400
    assert (dest / "run").stat().st_mtime == 1349265600


def test_the_writer_never_follows_a_link_even_one_planted_under_it(tmp_path: Path) -> None:
    """The second layer: a link that appeared in the tree after the model decided is not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o750)
    root = tmp_path / "root"
    root.mkdir()
    (root / "l").symlink_to(outside)
    payload = cpio(cpio_entry("l/evil", b"x"), folder("l", 0o777))
    writer = _Writer(root)
    try:
        for member in members(io.BytesIO(payload), Path("planted.rpm")):
            with pytest.raises(OSError):
                writer.member(member)
    finally:
        writer.close()
    assert list(outside.iterdir()) == [] and stat.S_IMODE(outside.stat().st_mode) == 0o750
