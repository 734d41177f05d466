"""Bug 881741: quantum's agents must not run with a private /tmp.

With ``PrivateTmp=true`` an agent restarted by systemd no longer sees the
bind mounts under /var/run/netns and ``ip netns exec`` fails with
"RTNETLINK answers: Invalid argument". The seed edited the four unit files;
a drop-in does the same and survives package updates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .errors import NodeError
from .plan import Desired, FileChange, Node, StepPlan, WantedFile, command, desired, run_checked, verify_by_replanning

UNITS = ("quantum-dhcp-agent", "quantum-l3-agent", "quantum-openvswitch-agent", "quantum-server")
DROPIN_NAME = "netnsfix-privatetmp.conf"
DROPIN = (
    b"# Written by netnsfix (Red Hat Bug 881741): with a private /tmp, 'ip netns exec'\n"
    b"# fails after the agent restarts (RTNETLINK answers: Invalid argument).\n"
    b"[Service]\n"
    b"PrivateTmp=false\n"
)
DAEMON_RELOAD = ("systemctl", "daemon-reload")


def dropin_path(unit):
    # type: (str) -> str
    return "/etc/systemd/system/%s.service.d/%s" % (unit, DROPIN_NAME)


class PrivateTmp:
    name = "privatetmp"
    summary = "drop-ins with PrivateTmp=false for the four quantum units (Bug 881741)"
    restarts = UNITS  # every unit this step may owe a restart

    def desired(self, settings):
        # type: (object) -> Desired
        files = tuple(WantedFile(dropin_path(unit), DROPIN, 0o644) for unit in UNITS)
        return desired(self.name, files=files, daemon_reload=True, restart=UNITS)

    def owned(self, node):
        # type: (Node) -> list[str]
        """The files this step may create or replace (an undo journal may name no other)."""
        return [node.fs.resolve(wanted.path) for wanted in self.desired(node.settings).files]

    def plan(self, node):
        # type: (Node) -> StepPlan
        fs = node.fs
        files = []
        for wanted in self.desired(node.settings).files:
            path = fs.resolve(wanted.path)  # an absolute symlink is followed inside the root
            current = fs.read(path)
            if current != wanted.content:
                files.append(FileChange(path, current, wanted.content, wanted.mode))
        commands = ()  # type: tuple
        if files:
            runs = fs.systemd_runs()
            note = "" if runs else "not run: systemd does not run %s" % fs.root
            commands = (command(DAEMON_RELOAD, DAEMON_RELOAD, runs, note),)
        return StepPlan(self.name, tuple(files), commands)

    def verify(self, node):
        # type: (Node) -> None
        """The drop-ins are in place and, where systemd runs the root, systemd has taken them."""
        verify_by_replanning(self, node)
        if not node.fs.systemd_runs():
            return
        for unit in UNITS:
            shown = run_checked(node.runner, ("systemctl", "show", "-p", "PrivateTmp", unit + ".service")).strip()
            if shown == "PrivateTmp=yes":
                raise NodeError("%s.service: systemd still has PrivateTmp=yes after daemon-reload" % unit)
