"""netnsfix demo: the whole pipeline against the demo archive, for both recipes."""

from __future__ import annotations

import json
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
    out = capsys.readouterr().out
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
    # The proof: the installed ip passes, the unpatched 3.6.0-like one shows the bug.
    assert "fixed ip    built and installed: mounts pass, view info, systemd pass" in out
    assert "3.6.0 ip    unpatched 3.6.0-like: mounts fail, view info, systemd fail" in out
    # Bug 881741 with the installed ip: the quantum-like unit as packaged is caught, the step's drop-in fixes it.
    assert (
        "privatetmp  Bug 881741, quantum-like unit: as packaged fail (caught), with netnsfix-privatetmp.conf pass"
        in out
    )
    view = next(line for line in out.splitlines() if line.startswith("view "))
    expected = "own /sys: sees lo (" if own_view else "host's /sys: sees "
    assert expected in view, view
    # The build log says the patch was applied.
    patch = "iproute-3.6.0-netns-make-rslave.patch" if own_view else "iproute-3.6.0-netns-keep-sys.patch"
    assert patch in (workdir / "out" / recipe / "build" / "build.log").read_text()
