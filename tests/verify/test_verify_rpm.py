"""``verify --rpm``: the ip inside an RPM that rpmbuild made (gzip, xz as Fedora 18, zstd)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rpmfile
from verifykit import build_rpm

from netnsfix.errors import VerifyError
from netnsfix.verify.rpmip import extract_ip


@pytest.mark.parametrize("payload", ["gzip", "xz", "zstd"])
def test_extracts_sbin_ip_whatever_the_payload(
    need_tool, variants: dict[str, Path], tmp_path: Path, payload: str
) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["upstream"], tmp_path, payload=payload)
    with rpmfile.open(str(rpm)) as package:
        assert package.headers.get("archive_compression", b"").decode() == payload
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
