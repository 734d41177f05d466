"""The Open vSwitch bridges the OVS plugin expects.

``br-int`` on every node (the integration bridge, fixed name); ``br-ex`` with
the public NIC on the network node (fixed name); the private bridge (any
name, the seed's ``br-em2``) with the private NIC on every node. Planned from
what ovsdb holds now (list-br, list-ports); applied with ``--may-exist`` so a
rerun is harmless, and each addition records the ``--if-exists`` command that
takes it back. Under a root other than ``/`` the socket is the root's own
``var/run/openvswitch/db.sock``, resolved inside the root (Fedora's
``var/run`` is a link to ``../run``): a link cannot send the step to an ovsdb
outside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .errors import NodeError, SettingsError
from .plan import Bridge, Desired, Node, StepPlan, command, desired, verify_by_replanning
from .settings import INTEGRATION_BRIDGE, PUBLIC_BRIDGE, Settings, private_bridge_name

DB_SOCKET = "/var/run/openvswitch/db.sock"
# ovs-vsctl's words when no ovsdb-server answers (vsctl_fatal "%s: database connection failed (%s)"):
# the socket is missing or nobody listens. Fedora does not start services by default.
NOT_RUNNING = re.compile(r"database connection failed \((No such file or directory|Connection refused)\)")
RESTART = ("quantum-openvswitch-agent",)


def ovs_db(node):
    # type: (Node) -> str | None
    """The ovsdb to talk to: as set; else the root's own socket; None (ovs-vsctl's default) for ``/``."""
    if node.settings.ovs_db:
        return node.settings.ovs_db
    if node.fs.is_system():
        return None
    return "unix:" + node.fs.show(node.fs.resolve(DB_SOCKET))


def vsctl(node, db, args, write=False):
    # type: (Node, str | None, tuple, bool) -> tuple
    argv = ["ovs-vsctl", "--timeout=10"]
    if db:
        argv.append("--db=" + db)
    if write and not node.settings.ovs_wait:
        argv.append("--no-wait")
    return tuple(argv + list(args))


def wanted_bridges(settings):
    # type: (Settings) -> list
    """(bridge, NIC or None) in the order they are made."""
    result = [(INTEGRATION_BRIDGE, None)]  # type: list
    if settings.role == "network":
        if not settings.public_nic:
            raise SettingsError(
                "public_nic", "public_nic is not set (the network node's br-ex needs it)", settings.source
            )
        result.append((PUBLIC_BRIDGE, settings.public_nic))
    if not settings.private_nic:
        raise SettingsError("private_nic", "private_nic is not set (the private bridge needs it)", settings.source)
    result.append((private_bridge_name(settings) or "", settings.private_nic))
    return result


class NotRunning(Exception):
    """No ovsdb-server answers at the address: a finding for this node, not a failure of the whole run."""


def current_state(node, db):
    # type: (Node, str | None) -> dict
    """Every bridge in ovsdb with its ports; :class:`NotRunning` when no ovsdb-server answers."""
    rc, out, err = node.runner(list(vsctl(node, db, ("list-br",))))
    if rc != 0:
        where = db or "ovs-vsctl's default socket"
        if NOT_RUNNING.search(str(err)):
            raise NotRunning(
                "ovsdb not running: no ovsdb-server answers at %s (%s); bridges not planned, start openvswitch "
                "and run again" % (where, " ".join(str(err).split()))
            )
        raise NodeError(
            "ovs-bridges: cannot read the bridges from ovsdb at %s (%s); is openvswitch running? (--ovs-db)"
            % (where, " ".join(str(err).split()))
        )
    state = {}
    for bridge in out.split():
        rc, ports, err = node.runner(list(vsctl(node, db, ("list-ports", bridge))))
        if rc != 0:
            raise NodeError("ovs-vsctl list-ports %s: %s" % (bridge, " ".join(str(err).split()) or "exit %d" % rc))
        state[bridge] = ports.split()
    return state


class OvsBridges:
    name = "ovs-bridges"
    summary = "br-int; br-ex with the public NIC (network node); the private bridge with the private NIC"
    restarts = RESTART  # every unit this step may owe a restart

    def desired(self, settings):
        # type: (Settings) -> Desired
        bridges = tuple(Bridge(name, nic) for name, nic in wanted_bridges(settings))
        return desired(self.name, bridges=bridges, restart=RESTART)

    def owned(self, node):
        # type: (Node) -> list[str]
        return []

    def plan(self, node):
        # type: (Node) -> StepPlan
        wanted = [(bridge.name, bridge.port) for bridge in self.desired(node.settings).bridges]
        db = ovs_db(node)
        try:
            state = current_state(node, db)
        except NotRunning as finding:
            return StepPlan(self.name, (), (), (str(finding),))
        owner = dict((port, bridge) for bridge, ports in state.items() for port in ports)
        commands = []
        for bridge, nic in wanted:
            if bridge not in state:
                commands.append(
                    command(
                        vsctl(node, db, ("--may-exist", "add-br", bridge), write=True),
                        vsctl(node, db, ("--if-exists", "del-br", bridge), write=True),
                    )
                )
            if nic is None:
                continue
            if nic in owner and owner[nic] != bridge:
                raise NodeError(
                    "ovs-bridges: %s is already a port of %s, not %s; move it by hand" % (nic, owner[nic], bridge)
                )
            if owner.get(nic) != bridge:
                undo = None
                if bridge in state:
                    undo = vsctl(node, db, ("--if-exists", "del-port", bridge, nic), write=True)
                commands.append(command(vsctl(node, db, ("--may-exist", "add-port", bridge, nic), write=True), undo))
        return StepPlan(self.name, (), tuple(commands))

    def verify(self, node):
        # type: (Node) -> None
        verify_by_replanning(self, node)
