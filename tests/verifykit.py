"""Helpers the verify tests share: namespaces and containers left behind, test RPMs.

The fixtures (the ip variants, Debian's ip, the systemd image) are in conftest.py.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def host_netns() -> set[str]:
    """Entries under the host's /run/netns (the harness must leave none)."""
    folder = Path("/run/netns")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def verify_containers(client, pid: int | None = None) -> list:
    """Containers that process ``pid`` (default: this one) booted and left behind.

    Filtered by the creator's pid label, since other test runs on this machine
    boot containers with the same names at the same time.
    """
    from netnsfix.verify.systemd_image import PID_LABEL

    return client.containers.list(all=True, filters={"label": f"{PID_LABEL}={pid or os.getpid()}"})


def netns_of(pid: int = 1) -> str:
    return subprocess.run(["readlink", f"/proc/{pid}/ns/net"], capture_output=True, text=True).stdout.strip()


SPEC = """\
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
Name: iproute-netnsfix-test
Version: 3.6.0
Release: 1
Summary: an ip binary for netnsfix's verify tests
License: GPLv2+
AutoReqProv: no
%description
An ip binary packaged the way iproute packages it, for netnsfix verify --rpm.
%install
install -D -m 0755 %{_sourcedir}/ip %{buildroot}%{ippath}
%{?linkfrom:mkdir -p %{buildroot}$(dirname %{linkfrom}); ln -s %{linkto} %{buildroot}%{linkfrom}}
%files
%{ippath}
%{?linkfrom:%{linkfrom}}
"""
PAYLOADS = {"gzip": "w9.gzdio", "xz": "w2.xzdio", "zstd": "w19.zstdio"}


def build_rpm(
    binary: Path, folder: Path, *, ippath: str = "/sbin/ip", payload: str = "xz", link: tuple[str, str] | None = None
) -> Path:
    """rpmbuild -bb an RPM that carries ``binary`` at ``ippath`` (and a symlink ``link`` = (from, to))."""
    top = folder / "rpmbuild"
    (top / "SOURCES").mkdir(parents=True)
    (top / "SOURCES" / "ip").write_bytes(binary.read_bytes())
    spec = folder / "ip.spec"
    spec.write_text(SPEC)
    defines = {"_topdir": str(top), "ippath": ippath, "_binary_payload": PAYLOADS[payload]}
    if link:
        defines |= {"linkfrom": link[0], "linkto": link[1]}
    command = ["rpmbuild", "-bb", "--nodeps", "--quiet"]
    for key, value in defines.items():
        command += ["--define", f"{key} {value}"]
    result = subprocess.run([*command, str(spec)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (rpm,) = (top / "RPMS").rglob("*.rpm")
    return rpm
