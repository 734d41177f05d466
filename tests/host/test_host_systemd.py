"""The privatetmp drop-ins as a real systemd sees them (the harness's systemd container, Debian 12's 252).

The unit files and the drop-ins netnsfix wrote into a Fedora 18 root whose
systemd.pc says 252 (the harness's own systemd: the step writes drop-ins from
198) are copied into a booted container; after ``systemctl daemon-reload``
systemd must list the drop-in in ``systemctl cat`` and run the agents with
PrivateTmp off. The < 198 form (the .include unit) is proven on systemd 197
itself: tests/fidelity (step.txt, recorded by scripts/fidelity/record-privatetmp-step).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hostroot import cli, make_node_root

from netnsfix.collection.plugins.module_utils.privatetmp import UNITS
from netnsfix.verify.systemd_image import booted, ensure_systemd_image

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def tar_of(root: Path, paths: list[str]) -> bytes:
    """A tar of ``paths`` (relative to ``root``) with their folders, for put_archive at /."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in paths:
            tar.add(root / path, arcname=path, recursive=True)
    return buffer.getvalue()


def run(container, *argv: str) -> str:
    result = container.exec(argv)
    assert result.exit_code == 0, f"{' '.join(argv)}: {result.output}"
    return result.output


def test_systemd_runs_the_agents_without_private_tmp(engine, tmp_path, capsys) -> None:
    root = make_node_root(tmp_path / "root", systemd=252)
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root))[0] == 0
    image = ensure_systemd_image(engine)
    with booted(engine, image, name_prefix="netnsfix-test-host") as container:
        units = [f"usr/lib/systemd/system/{unit}.service" for unit in UNITS]
        assert container.put_archive("/", tar_of(root, units))
        run(container, "systemctl", "daemon-reload")
        assert (
            run(container, "systemctl", "show", "-p", "PrivateTmp", "quantum-l3-agent.service").strip()
            == "PrivateTmp=yes"
        )

        dropins = [f"etc/systemd/system/{unit}.service.d" for unit in UNITS]
        assert container.put_archive("/", tar_of(root, dropins))
        run(container, "systemctl", "daemon-reload")
        shown = run(container, "systemctl", "cat", "quantum-l3-agent.service")
        assert "# /etc/systemd/system/quantum-l3-agent.service.d/netnsfix-privatetmp.conf" in shown
        assert shown.rstrip().endswith("[Service]\nPrivateTmp=false")
        for unit in UNITS:
            assert (
                run(container, "systemctl", "show", "-p", "PrivateTmp", f"{unit}.service").strip() == "PrivateTmp=no"
            ), unit
