"""``netnsfix demo --fleet``: the demo's published repository rolled out with ``netnsfix fleet`` to two nodes.

After the demo's usual stages, two Fedora-18-like nodes boot (demo.fleetnodes:
systemd containers whose only Python is 2.7), one network node and one compute
node, each with the Fedora 18 Quantum files of demo.nodefiles (the network
node as quantum-server-setup left it, the compute node as quantum-node-setup
did) and a copy of the published repository reached with a file:// URL. The
Ansible project is exported as ``netnsfix fleet export`` writes it, then run
as the user would: plan (every node would change), apply, plan again (nothing
left to change), verify (the proof on each node). Each run's results are
handed to ``shown`` as they come; the nodes are removed whatever happens.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netnsfix.demo.fleetnodes import booted_nodes, ensure_node_image, node_run, put_files
from netnsfix.demo.nodefiles import make_node_root
from netnsfix.errors import DemoError
from netnsfix.fleet import ansible
from netnsfix.fleet.export import export_project
from netnsfix.fleet.package import read_package
from netnsfix.fleet.run import FleetRun, Inputs, run_action
from netnsfix.fleet.site import load_fleet
from netnsfix.tools.engine import Engine

NETWORK, COMPUTE = "network1", "compute1"
NODES = (NETWORK, COMPUTE)
PREFIX = "netnsfix-demofleet"
REPO_IN_NODE = "/srv/netnsfix-repo"
# The nodes' settings: rpm as on Fedora 18 (the node's own yum is not there); eth1/eth2 are veth pairs made in
# each node, standing for its NICs.
SITE = f"""\
[fleet]
pkg_backend = "rpm"

[defaults]
private_nic = "eth2"
iscsi_ip_address = "192.168.1.101"

[nodes.{NETWORK}]
public_nic = "eth1"
"""


@dataclass(frozen=True)
class FleetDemo:
    nodes: tuple[str, ...]
    runs: tuple[FleetRun, ...]  # plan, apply, plan, verify
    project: Path  # the exported Ansible project, kept in the workdir
    seconds: float  # the whole stage: image, boot, export, four runs, removal


def check_ansible() -> str:
    """ansible-core's version, or a FleetError saying to install ``netnsfix[fleet]`` (before anything is built)."""
    return ansible.check_version()


def run_fleet_demo(
    engine: Engine,
    repo: Path,
    glibc_rpm: Path,
    workdir: Path,
    *,
    shown: Callable[[FleetRun], None] = lambda _: None,
    notify: Callable[[str], None] = lambda _: None,
) -> FleetDemo:
    """Boot the two nodes, export the project for them under ``workdir``, plan, apply, plan, verify."""
    started = time.monotonic()
    check_ansible()
    notify("   fleet: the node image (made once, then reused)")
    image = ensure_node_image(engine, glibc_rpm)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    site = workdir / "site.toml"
    site.write_text(SITE)
    runs: list[FleetRun] = []
    notify(f"   fleet: booting {', '.join(NODES)}")
    with booted_nodes(engine, image, NODES, PREFIX) as nodes:
        for name, node in nodes.items():
            put_files(node.container, make_node_root(workdir / "roots" / name, plugin_ini=(name == NETWORK)))
            node.container.put_archive("/", _repo_tar(repo))
            for nic in ("eth1", "eth2"):
                node_run(
                    node.container, "/usr/bin/ip", "link", "add", nic, "type", "veth", "peer", "name", f"{nic}-peer"
                )
        inventory = workdir / "inventory.ini"
        inventory.write_text(
            f"[network]\n{NETWORK} ansible_connection=community.docker.docker "
            f"ansible_host={nodes[NETWORK].container.name}\n"
            f"[compute]\n{COMPUTE} ansible_connection=community.docker.docker "
            f"ansible_host={nodes[COMPUTE].container.name}\n"
        )
        package = read_package(repo, repo_url=f"file://{REPO_IN_NODE}")
        exported = export_project(load_fleet(inventory, site), package, workdir / "project")
        inputs = Inputs(inventory=inventory, project=exported.path)
        for action, wanted in (("plan", True), ("apply", None), ("plan", False), ("verify", None)):
            done = run_action(action, inputs)
            runs.append(done)
            shown(done)
            expect(done, wanted)
    return FleetDemo(NODES, tuple(runs), exported.path, time.monotonic() - started)


def expect(done: FleetRun, changes: bool | None) -> None:
    """A DemoError unless every node succeeded and, for a plan, every node would (or would not) change."""
    if not done.all_succeeded:
        failed = ", ".join(n.node for n in done.nodes if not n.success)
        raise DemoError(f"fleet {done.action} failed on {failed} (the table above says why)")
    if changes is not None and any(bool(n.changed) != changes for n in done.nodes):
        raise DemoError(
            f"fleet {done.action}: expected {'changes on every node' if changes else 'nothing left to change'}, "
            f"got {', '.join(f'{n.node} {n.changed} changed' for n in done.nodes)}"
        )


def _repo_tar(repo: Path) -> bytes:
    """The published repository as a tar that unpacks at the nodes' REPO_IN_NODE."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(repo, arcname=REPO_IN_NODE.lstrip("/"))
    return buffer.getvalue()
