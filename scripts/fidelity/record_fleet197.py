"""Run ``netnsfix fleet`` (plan, apply, plan, verify, undo) over real SSH on a node whose PID 1 is systemd 197.

The node: demo.fleetnode197's image (the fleet node with v197 as scripts/fidelity/systemd197 built it),
booted as every fleet node boots (DESIGN.md section 3). Its files are a Fedora 18 network node's
(demo.nodefiles) without quantum-server.service (the server runs elsewhere: a unit this node lacks, so
systemd 197 answers LoadState=error for it), a user ``quantum`` and a stand-in quantum-l3-agent (a
shell that sleeps) started before the apply, so the restart handler has one running, two stopped and
one missing unit to deal with. Ansible reaches the node over SSH with a key (its sshd runs under 197).

Recorded, in order (the booted.txt form: ``## PART``, ``$ COMMAND``, its output, ``exit N``): PID 1 and
sshd; 197's plain ``systemctl show`` of a missing unit; the quantum units as packaged (systemd's
answers, and whether the running agent has a /tmp of its own); fleet export, then plan, apply, plan
with ``--project`` (the exported project, as a user runs it); systemd's
answers after the apply; fleet verify; verify on the override set back to PrivateTmp=true (must fail);
apply (puts it back), fleet undo and systemd's answers after it; apply again and verify on the unpatched
3.6.0 ip (must fail). Container names,
addresses, temporary paths and run times are replaced by NODE, ADDRESS, WORK and T so the text is stable.
Only docker runs systemd 197's binaries, inside the node; the host runs netnsfix, Ansible and ssh.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from netnsfix.demo.fleetnode197 import ensure_node_image_197, tree_present
from netnsfix.demo.fleetnodes import (
    authorize_key,
    booted_nodes,
    files_tar,
    make_key,
    node_run,
    published_repo,
    put_files,
)
from netnsfix.demo.ipvariants import build_named_variant
from netnsfix.demo.nodefiles import UNIT_DIR, UNITS, make_node_root
from netnsfix.recipe import find_recipe
from netnsfix.tools.engine import Container, connect

PROJECT = Path(__file__).resolve().parents[2]
NETNSFIX = [sys.executable, "-m", "netnsfix"]
NODE = "f18node"
PREFIX = "netnsfix-fleet197"
REPO_IN_NODE = "/srv/netnsfix-repo"
MISSING = "netnsfix-absent.service"
ABSENT_UNIT = "quantum-server"  # not on this node
RUNNING_UNIT = "quantum-l3-agent"  # started before the apply
SERVICES = sorted(f"{unit}.service" for unit in UNITS)
OVERRIDE = f"/etc/systemd/system/{RUNNING_UNIT}.service"
AGENT = b"#!/bin/sh\n# stands in for quantum-l3-agent: runs until stopped\nexec sleep 1000000\n"
SITE = (
    '[fleet]\npkg_backend = "rpm"\n\n[defaults]\nprivate_nic = "eth2"\niscsi_ip_address = "192.168.1.101"\n\n'
    f'[nodes.{NODE}]\npublic_nic = "eth1"\n'
)
# the agent's own /tmp: a second mount at /tmp, from /systemd-private-*, in its mount namespace (PrivateTmp=yes)
AGENT_TMP = (
    f"pid=$(systemctl show -p MainPID {RUNNING_UNIT}.service | cut -d= -f2); "
    'echo MainPID=$pid; awk \'$5 == "/tmp" {print "mount at /tmp from " $4}\' /proc/$pid/mountinfo'
)


class Transcript:
    def __init__(self, container: Container, work: Path, address: str, inventory: Path, site: Path, repo: Path):
        self.container, self.lines = container, []  # type: ignore[var-annotated]
        self.replace = [(str(work / "project"), "PROJECT"), (str(work), "WORK"), (address, "ADDRESS")]
        self.replace.append((container.name, "NODE"))
        self.inventory, self.project = inventory, work / "project"
        self.sources = ["--site", str(site), "--repo", str(repo), "--repo-url", f"file://{REPO_IN_NODE}"]

    def clean(self, text: str) -> str:
        for old, new in self.replace:
            text = text.replace(old, new)
        return re.sub(r"\b\d+\.\d+ s\b", "T s", text)

    def part(self, name: str) -> None:
        self.lines.append(f"## {name}")

    def say(self, *argv: str) -> tuple[str, int]:
        """``argv`` in the node (systemd 197's systemctl when it is one), recorded."""
        result = self.container.exec(list(argv))
        self.lines += [f"$ {' '.join(argv)}", *self.clean(result.output).splitlines(), f"exit {result.exit_code}"]
        return result.output, result.exit_code

    def sh(self, script: str) -> tuple[str, int]:
        result = self.container.exec(["sh", "-c", script])
        self.lines += [f"$ sh -c {script}", *self.clean(result.output).splitlines(), f"exit {result.exit_code}"]
        return result.output, result.exit_code

    def units(self) -> None:
        for service in SERVICES:
            self.say("systemctl", "show", "-p", "LoadState", "-p", "ActiveState", "-p", "PrivateTmp", service)

    def export(self) -> int:
        """``netnsfix fleet export``: the Ansible project every later run uses (``--project``)."""
        argv = ["export", "-i", str(self.inventory), "-o", str(self.project), *self.sources]
        shown = f"netnsfix fleet export -i INVENTORY -o PROJECT --site SITE --repo REPO --repo-url {self.sources[-1]}"
        return self._run(argv, shown)

    def fleet(self, action: str, *extra: str) -> int:
        argv = [action, "-i", str(self.inventory), "--project", str(self.project), *extra]
        return self._run(argv, " ".join(["netnsfix fleet", action, "-i INVENTORY --project PROJECT", *extra]))

    def _run(self, argv: list[str], shown: str) -> int:
        done = subprocess.run([*NETNSFIX, "fleet", *argv], capture_output=True, text=True)
        self.lines += [f"$ {shown}", *self.clean(done.stdout + done.stderr).splitlines(), f"exit {done.returncode}"]
        return done.returncode


def prepare(container: Container, root: Path, repo: Path, public_key: bytes) -> None:
    """The node's Fedora 18 files (no quantum-server.service), the repository, the NICs, the agent, the key."""
    (root / UNIT_DIR.lstrip("/") / f"{ABSENT_UNIT}.service").unlink()
    put_files(container, root)
    node_run(container, "mkdir", "-p", REPO_IN_NODE)
    tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", "."], check=True, capture_output=True).stdout
    container.put_archive(REPO_IN_NODE, tar)
    for nic in ("eth1", "eth2"):
        node_run(container, "/usr/bin/ip", "link", "add", nic, "type", "veth", "peer", "name", f"{nic}-peer")
    container.put_archive("/usr/bin", files_tar({RUNNING_UNIT: (AGENT, 0o755)}))
    node_run(container, "useradd", "--system", "--no-create-home", "quantum")
    node_run(container, "systemctl", "daemon-reload")
    node_run(container, "systemctl", "start", f"{RUNNING_UNIT}.service")
    authorize_key(container, public_key)
    node_run(container, "systemctl", "restart", "ssh.service")


def record(work: Path) -> str:
    """The whole run's transcript (see the module docstring)."""
    engine = connect()
    published = published_repo(find_recipe("iproute-3.6.0-fc18"), work / "demo")
    unpatched = build_named_variant("unpatched", work / "variants")
    image = ensure_node_image_197(engine, published.glibc_rpm)
    key = make_key(work)
    with booted_nodes(engine, image, (NODE,), PREFIX) as nodes:
        node = nodes[NODE]
        prepare(
            node.container,
            make_node_root(work / "root", plugin_ini=True),
            published.repo,
            key.with_suffix(".pub").read_bytes(),
        )
        inventory = work / "inventory.ini"
        inventory.write_text(
            f"[network]\n{NODE} ansible_host={node.address} ansible_user=root ansible_ssh_private_key_file={key} "
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
        )
        site = work / "site.toml"
        site.write_text(SITE)
        t = Transcript(node.container, work, node.address, inventory, site, published.repo)
        t.lines += [
            "# netnsfix fleet over SSH on a node booted with systemd v197 as PID 1 (a throwaway container of",
            "# demo.fleetnode197's image); recorded by scripts/fidelity/record-fleet197 (its docstring says what).",
        ]
        t.part("PID 1 and sshd")
        t.say("readlink", "/proc/1/exe")
        t.say("systemctl", "--version")
        t.say("systemctl", "show", "-p", "Version")
        t.say("systemctl", "is-system-running", "--wait")  # what wait_for_systemd asks first
        t.say("systemctl", "list-jobs")  # what it asks 197 instead: nothing left once booted
        t.say("systemctl", "show", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState", "ssh.service")
        t.say("test", "-e", "/usr/bin/systemd-run")
        t.part("a unit the node lacks")
        t.say("systemctl", "show", MISSING)
        t.say("systemctl", "try-restart", MISSING)
        t.part("as packaged")
        t.units()
        t.sh(AGENT_TMP)
        t.part("fleet plan, apply, plan")
        t.export()
        t.fleet("plan")
        t.fleet("apply")
        t.fleet("plan")
        t.part("after apply")
        t.units()
        for service in SERVICES:
            t.say("systemctl", "show", "-p", "FragmentPath", service)
        t.sh(AGENT_TMP)
        t.say("test", "-e", "/var/lib/netnsfix/restart-owed.json")
        t.part("fleet verify")
        t.fleet("verify")
        t.part("must fail: the override set back to PrivateTmp=true")
        t.say("sed", "-i", "s/^PrivateTmp=false$/PrivateTmp=true/", OVERRIDE)
        t.say("systemctl", "daemon-reload")
        t.say("systemctl", "show", "-p", "PrivateTmp", f"{RUNNING_UNIT}.service")
        t.fleet("verify")
        t.part("fleet undo")
        t.fleet("apply")  # puts the override back (undo refuses to lose a hand edit)
        t.fleet("undo")
        t.units()
        for service in SERVICES:
            t.say("systemctl", "show", "-p", "FragmentPath", service)
        t.sh("ls /etc/systemd/system | grep quantum; true")
        t.part("must fail: the unpatched ip")
        t.fleet("apply")
        node.container.put_archive("/usr/sbin", files_tar({"ip": (unpatched.read_bytes(), 0o755)}))
        t.fleet("verify")
    return "\n".join(t.lines) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PROJECT / "tests" / "fixtures" / "systemd197" / "v197" / "fleet.txt"
    if not tree_present():
        print("record-fleet197: no systemd v197 install tree; run scripts/fidelity/systemd197 first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="netnsfix-fleet197-") as tmp:
        text = record(Path(tmp))
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(out.name + ".tmp")
    temp.write_text(text)
    temp.replace(out)
    print(f"record-fleet197: recorded in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
