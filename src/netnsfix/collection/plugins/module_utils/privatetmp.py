"""Bug 881741: quantum's agents must not run with a private /tmp.

With ``PrivateTmp=true`` an agent restarted by systemd no longer sees the
bind mounts under /var/run/netns and ``ip netns exec`` fails with
"RTNETLINK answers: Invalid argument". The seed edited the four unit files;
netnsfix leaves the packaged units alone and turns PrivateTmp off beside
them, in the way the node's own systemd reads:

- systemd >= 198: a drop-in ``/etc/systemd/system/NAME.service.d/netnsfix-privatetmp.conf``
  (``.d/*.conf`` drop-ins arrived in v198, NEWS "CHANGES WITH 198").
- systemd < 198 (Fedora 18 shipped 197): v197's ``load-dropin.c`` reads only
  ``.wants``/``.requires`` folders, so a drop-in changes nothing (recorded from
  v197 itself: tests/fixtures/systemd197). Instead an ``/etc/systemd/system/NAME.service``
  that ``.include``s the packaged unit and sets ``PrivateTmp=false``: it takes
  the packaged unit's place, and package updates still reach it through the include.

The version is asked from the node (:func:`systemd_version`). A packaged unit
that an override includes and that is gone, or that no longer sets
PrivateTmp, is a finding of the plan (the override would break the unit or
is no longer needed), never silently written over.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .errors import NodeError, show
from .plan import (
    Desired,
    FileChange,
    Node,
    StepPlan,
    WantedFile,
    command,
    desired,
    run_checked,
    show_units,
    verify_by_replanning,
)

UNITS = ("quantum-dhcp-agent", "quantum-l3-agent", "quantum-openvswitch-agent", "quantum-server")
VENDOR_DIR = "/usr/lib/systemd/system"  # %{_unitdir}, where openstack-quantum installs the units
ETC_DIR = "/etc/systemd/system"
DROPIN_NAME = "netnsfix-privatetmp.conf"
DROPIN = (
    b"# Written by netnsfix (Red Hat Bug 881741): with a private /tmp, 'ip netns exec'\n"
    b"# fails after the agent restarts (RTNETLINK answers: Invalid argument).\n"
    b"[Service]\n"
    b"PrivateTmp=false\n"
)
HEADER = DROPIN[: DROPIN.index(b"[Service]")]  # the two comment lines both forms start with
SETTING = DROPIN[len(HEADER) :]  # [Service] PrivateTmp=false, written once
DROPINS_SINCE = 198  # the first systemd that reads NAME.service.d/*.conf
FEDORA18 = 197  # what a node that says nothing about its systemd runs (Fedora 18's release)
PKGCONFIG = "/usr/share/pkgconfig/systemd.pc"  # Fedora's systemd package ships it, with "Version: N"
DAEMON_RELOAD = ("systemctl", "daemon-reload")
_PRIVATETMP = re.compile(r"^[ \t]*PrivateTmp[ \t]*=[ \t]*(\S*)[ \t]*$", re.M)
_PC_VERSION = re.compile(r"^Version:[ \t]*([0-9]{1,6})\b", re.M)


def dropin_path(unit):
    # type: (str) -> str
    return "%s/%s.service.d/%s" % (ETC_DIR, unit, DROPIN_NAME)


def override_path(unit):
    # type: (str) -> str
    return "%s/%s.service" % (ETC_DIR, unit)


def vendor_path(unit):
    # type: (str) -> str
    return "%s/%s.service" % (VENDOR_DIR, unit)


def override(unit):
    # type: (str) -> bytes
    """The /etc unit for systemd < 198: the packaged unit, included, with PrivateTmp off."""
    return (
        HEADER
        + b"# systemd < 198 (Fedora 18 ships 197) reads no NAME.service.d/*.conf drop-ins, so this unit\n"
        + b"# replaces the packaged one: it includes it and turns PrivateTmp off. Remove it to undo.\n"
        + (".include %s\n" % vendor_path(unit)).encode("ascii")
        + SETTING
    )


def uses_dropins(version):
    # type: (int) -> bool
    return version >= DROPINS_SINCE


def wanted_file(unit, version):
    # type: (str, int) -> WantedFile
    """The file that turns PrivateTmp off for ``unit`` under systemd ``version``."""
    if uses_dropins(version):
        return WantedFile(dropin_path(unit), DROPIN, 0o644)
    return WantedFile(override_path(unit), override(unit), 0o644)


def mechanism(version):
    # type: (int) -> str
    if uses_dropins(version):
        return "systemd %d: drop-ins %s/NAME.service.d/%s" % (version, ETC_DIR, DROPIN_NAME)
    return "systemd %d (< %d reads no drop-ins): %s/NAME.service including the packaged unit" % (
        version,
        DROPINS_SINCE,
        ETC_DIR,
    )


def systemd_version(node):
    # type: (Node) -> int
    """The node's systemd: the setting; else ``systemctl --version`` where systemd runs the root;
    else the root's systemd.pc; else 197 (a Fedora 18 root that says nothing)."""
    given = getattr(node.settings, "systemd_version", None)
    if given:
        return int(given)
    fs = node.fs
    if fs.systemd_runs():
        asked = ("systemctl --version", node.runner)  # plan, apply's verify and the proof ask once
        if asked not in fs.memo:
            out = run_checked(node.runner, ("systemctl", "--version"))
            first = (out.splitlines() or [""])[0].strip()
            found = re.match(r"^systemd ([0-9]{1,6})\b", first)
            if not found:
                raise NodeError("systemctl --version: its first line %s is not 'systemd N'" % show(first))
            fs.memo[asked] = int(found.group(1))
        return fs.memo[asked]
    data = fs.read(PKGCONFIG)
    if data is None:
        return FEDORA18
    text = data.decode("utf-8", "replace") if not isinstance(data, str) else data
    found = _PC_VERSION.search(text)
    if not found:
        raise NodeError("no 'Version: N' line (the systemd package's own pkg-config file)", path=fs.show(PKGCONFIG))
    return int(found.group(1))


def _private_tmp(unit_text):
    # type: (bytes) -> str | None
    """The last PrivateTmp= value a unit file sets, or None."""
    text = unit_text.decode("utf-8", "replace") if not isinstance(unit_text, str) else unit_text
    values = _PRIVATETMP.findall(text)
    return values[-1] if values else None


class PrivateTmp:
    name = "privatetmp"
    summary = "PrivateTmp=false for the four quantum units (Bug 881741), in the form the node's systemd reads"
    restarts = UNITS  # every unit this step may owe a restart

    def desired(self, settings, version=None):
        # type: (object, int | None) -> Desired
        """The files for ``version`` (else the setting's, else Fedora 18's 197)."""
        version = version or getattr(settings, "systemd_version", None) or FEDORA18
        files = tuple(wanted_file(unit, version) for unit in UNITS)
        return desired(self.name, files=files, daemon_reload=True, restart=UNITS)

    def owned(self, node):
        # type: (Node) -> list[str]
        """The files this step may create or replace (an undo journal may name no other): both forms,
        so an undo still works after the node's systemd was updated across 198."""
        paths = [wanted_file(unit, version).path for version in (FEDORA18, DROPINS_SINCE) for unit in UNITS]
        return [node.fs.resolve(path) for path in paths]

    def plan(self, node):
        # type: (Node) -> StepPlan
        fs = node.fs
        version = systemd_version(node)
        files = []
        findings = []
        for unit in UNITS:
            wanted = wanted_file(unit, version)
            path = fs.resolve(wanted.path)  # an absolute symlink is followed inside the root
            current = fs.read(path)
            if not uses_dropins(version):
                if current is None and fs.read(fs.resolve(vendor_path(unit))) is None:
                    continue  # the unit is not installed here: nothing to turn off, no override to write
                finding = self._vendor_finding(node, unit, current)
                if finding:
                    findings.append(finding)
                    continue
            if current != wanted.content:
                files.append(FileChange(path, current, wanted.content, wanted.mode))
        commands = ()  # type: tuple
        if files:
            runs = fs.systemd_runs()
            note = "" if runs else "not run: systemd does not run %s" % fs.root
            commands = (command(DAEMON_RELOAD, DAEMON_RELOAD, runs, note),)
        return StepPlan(self.name, tuple(files), commands, tuple(findings))

    def _vendor_finding(self, node, unit, current):
        # type: (Node, str, bytes | None) -> str
        """Why the override for ``unit`` must not be written or kept as is ("" when it may)."""
        fs = node.fs
        vendor = fs.read(fs.resolve(vendor_path(unit)))
        where = fs.show(override_path(unit))
        ours = current is not None and current.startswith(HEADER)
        if current is not None and not ours:
            return "%s: not written by netnsfix; it replaces the packaged unit, so set PrivateTmp=false in it" % where
        if vendor is None:
            return (
                "%s includes %s, which is gone (package removed or the unit moved): systemd cannot load %s.service; "
                "'netnsfix host undo privatetmp' removes the override" % (where, vendor_path(unit), unit)
            )
        value = _private_tmp(vendor)
        if ours and (value or "").lower() not in ("1", "yes", "true", "on"):
            return "%s: the packaged %s sets %s: the override is no longer needed (undo removes it)" % (
                where,
                vendor_path(unit),
                "PrivateTmp=" + value if value else "no PrivateTmp",
            )
        return ""

    def verify(self, node):
        # type: (Node) -> None
        """The files are in place and, where systemd runs the root, systemd itself says PrivateTmp=no (one
        ``systemctl show -p PrivateTmp`` for all the units)."""
        verify_by_replanning(self, node)
        if not node.fs.systemd_runs():
            return
        version = systemd_version(node)
        units = [unit for unit in UNITS if node.fs.read(node.fs.resolve(wanted_file(unit, version).path)) is not None]
        if not units:
            return  # none installed here (see _vendor_finding)
        for unit, answer in zip(units, show_units(node.runner, ("PrivateTmp",), units)):
            shown = "PrivateTmp=" + answer.get("PrivateTmp", "")
            if shown != "PrivateTmp=no":
                raise NodeError(
                    "%s.service: systemd shows %s, not PrivateTmp=no, after daemon-reload (%s)"
                    % (unit, show(shown), mechanism(version))
                )
