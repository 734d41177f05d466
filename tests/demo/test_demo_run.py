"""netnsfix demo: the whole pipeline against the demo archive, for both recipes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from netnsfix.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.engine]


@pytest.mark.root
@pytest.mark.parametrize(
    ("recipe", "own_view"),
    [("iproute-3.6.0-fc18", False), ("iproute-3.6.0-fc18-upstream", True)],
)
def test_demo_builds_publishes_installs_and_proves_the_fix(
    recipe: str, own_view: bool, tmp_path: Path, docker_client, need_root, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "demo"
    assert main(["demo", recipe, "--workdir", str(workdir)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    # The stand-in says what it cannot be: its build root's glibc is Debian 12's, not Fedora 18's 2.16.
    assert "warning: the build root's glibc is 2.36" in captured.out + captured.err
    assert "newer than Fedora 18's 2.16" in captured.out + captured.err
    # Every stage ran, in order.
    stages = [line.removeprefix("== ") for line in out.splitlines() if line.startswith("== ")]
    assert stages == ["demo archive", "srpm", "build root", "build", "publish", "install with dnf", "verify"]
    # The SRPM and RPM carry the bumped release, and dnf installed that RPM from the published repository.
    build = json.loads((workdir / "out" / recipe / "build" / "manifest.json").read_text())
    rpms = [o["path"] for o in build["outputs"] if o["kind"] == "rpm"]
    assert len(rpms) == 1 and rpms[0].startswith("iproute-3.6.0-2.netnsfix1")
    assert rpms[0].endswith(".fc18.x86_64.rpm")
    assert (workdir / "repo" / "Packages" / "i" / rpms[0]).is_file()
    assert f"installed   {rpms[0].removesuffix('.rpm')}" in out
    assert (workdir / "dnf" / "root" / "usr" / "sbin" / "ip").is_file()
    # Published signed (netnsfix's own key, by default), and dnf installed it with gpgcheck=1: it
    # imported the key netnsfix.repo names into the root's rpm database.
    repo_text = (workdir / "repo" / "netnsfix.repo").read_text()
    assert "gpgcheck=1\n" in repo_text and "gpgkey=file://" in repo_text
    key_id = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--import-options", "show-only", "--import"],
        input=(workdir / "repo" / "RPM-GPG-KEY-netnsfix").read_bytes(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    long_id = next(line.split(":")[4] for line in key_id.splitlines() if line.startswith("pub:"))
    imported = subprocess.run(
        ["rpm", "--root", str(workdir / "dnf" / "root"), "-q", "gpg-pubkey", "--qf", "%{VERSION}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert imported == [long_id[-8:].lower()]
    # The proof: the installed ip passes, the unpatched 3.6.0-like one shows the bug.
    assert "fixed ip    built and installed: mounts pass, view info, systemd pass" in out
    assert "3.6.0 ip    unpatched 3.6.0-like: mounts fail, view info, systemd fail" in out
    # Bug 881741 with the installed ip: the quantum-like unit as packaged is caught, the step's drop-in fixes it.
    assert "privatetmp  Bug 881741, quantum-like unit: as packaged fail (caught), with the step's file pass" in out
    view = next(line for line in out.splitlines() if line.startswith("view "))
    expected = "own /sys: sees lo (" if own_view else "host's /sys: sees "
    assert expected in view, view
    # The build log says the patch was applied.
    patch = "iproute-3.6.0-netns-make-rslave.patch" if own_view else "iproute-3.6.0-netns-keep-sys.patch"
    assert patch in (workdir / "out" / recipe / "build" / "build.log").read_text()
