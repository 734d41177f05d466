"""The role's one restart handler on a booted node: once per unit, only units the node has, owed until done.

One network node (rn1, the community.docker connection) booted as tests/fleet/test_fleet_nodes.py boots
its nodes, with the released quantum-l3-agent.service made runnable: its ExecStart binary,
/usr/bin/quantum-l3-agent, is a script that counts its starts in a file and then sleeps, run as the unit's
User=quantum. The evidence that a restart happened is that counter and the unit's InvocationID (systemd
gives every start a new one); the restart marker is /var/lib/netnsfix/restart-owed.json on the node.
The tests run in file order on the same node; each says what state it leaves. The last one gives the
node a newer iproute: the package module must fail it, as rpm refuses the downgrade.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
from fleetkit import REPO_IN_NODE, prepare_node, read, sh, site
from hostroot import make_node_root

from netnsfix.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.engine]

MARKER = "/var/lib/netnsfix/restart-owed.json"
STARTS = "/var/lib/netnsfix-test/l3-starts"
AGENT = f"""#!/bin/sh
# stands in for quantum's l3 agent: counts its starts, then stays up as the real one does
echo "$$" >> {STARTS}
exec sleep 100000
"""
# The role, then a pause before the play's handlers run: the controller is killed there.
KILL_PLAYBOOK = """\
- name: Apply, then wait before the handlers
  hosts: all
  gather_facts: false
  roles:
    - role: netnsfix.node.node
  tasks:
    - name: Waiting to be killed
      ansible.builtin.pause:
        seconds: 300
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory, engine):
    from netnsfix.demo.fleetnodes import booted_nodes, ensure_node_image, published_repo
    from netnsfix.recipe import find_recipe

    base = tmp_path_factory.mktemp("fleet-restart")
    published = published_repo(find_recipe("iproute-3.6.0-fc18"), base / "demo")
    image = ensure_node_image(engine, published.glibc_rpm)
    with booted_nodes(engine, image, ("rn1",), "netnsfix-fleetrestart") as nodes:
        container = nodes["rn1"].container
        prepare_node(container, make_node_root(base / "root", plugin_ini=True), published.repo)
        container.put_archive("/usr/bin", _single("quantum-l3-agent", AGENT.encode(), 0o755))
        sh(container, "useradd --system --no-create-home quantum && mkdir -p /var/lib/netnsfix-test")
        sh(container, "chown quantum /var/lib/netnsfix-test && systemctl daemon-reload")
        sh(container, "systemctl start quantum-l3-agent.service")
        inventory = base / "inventory.ini"
        inventory.write_text(
            f"[network]\nrn1 ansible_connection=community.docker.docker ansible_host={container.name}\n"
        )
        (base / "site.toml").write_text(site("rn1"))
        args = ["-i", str(inventory), "--site", str(base / "site.toml"), "--repo", str(published.repo)]
        args += ["--repo-url", f"file://{REPO_IN_NODE}"]
        yield {"container": container, "base": base, "args": args, "inventory": inventory}


def fleet_cli(capsys, action: str, node) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["fleet", action, *node["args"]])
    return code, capsys.readouterr().out


def starts(container) -> int:
    return len(sh(container, f"cat {STARTS}").split())


def invocation(container) -> str:
    return sh(container, "systemctl show -p InvocationID --value quantum-l3-agent.service").strip()


def owed(container) -> list[str] | None:
    data = read(container, MARKER)
    return None if data is None else json.loads(data)["units"]


def test_each_unit_restarts_once_and_a_unit_the_node_lacks_is_not_restarted(node, capsys) -> None:
    container = node["container"]
    assert sh(container, "systemctl is-active quantum-l3-agent.service").strip() == "active"
    # this node has no nova-compute nor cinder-volume unit, yet vif_driver and quantum_config owe them a restart
    missing = "openstack-nova-compute.service"
    assert "LoadState=not-found" in sh(container, f"systemctl show -p LoadState {missing}")
    before, started = starts(container), invocation(container)
    code, out = fleet_cli(capsys, "apply", node)
    assert code == 0, out
    # privatetmp, iptables_path and quantum_config each owe quantum-l3-agent a restart: it restarts once
    assert starts(container) == before + 1, out
    assert invocation(container) != started
    assert re.search(r"Restart the units owed a restart: restarted [^;]*quantum-l3-agent", out), out
    assert re.search(r"not loaded here: [^;]*openstack-nova-compute", out), out
    assert owed(container) is None  # every unit done: the marker is gone
    code, out = fleet_cli(capsys, "apply", node)  # nothing changed, nothing owed: no restart
    assert code == 0 and starts(container) == before + 1, out
    assert re.search(r"^rn1 +ok +\d+ +0 +0 +0 ", out, re.M), out


def test_a_restart_that_fails_fails_the_node_and_stays_owed(node, capsys) -> None:
    """Left: the steps undone (files as released), quantum-l3-agent running; nothing owed."""
    container = node["container"]
    dropin = "/etc/systemd/system/quantum-l3-agent.service.d/zz-test-fails.conf"
    sh(container, f"printf '[Service]\\nExecStartPre=/bin/false\\n' > {dropin} && systemctl daemon-reload")
    before = starts(container)
    code, out = fleet_cli(capsys, "undo", node)  # the undo changes the files, so the agents are owed a restart
    assert code == 1 and re.search(r"^rn1 +FAIL ", out, re.M), out
    assert "systemctl try-restart quantum-l3-agent.service: exit" in out, out
    assert "quantum-l3-agent" in (owed(container) or []), out  # still owed, for the next run
    assert starts(container) == before
    sh(container, f"rm {dropin} && systemctl daemon-reload && systemctl start quantum-l3-agent.service")
    before = starts(container)
    code, out = fleet_cli(capsys, "undo", node)  # nothing left to undo, but the restart is still owed
    assert code == 0, out
    assert starts(container) == before + 1 and owed(container) is None, out


def test_a_killed_controller_leaves_the_restart_owed_and_the_next_apply_performs_it(node, capsys) -> None:
    from netnsfix.fleet.ansible import base_environment, program

    container = node["container"]
    project = node["base"] / "project"
    assert main(["fleet", "export", *node["args"], "-o", str(project)]) == 0
    (project / "kill.yml").write_text(KILL_PLAYBOOK)
    before, started = starts(container), invocation(container)
    assert owed(container) is None and b"libvirt_vif_driver = nova" not in (
        read(container, "/etc/nova/nova.conf") or b""
    )
    env = base_environment(project) | {"ANSIBLE_STDOUT_CALLBACK": "default"}
    playbook = subprocess.Popen(
        [program("ansible-playbook"), "-i", str(node["inventory"]), "kill.yml"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        assert playbook.stdout is not None
        deadline = time.monotonic() + 300
        for line in playbook.stdout:
            seen.append(line)
            if "TASK [Waiting to be killed]" in line or time.monotonic() > deadline:
                break
        assert any("TASK [Waiting to be killed]" in line for line in seen), "".join(seen)
    finally:
        os.killpg(playbook.pid, signal.SIGKILL)  # the controller and its workers, with no chance to clean up
        playbook.wait()
    assert playbook.returncode == -signal.SIGKILL
    # the files changed, the handler never ran: the restart is owed on the node, not done
    assert b"libvirt_vif_driver = nova" in (read(container, "/etc/nova/nova.conf") or b""), "".join(seen)
    assert "quantum-l3-agent" in (owed(container) or []), "".join(seen)
    assert starts(container) == before and invocation(container) == started
    code, out = fleet_cli(capsys, "plan", node)  # nothing left to change but the owed restart: plan says so
    assert code == 1 and re.search(r"restart owed: [^;]*quantum-l3-agent", out), out
    code, out = fleet_cli(capsys, "apply", node)
    assert code == 0, out
    assert starts(container) == before + 1 and invocation(container) != started, out
    assert owed(container) is None


def _single(name: str, data: bytes, mode: int) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_newer_installed_iproute_fails_the_node_and_is_kept(node, capsys) -> None:
    """rpm refuses the downgrade, as before: the node fails with rpm's own line and keeps its iproute."""
    from rpmkit import build_rpms

    container = node["container"]
    built = build_rpms("iproute", 0, version="9.0", release="1").glob("iproute-9.0-1.*.rpm")
    (newer,) = [path for path in built if not path.name.endswith(".src.rpm")]
    container.put_archive("/tmp", _single(newer.name, newer.read_bytes(), 0o644))
    sh(container, f"rpm -U --justdb --nodeps /tmp/{newer.name}")  # the database says a newer iproute is there
    code, out = fleet_cli(capsys, "apply", node)
    assert code == 1 and re.search(r"^rn1 +FAIL ", out, re.M), out
    assert "which is newer than iproute-3.6.0" in out and "rpm -U iproute-3.6.0" in out, out
    assert sh(container, "rpm -q iproute").strip() == newer.name.removesuffix(".rpm")
