"""The Open vSwitch bridges the OVS plugin expects.

``br-int`` on every node (the integration bridge, fixed name); ``br-ex`` with
the public NIC on the network node (fixed name); the private bridge (any
name, the seed's ``br-em2``) with the private NIC on every node. Planned from
what ovsdb holds now (list-br, list-ports); applied with ``--may-exist`` so a
rerun is harmless, and each addition records the ``--if-exists`` command that
takes it back.
"""

from __future__ import annotations

from netnsfix.errors import HostError
from netnsfix.host.core import Command, Node, StepPlan, verify_by_replanning
from netnsfix.host.desired import Bridge, Desired
from netnsfix.host.noderoot import host_path, is_system_root
from netnsfix.host.settings import INTEGRATION_BRIDGE, PUBLIC_BRIDGE, HostSettings

DB_SOCKET = "/var/run/openvswitch/db.sock"


def ovs_db(node: Node) -> str | None:
    """The ovsdb to talk to: as set; else the root's own socket; None (ovs-vsctl's default) for ``/``."""
    if node.settings.ovs_db:
        return node.settings.ovs_db
    if is_system_root(node.root):
        return None
    return f"unix:{host_path(node.root, DB_SOCKET)}"


def vsctl(node: Node, *args: str, write: bool = False) -> tuple[str, ...]:
    argv = ["ovs-vsctl", "--timeout=10"]
    db = ovs_db(node)
    if db:
        argv.append(f"--db={db}")
    if write and not node.settings.ovs_wait:
        argv.append("--no-wait")
    return tuple(argv + list(args))


def wanted_bridges(settings: HostSettings) -> list[tuple[str, str | None]]:
    """(bridge, NIC or None) in the order they are made."""
    result: list[tuple[str, str | None]] = [(INTEGRATION_BRIDGE, None)]
    if settings.role == "network":
        if not settings.public_nic:
            raise HostError(f"{settings.source}: public_nic is not set (the network node's br-ex needs it)")
        result.append((PUBLIC_BRIDGE, settings.public_nic))
    if not settings.private_nic:
        raise HostError(f"{settings.source}: private_nic is not set (the private bridge needs it)")
    result.append((settings.private_bridge_name or "", settings.private_nic))
    return result


def current_state(node: Node) -> dict[str, list[str]]:
    """Every bridge in ovsdb with its ports."""
    runner = node.runner
    listing = runner.run(vsctl(node, "list-br"), check=False)
    if listing.returncode != 0:
        where = ovs_db(node) or "ovs-vsctl's default socket"
        detail = " ".join(listing.stderr.split())
        raise HostError(
            f"ovs-bridges: cannot read the bridges from ovsdb at {where} ({detail}); is openvswitch running? (--ovs-db)"
        )
    bridges = listing.stdout.split()
    return {bridge: runner.run(vsctl(node, "list-ports", bridge)).stdout.split() for bridge in bridges}


class OvsBridges:
    name = "ovs-bridges"
    summary = "br-int; br-ex with the public NIC (network node); the private bridge with the private NIC"

    def desired(self, settings: HostSettings) -> Desired:
        bridges = tuple(Bridge(name, nic) for name, nic in wanted_bridges(settings))
        return Desired(self.name, bridges=bridges, restart=("quantum-openvswitch-agent",))

    def plan(self, node: Node) -> StepPlan:
        wanted = [(bridge.name, bridge.port) for bridge in self.desired(node.settings).bridges]
        state = current_state(node)
        owner = {port: bridge for bridge, ports in state.items() for port in ports}
        commands = []
        for bridge, nic in wanted:
            if bridge not in state:
                commands.append(
                    Command(
                        vsctl(node, "--may-exist", "add-br", bridge, write=True),
                        vsctl(node, "--if-exists", "del-br", bridge, write=True),
                    )
                )
            if nic is None:
                continue
            if nic in owner and owner[nic] != bridge:
                raise HostError(f"ovs-bridges: {nic} is already a port of {owner[nic]}, not {bridge}; move it by hand")
            if owner.get(nic) != bridge:
                undo = None if bridge not in state else vsctl(node, "--if-exists", "del-port", bridge, nic, write=True)
                commands.append(Command(vsctl(node, "--may-exist", "add-port", bridge, nic, write=True), undo))
        return StepPlan(self.name, (), tuple(commands))

    def verify(self, node: Node) -> None:
        verify_by_replanning(self, node)
