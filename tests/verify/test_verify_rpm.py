"""``verify --rpm``: the ip inside an RPM that rpmbuild made (gzip, xz as Fedora 18, zstd)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cpiokit import cpio, cpio_entry, craft, folder, link
from verifykit import build_rpm

from netnsfix.errors import VerifyError
from netnsfix.rpm.header import read_header
from netnsfix.verify.rpmip import extract_ip


@pytest.mark.parametrize("payload", ["gzip", "xz", "zstd"])
def test_extracts_sbin_ip_whatever_the_payload(
    need_tool, variants: dict[str, Path], tmp_path: Path, payload: str
) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["upstream"], tmp_path, payload=payload)
    assert read_header(rpm).payload_compressor == payload
    ip, inside = extract_ip(rpm, tmp_path / "out")
    assert inside == "/sbin/ip"
    assert ip.name == "ip" and ip.read_bytes() == variants["upstream"].read_bytes()
    assert ip.stat().st_mode & 0o111


def test_extracts_usr_sbin_ip(need_tool, variants: dict[str, Path], tmp_path: Path) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["seed"], tmp_path, ippath="/usr/sbin/ip", payload="zstd")
    ip, inside = extract_ip(rpm, tmp_path / "out")
    assert inside == "/usr/sbin/ip" and ip.read_bytes() == variants["seed"].read_bytes()


def test_follows_a_symlink_to_the_real_binary(need_tool, variants: dict[str, Path], tmp_path: Path) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(
        variants["seed"],
        tmp_path,
        ippath="/usr/libexec/iproute/ip-real",
        link=("/usr/sbin/ip", "../libexec/iproute/ip-real"),
    )
    ip, inside = extract_ip(rpm, tmp_path / "out")
    assert inside == "/usr/libexec/iproute/ip-real"
    assert ip.read_bytes() == variants["seed"].read_bytes()


def test_an_rpm_without_ip_is_one_error(need_tool, variants: dict[str, Path], tmp_path: Path) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["seed"], tmp_path, ippath="/usr/bin/not-ip")
    with pytest.raises(VerifyError, match=r"carries no /sbin/ip or /usr/sbin/ip"):
        extract_ip(rpm, tmp_path / "out")
    assert not (tmp_path / "out" / "ip").exists()


def test_a_file_that_is_not_an_rpm_is_one_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.rpm"
    bogus.write_bytes(b"not an rpm at all")
    with pytest.raises(VerifyError, match=r"bogus\.rpm: cannot read the RPM"):
        extract_ip(bogus, tmp_path / "out")


@pytest.mark.parametrize(
    "entries, member, why",
    [
        ([link("./l1", "."), link("./l2", "l1/.."), link("./l3", "l2/..")], "./l2", "resolves outside"),
        ([link("./sbin", "../../etc")], "./sbin", "outside the destination"),
        ([folder("./lib"), link("./x", "lib"), folder("./x/sbin", 0o777)], "./x/sbin", "written through a symlink"),
    ],
)
def test_a_hostile_rpm_is_one_error_and_nothing_written(
    demo_archive, tmp_path: Path, entries: list[bytes], member: str, why: str
) -> None:
    """verify --rpm reads the package through the one safe extraction: a hostile payload is refused whole."""
    payload = cpio(cpio_entry("./usr/sbin/ip", b"\x7fELF", ino=2), *entries)
    rpm = craft(demo_archive.srpm_path, tmp_path / "hostile.rpm", payload)
    out = tmp_path / "work" / "out"
    with pytest.raises(
        VerifyError, match=rf"^{rpm}: cannot read the RPM: member '{member}' .*{why}.*nothing was extracted$"
    ):
        extract_ip(rpm, out)
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["hostile.rpm", "work"]


def test_a_truncated_rpm_is_one_error(demo_archive, tmp_path: Path) -> None:
    cut = tmp_path / "cut.rpm"
    cut.write_bytes(demo_archive.srpm_path.read_bytes()[:300])
    with pytest.raises(VerifyError, match=rf"^{cut}: cannot read the RPM: truncated header: ") as caught:
        extract_ip(cut, tmp_path / "out")
    assert "overhead" not in str(caught.value)
