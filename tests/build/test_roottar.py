"""RPM payloads into one tar: metadata from headers, owners through the packages' passwd, links kept."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from rpmrepo import Spec, build_rpm

from netnsfix.build.roottar import plan_rootfs, tar_chunks, write_tar
from netnsfix.errors import UnpackError

SETUP = Spec(
    "setup",
    arch="noarch",
    files={
        "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\\ndaemon:x:2:2::/sbin:/sbin/nologin\\n",
        "/etc/group": "root:x:0:\\nmail:x:12:\\n",
    },
)
FILESYSTEM = Spec(
    "filesystem", arch="x86_64", dirs=["/usr", "/usr/bin", "/opt"], symlinks={"/bin": "usr/bin"}, modes={"/opt": "0711"}
)
TOOLS = Spec(
    "tools",
    arch="x86_64",
    dirs=["/opt/d"],
    files={"/opt/d/a": "hello", "/usr/bin/x": "xx", "/bin/y": "yy", "/opt/d/shared": "same"},
    hardlinks={"/opt/d/b": "/opt/d/a", "/opt/d/c": "/opt/d/a"},
    symlinks={"/opt/l": "d/a"},
    modes={"/usr/bin/x": "4755", "/opt/d/a": "0640"},
    owners={
        "/opt/d/a": ("daemon", "mail"),
        "/opt/d/b": ("daemon", "mail"),
        "/opt/d/c": ("daemon", "mail"),
        "/opt/d/shared": ("nobody-here", "root"),
    },
)
TWIN = Spec(
    "twin",
    arch="x86_64",
    dirs=["/opt/d"],
    files={"/opt/d/shared": "same"},
    owners={"/opt/d/shared": ("nobody-here", "root")},
)
CLASH = Spec("clash", arch="x86_64", files={"/usr/bin/y": "different"})


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    import shutil

    from testkit import unavailable

    if shutil.which("rpmbuild") is None:
        unavailable("rpmbuild is not installed")
    work = tmp_path_factory.mktemp("rootfs")
    return {s.name: build_rpm(s, work) for s in (SETUP, FILESYSTEM, TOOLS, TWIN, CLASH)}


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_tar_keeps_modes_owners_links_and_resolves_usrmove(rpms):
    out = io.BytesIO()
    order = [rpms["filesystem"], rpms["setup"], rpms["tools"], rpms["twin"]]
    report = write_tar(order, out)
    got = members(out.getvalue())
    names = list(got)
    # parents come before children; /bin is a symlink, so /bin/y lands in /usr/bin
    assert names.index("usr") < names.index("usr/bin") < names.index("usr/bin/x")
    assert got["bin"].issym() and got["bin"].linkname == "usr/bin"
    assert "usr/bin/y" in got and "bin/y" not in got
    assert got["opt"].isdir() and got["opt"].mode == 0o711
    assert got["usr/bin/x"].mode == 0o4755 and got["usr/bin/x"].uid == 0
    a = got["opt/d/a"]
    assert a.isfile() and a.mode == 0o640 and (a.uid, a.gid) == (2, 12) and a.size == 5
    assert got["opt/d/b"].islnk() and got["opt/d/b"].linkname == "opt/d/a"
    assert got["opt/d/c"].islnk() and got["opt/d/c"].linkname == "opt/d/a"
    assert got["opt/l"].issym() and got["opt/l"].linkname == "d/a"
    assert a.mtime > 1_000_000_000
    # an identical file in two packages is written once; an unknown owner is 0 and reported
    assert names.count("opt/d/shared") == 1 and got["opt/d/shared"].uid == 0
    assert report.unknown_owners == ("user nobody-here",)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.extractfile("opt/d/a").read() == b"hello"
        assert tar.extractfile("usr/bin/y").read() == b"yy"


def test_streamed_chunks_equal_the_written_tar(rpms):
    order = [rpms["filesystem"], rpms["setup"], rpms["tools"]]
    out = io.BytesIO()
    write_tar(order, out)
    assert b"".join(tar_chunks(order)) == out.getvalue()


def test_a_differing_file_in_two_packages_is_an_error_naming_both(rpms):
    with pytest.raises(
        UnpackError, match=r"/usr/bin/y: shipped by tools-1.0-1.fc18.x86_64 and clash-1.0-1.fc18.x86_64"
    ):
        plan_rootfs([rpms["filesystem"], rpms["tools"], rpms["clash"]])


def test_not_an_rpm(tmp_path: Path):
    bogus = tmp_path / "bogus.rpm"
    bogus.write_bytes(b"not an rpm at all" * 10)
    with pytest.raises(UnpackError, match=rf"^{bogus}: not an RPM \(no RPM lead\)$"):  # rpm/header.py's one message
        plan_rootfs([bogus])


def test_errors_in_the_producer_reach_the_consumer(rpms, tmp_path: Path):
    bad = tmp_path / "cut.rpm"
    data = rpms["tools"].read_bytes()
    bad.write_bytes(data[: len(data) - 200])
    with pytest.raises(UnpackError):
        b"".join(tar_chunks([rpms["filesystem"], bad]))


def test_payload_cache_gives_the_same_tar(rpms, tmp_path: Path):
    order = [rpms["filesystem"], rpms["setup"], rpms["tools"]]
    plain, first, second = io.BytesIO(), io.BytesIO(), io.BytesIO()
    write_tar(order, plain)
    write_tar(order, first, payload_cache=tmp_path / "payloads")
    kept = sorted((tmp_path / "payloads").rglob("*.cpio"))
    assert len(kept) == 3 and not list((tmp_path / "payloads").rglob("*.partial"))
    write_tar(order, second, payload_cache=tmp_path / "payloads")
    assert plain.getvalue() == first.getvalue() == second.getvalue()


@pytest.mark.parametrize(
    "name, why",
    [("./../../etc/evil", r"contains '\.\.'"), ("/etc/evil", "has an absolute path"), ("./usr/bin/x", "appears twice")],
)
def test_a_hostile_payload_name_is_refused_by_the_one_reader(rpms, tmp_path: Path, name: str, why: str):
    from cpiokit import cpio, cpio_entry, craft

    payload = cpio(cpio_entry("./usr/bin/x", b"xx", ino=1), cpio_entry(name, b"evil", ino=2))
    hostile = craft(rpms["tools"], tmp_path / "hostile.rpm", payload)
    with pytest.raises(UnpackError, match=rf"^{hostile}: member '{name}' {why}"):
        write_tar([rpms["filesystem"], hostile], io.BytesIO())
