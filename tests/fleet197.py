"""What a run of ``netnsfix fleet`` on a node booted with systemd 197 must show (scripts/fidelity/record-fleet197).

``check_fleet197(text)`` asserts every claim the README makes about that run on a transcript in the
booted.txt form (``## PART``, ``$ COMMAND``, output, ``exit N``): tests/fidelity reads the recorded
fixture with it in CI and a fresh recording with it where systemd 197 is built. A transcript that does
not show a claim fails it (tests/fidelity/test_fleet_systemd197.py doctors the fixture to prove that).
"""

from __future__ import annotations

import re

from unitdump import answers, sections

from netnsfix.collection.plugins.module_utils.privatetmp import override

RUNNING = "quantum-l3-agent"
PRESENT = ("quantum-dhcp-agent", "quantum-l3-agent", "quantum-openvswitch-agent")
ABSENT = "quantum-server"
MISSING = "netnsfix-absent.service"
AGENT_TMP = (
    f"sh -c pid=$(systemctl show -p MainPID {RUNNING}.service | cut -d= -f2); echo MainPID=$pid; "
    'awk \'$5 == "/tmp" {print "mount at /tmp from " $4}\' /proc/$pid/mountinfo'
)
FLEET = "netnsfix fleet {} -i INVENTORY --project PROJECT"
EXPORT = "netnsfix fleet export -i INVENTORY -o PROJECT --site SITE --repo REPO --repo-url file:///srv/netnsfix-repo"
RESTARTS = (
    f"restarted {RUNNING}; not loaded here: {ABSENT}, openstack-nova-compute, openstack-cinder-volume; "
    "not running: quantum-dhcp-agent, quantum-openvswitch-agent"
)


def said(part: str, command: str) -> tuple[list[str], int]:
    """The (last) run of ``command`` in ``part``: its output lines and exit code."""
    found = answers(part)
    assert command in found, f"the transcript has no '$ {command}' there"
    return found[command]


def every(part: str, command: str) -> list[tuple[list[str], int]]:
    """Each run of ``command`` in ``part``, in order (``answers`` keeps only the last)."""
    found: list[tuple[list[str], int]] = []
    output: list[str] | None = None
    for line in part.splitlines():
        if line.startswith("$ "):
            output = [] if line[2:] == command else None
        elif output is not None and re.fullmatch(r"exit \d+", line):
            found.append((output, int(line[5:])))
            output = None
        elif output is not None:
            output.append(line)
    return found


def written_units(lines: list[str]) -> dict[str, str]:
    """The text a plan's diffs add to each /etc/systemd/system/NAME.service."""
    added: dict[str, str] = {}
    current = ""
    for line in lines:
        if line.startswith("+++ "):
            current = line[4:]
        elif line.startswith("+") and current.startswith("/etc/systemd/system/"):
            added[current] = added.get(current, "") + line[1:] + "\n"
    return added


def shown(part: str, unit: str) -> dict[str, str]:
    lines, code = said(part, f"systemctl show -p LoadState -p ActiveState -p PrivateTmp {unit}.service")
    assert code == 0, (unit, lines)
    return dict(line.partition("=")[::2] for line in lines)


def fragment(part: str, unit: str) -> str:
    lines, code = said(part, f"systemctl show -p FragmentPath {unit}.service")
    assert code == 0 and len(lines) == 1 and lines[0].startswith("FragmentPath="), lines
    return lines[0].removeprefix("FragmentPath=")


def private_tmp_mounts(part: str) -> tuple[str, list[str]]:
    """The running agent's MainPID and the roots of the mounts at /tmp in its mount namespace."""
    lines, code = said(part, AGENT_TMP)
    assert code == 0 and lines and lines[0].startswith("MainPID="), lines
    return lines[0], [line.removeprefix("mount at /tmp from ") for line in lines[1:]]


def table_row(lines: list[str]) -> list[str]:
    """The node's row of a fleet table: node, result words..., counts."""
    rows = [line.split() for line in lines if line.startswith("f18node ")]
    assert rows, lines
    return rows[0]


def check_fleet197(text: str) -> None:
    parts = sections(text)
    pid1 = parts["PID 1 and sshd"]
    assert said(pid1, "readlink /proc/1/exe") == (["/usr/lib/systemd/systemd"], 0)
    assert said(pid1, "systemctl --version")[0][0] == "systemd 197"
    assert said(pid1, "systemctl show -p Version") == (["Version=systemd 197"], 0)  # PID 1's own answer
    ssh = said(pid1, "systemctl show -p LoadState -p ActiveState -p SubState ssh.service")
    assert ssh == (["LoadState=loaded", "ActiveState=active", "SubState=running"], 0)
    assert said(pid1, "test -e /usr/bin/systemd-run") == ([], 1)  # 197 has none: the probes must not need it

    lacks = parts["a unit the node lacks"]
    lines, code = said(lacks, f"systemctl show {MISSING}")
    assert code == 0 and f"Id={MISSING}" in lines and "LoadState=error" in lines
    assert 'LoadError=org.freedesktop.DBus.Error.FileNotFound "No such file or directory"' in lines
    assert "PrivateTmp=no" in lines  # a missing unit "has" PrivateTmp=no: read it only with LoadState=loaded
    lines, code = said(lacks, f"systemctl try-restart {MISSING}")
    assert code == 6 and f"Unit {MISSING} failed to load: No such file or directory." in lines[0]

    packaged = parts["as packaged"]
    for unit in PRESENT:
        state = shown(packaged, unit)
        assert (state["LoadState"], state["PrivateTmp"]) == ("loaded", "yes"), (unit, state)
    assert shown(packaged, RUNNING)["ActiveState"] == "active"
    assert shown(packaged, ABSENT)["LoadState"] == "error"
    pid_before, mounts = private_tmp_mounts(packaged)
    assert any(root.startswith("/systemd-private-") for root in mounts), mounts

    runs = parts["fleet plan, apply, plan"]
    lines, code = said(runs, EXPORT)
    assert (
        code == 0 and lines[0] == "wrote PROJECT: site.yml, verify.yml, undo.yml, collection netnsfix.node for 1 nodes"
    )
    plans = every(runs, FLEET.format("plan"))
    assert len(plans) == 2, plans
    lines, code = plans[0]
    assert code == 1 and table_row(lines)[1:3] == ["would", "change"], lines
    # below 198 the step writes the .include override (the library's bytes) for each unit the node has
    assert written_units(lines) == {f"/etc/systemd/system/{u}.service": override(u).decode() for u in PRESENT}
    assert "netnsfix-privatetmp.conf" not in "\n".join(lines)  # no drop-in
    lines, code = said(runs, FLEET.format("apply"))
    assert code == 0 and table_row(lines)[1] == "changed", lines
    assert f"Restart the units owed a restart: {RESTARTS}" in lines[1], lines
    lines, code = plans[1]
    assert code == 0 and table_row(lines)[1:4] == ["up", "to", "date"], lines

    after = parts["after apply"]
    for unit in PRESENT:
        assert shown(after, unit)["PrivateTmp"] == "no", unit  # systemd 197 itself
        assert fragment(after, unit) == f"/etc/systemd/system/{unit}.service"
    assert shown(after, ABSENT)["LoadState"] == "error"
    pid_after, mounts = private_tmp_mounts(after)
    assert pid_after != pid_before, "the running agent was not restarted"
    assert not any(root.startswith("/systemd-private-") for root in mounts), mounts
    assert said(after, "test -e /var/lib/netnsfix/restart-owed.json") == ([], 1)  # nothing left owed

    lines, code = said(parts["fleet verify"], FLEET.format("verify"))
    assert code == 0 and table_row(lines)[1] == "PASS", lines
    assert not [line for line in lines if " FAIL " in line or "NO-ANSWER" in line], lines
    for check in ("netns-exec", "mounts", "systemd-start", "agent-netns-exec-start", "agent-netns-exec-restart"):
        assert any(line.startswith(f"f18node: PASS {check}: ") for line in lines), check
    assert f"f18node: INFO agent-unit: the agent-like unit (PrivateTmp=no, as {RUNNING}.service has it)" in lines

    edited = parts["must fail: the override set back to PrivateTmp=true"]
    assert said(edited, f"systemctl show -p PrivateTmp {RUNNING}.service") == (["PrivateTmp=yes"], 0)
    lines, code = said(edited, FLEET.format("verify"))
    assert code == 1 and table_row(lines)[1] == "FAIL", lines
    assert any(
        line.startswith("f18node: FAIL agent-netns-exec-start: ") and "Invalid argument" in line for line in lines
    ), lines

    undo = parts["fleet undo"]
    assert said(undo, FLEET.format("apply"))[1] == 0  # the override put back first
    lines, code = said(undo, FLEET.format("undo"))
    assert code == 0 and table_row(lines)[1] == "changed", lines
    for unit in PRESENT:
        assert f"/etc/systemd/system/{unit}.service removed" in lines[1]
        assert shown(undo, unit)["PrivateTmp"] == "yes", unit
        assert fragment(undo, unit) == f"/usr/lib/systemd/system/{unit}.service"
    assert said(undo, "sh -c ls /etc/systemd/system | grep quantum; true") == ([], 0)

    unpatched = parts["must fail: the unpatched ip"]
    assert said(unpatched, FLEET.format("apply"))[1] == 0
    lines, code = said(unpatched, FLEET.format("verify"))
    assert code == 1 and table_row(lines)[1] == "FAIL", lines
    assert any(line.startswith("f18node: FAIL mounts: /sys was replaced") for line in lines), lines
    # what 197's systemctl then says is no namespace left behind (the scenario marks its daemon-reload)
    assert any(line.startswith("f18node: PASS netns-deleted: nothing left at /run/netns/") for line in lines), lines
