"""The demo archive's source side: what it holds, where, and that it is made once per content."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from netnsfix.archive.repodata import parse_primary, parse_repomd
from netnsfix.demo.archive import DEMO_TREE, STAMP, build_demo_archive, make_tarball
from netnsfix.rpm.extract import extract, read_header
from netnsfix.util.fsutil import sha256_file

RELEASE = "releases/18/Everything/source/SRPMS"
UPDATES = "updates/18/SRPMS"


def rpms_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.rpm"))


def test_layout_as_the_archive_has_it(demo_archive) -> None:
    assert rpms_under(demo_archive.root) == [
        f"{RELEASE}/i/iproute-3.6.0-1.fc18.src.rpm",
        f"{RELEASE}/i/iputils-20121011-1.fc18.src.rpm",
        f"{UPDATES}/iproute-3.6.0-2.fc18.src.rpm",
        f"{UPDATES}/iproute-3.7.0-1.fc18.src.rpm",
    ]
    assert not list(demo_archive.root.rglob("x86_64"))  # the binary side is made elsewhere
    assert demo_archive.srpm_name == "iproute-3.6.0-2.fc18.src.rpm"
    assert demo_archive.srpm_path == demo_archive.root / UPDATES / "iproute-3.6.0-2.fc18.src.rpm"
    assert sha256_file(demo_archive.srpm_path) == demo_archive.srpm_sha256
    assert demo_archive.srpm_path.stat().st_size == demo_archive.srpm_size


@pytest.mark.parametrize("repo", [RELEASE, UPDATES])
def test_repodata_is_gzip_and_sha256_like_fedora_18s(demo_archive, repo: str) -> None:
    repodata = demo_archive.root / repo / "repodata"
    repomd = parse_repomd((repodata / "repomd.xml").read_bytes(), repo)
    assert all(r.href.endswith(".gz") and r.checksum_type == "sha256" for r in repomd.records.values())
    assert {"primary_db", "filelists_db", "other_db"} <= set(repomd.records)  # sqlite, as yum 3.4 reads
    primary = parse_primary(
        gzip.decompress((demo_archive.root / repo / repomd.records["primary"].href).read_bytes()), repo
    )
    for package in primary:
        assert package.arch == "src"
        assert sha256_file(demo_archive.root / repo / package.location) == package.checksum


def test_the_iproute_srpm_is_built_like_fedora_18s(demo_archive, tmp_path: Path) -> None:
    header = read_header(demo_archive.srpm_path)
    assert header.nevra == "iproute-3.6.0-2.fc18.src"
    assert header.payload_compressor == "xz"
    files = extract(demo_archive.srpm_path, tmp_path / "src")
    tarball = next(p for p in files if p.name == "iproute2-3.6.0.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        ipnetns = tar.extractfile("iproute2-3.6.0/ip/ipnetns.c").read()
    assert names[0] == "iproute2-3.6.0" and all(n.startswith("iproute2-3.6.0") for n in names)
    assert ipnetns == (DEMO_TREE / "ip" / "ipnetns.c").read_bytes()
    assert "Patch0:         iproute2-3.6.0-demo-version.patch" in (tmp_path / "src" / "iproute.spec").read_text()


def test_tarball_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    make_tarball(DEMO_TREE, tmp_path / "a.tar.gz", "iproute2-3.6.0")
    make_tarball(DEMO_TREE, tmp_path / "b.tar.gz", "iproute2-3.6.0", mtime=1349265600)
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.mtime) for m in members} == {(0, 0, "root", 1349265600)}


def test_second_call_reuses_and_leaves_the_binary_side_alone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = tmp_path / "archive"
    binary = root / "releases/18/Everything/x86_64/os/repodata/repomd.xml"
    binary.parent.mkdir(parents=True)
    binary.write_text("the binary side's")
    first = build_demo_archive(root, cache)
    inode = first.srpm_path.stat().st_ino
    second = build_demo_archive(root, cache)
    assert second == first
    assert second.srpm_path.stat().st_ino == inode  # nothing was copied again
    assert binary.read_text() == "the binary side's"
    assert json.loads((root / STAMP).read_text())["key"] == first.key
    # another folder: copied from the cache, same bytes
    other = build_demo_archive(tmp_path / "elsewhere", cache)
    assert other.srpm_sha256 == first.srpm_sha256 and other.root == (tmp_path / "elsewhere").resolve()


def test_a_damaged_archive_is_made_again(demo_archive, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = tmp_path / "archive"
    made = build_demo_archive(root, cache)
    made.srpm_path.write_bytes(b"damaged")
    assert build_demo_archive(root, cache).srpm_sha256 == made.srpm_sha256
    assert hashlib.sha256(made.srpm_path.read_bytes()).hexdigest() == made.srpm_sha256
    assert not [p for p in root.rglob(".*") if p.name != STAMP]  # no temporary folders left


def test_dnf_reads_it_and_picks_the_same_srpm(demo_archive, demo_mirror: str, tmp_path: Path, need_tool) -> None:
    """dnf (what a Fedora user would run) agrees with netnsfix's resolution."""
    need_tool("dnf")
    import subprocess

    command = [
        "dnf",
        "-q",
        "--setopt=reposdir=/dev/null",
        f"--setopt=cachedir={tmp_path / 'dnf'}",
        "--releasever=18",
        f"--repofrompath=release,{demo_mirror}/{RELEASE}",
        f"--repofrompath=updates,{demo_mirror}/{UPDATES}",
        "--repo=release",
        "--repo=updates",
        "repoquery",
        "--arch=src",
        "--latest-limit=1",
        "--qf=%{name}-%{evr}.%{arch} %{location}",
        "iproute-3.6.0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [demo_archive.nevra, demo_archive.srpm_name]


def test_the_same_bytes_wherever_it_is_built(demo_archive, tmp_path: Path) -> None:
    """Fixed times, owner, host and relative build paths: two cold builds give one sha256."""
    again = build_demo_archive(tmp_path / "archive", tmp_path / "another-cache")
    assert again.packages == demo_archive.packages
