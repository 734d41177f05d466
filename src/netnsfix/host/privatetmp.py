"""Bug 881741: quantum's agents must not run with a private /tmp.

With ``PrivateTmp=true`` an agent restarted by systemd no longer sees the
bind mounts under /var/run/netns and ``ip netns exec`` fails with
"RTNETLINK answers: Invalid argument". The seed edited the four unit files;
a drop-in does the same and survives package updates.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netnsfix.errors import HostError
from netnsfix.host.core import Command, FileChange, Node, StepPlan, verify_by_replanning
from netnsfix.host.desired import Desired, WantedFile
from netnsfix.host.noderoot import host_path, resolve, systemd_runs
from netnsfix.host.settings import HostSettings

UNITS = ("quantum-dhcp-agent", "quantum-l3-agent", "quantum-openvswitch-agent", "quantum-server")
DROPIN_NAME = "netnsfix-privatetmp.conf"
DROPIN = (
    b"# Written by netnsfix (Red Hat Bug 881741): with a private /tmp, 'ip netns exec'\n"
    b"# fails after the agent restarts (RTNETLINK answers: Invalid argument).\n"
    b"[Service]\n"
    b"PrivateTmp=false\n"
)
DAEMON_RELOAD = ("systemctl", "daemon-reload")


def dropin_path(unit: str) -> PurePosixPath:
    return PurePosixPath("/etc/systemd/system") / f"{unit}.service.d" / DROPIN_NAME


class PrivateTmp:
    name = "privatetmp"
    summary = "drop-ins with PrivateTmp=false for the four quantum units (Bug 881741)"

    def desired(self, settings: HostSettings) -> Desired:
        files = tuple(WantedFile(dropin_path(unit), DROPIN, 0o644) for unit in UNITS)
        return Desired(self.name, files=files, daemon_reload=True, restart=UNITS)

    def plan(self, node: Node) -> StepPlan:
        files = []
        for wanted in self.desired(node.settings).files:
            path = resolve(node.root, wanted.path)  # an absolute symlink must not lead out of the root
            on_disk = host_path(node.root, path)
            current = on_disk.read_bytes() if on_disk.is_file() else None
            if on_disk.exists() and current is None:
                raise HostError(f"{on_disk}: exists and is not a file")
            if current != wanted.content:
                files.append(FileChange(path, current, wanted.content, wanted.mode))
        commands: tuple[Command, ...] = ()
        if files:
            runs = systemd_runs(node.root)
            note = "" if runs else f"not run: systemd does not run {node.root}"
            commands = (Command(DAEMON_RELOAD, DAEMON_RELOAD, runs, note),)
        return StepPlan(self.name, tuple(files), commands)

    def verify(self, node: Node) -> None:
        """The drop-ins are in place and, where systemd runs the root, systemd has taken them."""
        verify_by_replanning(self, node)
        if not systemd_runs(node.root):
            return
        for unit in UNITS:
            shown = node.runner.run(("systemctl", "show", "-p", "PrivateTmp", f"{unit}.service")).stdout.strip()
            if shown == "PrivateTmp=yes":
                raise HostError(f"{unit}.service: systemd still has PrivateTmp=yes after daemon-reload")
