"""netnsfix demo --fleet: the demo's published repository rolled out to two booted nodes, and proved there.

The nodes are demo.fleetnodes' systemd containers with demo.nodefiles' Fedora 18
Quantum files (network1 as quantum-server-setup left it, compute1 as
quantum-node-setup did); tests/fleet/test_fleet_nodes.py drives the same nodes
through ``netnsfix fleet`` one action at a time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from netnsfix.cli import main
from netnsfix.demo.fleet import NODES, PREFIX, expect
from netnsfix.errors import DemoError
from netnsfix.fleet.results import NodeResult
from netnsfix.fleet.run import FleetRun


def _tables(out: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Each fleet table the demo printed: its action and its rows by node (result, ok, changed, failed, unreachable)."""
    found = []
    for block in re.split(r"^\$ netnsfix fleet ", out, flags=re.M)[1:]:
        action, _, body = block.partition("\n")
        rows = {}
        for line in body.splitlines()[1:]:
            match = re.match(r"^(\S+)\s+(would change|up to date|\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(\s|$)", line)
            if match and match[1] in NODES:
                rows[match[1]] = list(match.groups()[1:6])
        found.append((action.strip(), rows))
    return found


def _containers() -> set[str]:
    listed = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    )
    return {name for name in listed.stdout.split() if name.startswith(PREFIX)}


def test_without_ansible_the_fleet_demo_says_so_in_one_line_and_builds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    monkeypatch.setattr(sys, "executable", str(fake / "python"))
    monkeypatch.setenv("PATH", str(fake))
    workdir = tmp_path / "demo"
    code = main(["demo", "--workdir", str(workdir), "--fleet"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (out, err)
    assert err.count("\n") == 1 and "pip install 'netnsfix[fleet]'" in err and "Traceback" not in err, err
    assert not workdir.exists()


def test_the_stage_fails_when_a_plan_or_a_node_says_otherwise(tmp_path: Path) -> None:
    def run(action: str, *nodes: NodeResult) -> FleetRun:
        return FleetRun(action, nodes, 1.0, tmp_path)

    changed, same = NodeResult("network1", ok=23, changed=10), NodeResult("compute1", ok=20)
    expect(run("plan", changed, NodeResult("compute1", ok=23, changed=10)), True)  # both would change: fine
    expect(run("plan", NodeResult("network1", ok=20), same), False)
    with pytest.raises(
        DemoError, match="fleet plan: expected changes on every node, got network1 10 changed, compute1 0 changed"
    ):
        expect(run("plan", changed, same), True)
    with pytest.raises(DemoError, match="expected nothing left to change, got network1 10 changed"):
        expect(run("plan", changed, same), False)
    with pytest.raises(DemoError, match=r"fleet verify failed on compute1 \(the table above says why\)"):
        expect(run("verify", NodeResult("network1", ok=1), NodeResult("compute1", ok=1, failed=1)), None)
    with pytest.raises(DemoError, match="fleet apply failed on network1"):
        expect(run("apply", NodeResult("network1", unreachable=1), same), None)


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.engine
def test_demo_fleet_plans_applies_plans_and_verifies_on_two_nodes(
    tmp_path: Path, docker_client, need_root, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _containers()
    workdir = tmp_path / "demo"
    assert main(["demo", "--workdir", str(workdir), "--fleet"]) == 0
    out = capsys.readouterr().out
    stages = [line.removeprefix("== ") for line in out.splitlines() if line.startswith("== ")]
    assert stages[-2:] == ["verify", "fleet"], stages
    tables = _tables(out)
    assert [action for action, _ in tables] == ["plan", "apply", "plan", "verify"], out
    (_, plan), (_, apply), (_, replan), (_, verify) = tables
    for rows in (plan, apply, replan, verify):
        assert set(rows) == set(NODES), out  # the table shows both nodes
        assert all(row[3] == "0" and row[4] == "0" for row in rows.values()), out  # none failed, none unreachable
    assert all(row[0] == "would change" and int(row[2]) > 0 for row in plan.values()), out
    assert all(row[0] == "changed" and int(row[2]) > 0 for row in apply.values()), out
    assert all(row[0] == "up to date" and row[2] == "0" for row in replan.values()), out
    assert all(row[0] == "PASS" for row in verify.values()), out
    for name in NODES:
        assert f"{name}: PASS mounts: /sys kept" in out, out
        assert f"{name}: PASS agent-netns-exec-restart" in out, out
    assert "FAIL" not in out.split("$ netnsfix fleet verify")[1]
    assert "+libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver" in out  # plan's diffs
    summary = "fleet       network1, compute1: plan would change (exit 1) -> apply changed -> plan up to date (exit 0)"
    assert f"{summary} -> verify passed" in out, out
    assert (workdir / "fleet" / "project" / "site.yml").is_file()
    assert _containers() <= before, "a demo fleet node was left behind"
