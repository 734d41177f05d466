"""Node settings: which role the node has, its NICs, physnets and addresses, checked once.

The modules get them as the ``settings`` dict, ``netnsfix host`` from a TOML
file and options; both call :func:`validate`, so a step never meets a host
name where an IP address belongs or a bridge mapping to a physnet nobody
declared. A wrong value is a :class:`SettingsError` whose ``key`` names the
setting (the CLI names the option that set it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
from collections import namedtuple

from .errors import SettingsError, show

try:
    TEXT = (str, unicode)  # type: ignore[name-defined]  # Python 2.7: Ansible hands modules unicode
except NameError:
    TEXT = (str,)  # type: ignore[assignment]  # (only one of the two branches runs)

ROLES = ("network", "compute", "controller")
SEED_PHYSNETS = ("physnet1", "physnet2:100:199")
PUBLIC_BRIDGE = "br-ex"
INTEGRATION_BRIDGE = "br-int"
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}\Z")  # \Z: "$" lets a trailing newline through
_PHYSNET = re.compile(r"^[A-Za-z0-9_.-]+\Z")
_OVS_DB = re.compile(r"^(unix|tcp|ssl):[!-~]+\Z")  # one printable token: no space, newline or control character


class PhysNet(namedtuple("PhysNet", ["name", "vlans"])):
    """One ``network_vlan_ranges`` entry: a physnet, with a VLAN range (first, last) or None (flat)."""

    __slots__ = ()

    def __str__(self):
        # type: () -> str
        return physnet_text(self)


_SettingsBase = namedtuple(  # type: ignore[name-match]  # the records show as "Settings"
    "Settings",
    [
        "role",
        "public_nic",
        "private_nic",
        "private_bridge",
        "physnets",
        "bridge_mappings",
        "iscsi_ip_address",
        "ovs_db",
        "ovs_wait",
        "systemd_version",
        "source",
    ],
)


class Settings(_SettingsBase):
    """Everything the steps need to know about the node, already checked (see :func:`validate`)."""

    __slots__ = ()

    @property
    def private_bridge_name(self):
        # type: () -> str | None
        return private_bridge_name(self)

    @property
    def mappings(self):
        # type: () -> tuple[tuple[str, str], ...]
        return mappings(self)


KEYS = tuple(field for field in Settings._fields if field != "source")


def physnet_text(physnet):
    # type: (PhysNet) -> str
    """``NAME`` or ``NAME:FIRST:LAST``, as network_vlan_ranges writes it."""
    if physnet.vlans is None:
        return str(physnet.name)
    return "%s:%d:%d" % (physnet.name, physnet.vlans[0], physnet.vlans[1])


def default_settings(source="settings"):
    # type: (str) -> Settings
    """No setting given: what undo needs (it reads the journal, not the settings)."""
    return Settings("network", None, None, None, (), (), None, None, True, None, source)


def private_bridge_name(settings):
    # type: (Settings) -> str | None
    """The private bridge: as set, else ``br-<private NIC>`` (the seed's ``br-em2``)."""
    if settings.private_bridge:
        return settings.private_bridge
    return "br-%s" % settings.private_nic if settings.private_nic else None


def mappings(settings):
    # type: (Settings) -> tuple[tuple[str, str], ...]
    """bridge_mappings as set, else the seed's: physnet1 on br-ex (network node), physnet2 on the private bridge."""
    if settings.bridge_mappings:
        return tuple(settings.bridge_mappings)
    names = [p.name for p in settings.physnets]
    result = []
    bridge = private_bridge_name(settings)
    if settings.role == "network" and "physnet1" in names:
        result.append(("physnet1", PUBLIC_BRIDGE))
    if "physnet2" in names and bridge:
        result.append(("physnet2", bridge))
    return tuple(result)


def validate(raw, source="settings"):
    # type: (dict, str) -> Settings
    """The settings in ``raw`` (a dict; None values count as unset), checked; a SettingsError names the key."""
    raw = dict((key, value) for key, value in raw.items() if value is not None)
    unknown = sorted(key for key in raw if key not in KEYS)
    if unknown:
        raise SettingsError(
            unknown[0], "unknown setting %s (known: %s)" % (show(unknown[0]), ", ".join(sorted(KEYS))), source
        )
    role = _text(raw, "role", "network", source)
    if role not in ROLES:
        raise SettingsError("role", "role %s is not one of %s" % (show(role), ", ".join(ROLES)), source)
    public_nic = _ifname(raw, "public_nic", source)
    private_nic = _ifname(raw, "private_nic", source)
    private_bridge = _ifname(raw, "private_bridge", source)
    physnets = tuple(_physnet(entry, source) for entry in _strings(raw, "physnets", SEED_PHYSNETS, source))
    names = [p.name for p in physnets]
    if len(set(names)) != len(names):
        raise SettingsError("physnets", "physnets: a physnet is listed twice (%s)" % ", ".join(names), source)
    pairs = _mappings(raw.get("bridge_mappings"), source)
    for physnet, bridge in pairs:
        if physnet not in names:
            raise SettingsError(
                "bridge_mappings",
                "bridge_mappings: %s:%s maps an unknown physnet %s (physnets: %s)"
                % (physnet, bridge, show(physnet), ", ".join(names) or "none"),
                source,
            )
    iscsi = raw.get("iscsi_ip_address")
    if iscsi is not None:
        iscsi = _ip_address(str(iscsi), source)
    ovs_db = raw.get("ovs_db")
    if ovs_db is not None and not (isinstance(ovs_db, TEXT) and _OVS_DB.match(ovs_db)):
        raise SettingsError(
            "ovs_db", "ovs_db %s is not an OVSDB address (unix:PATH, tcp:IP:PORT)" % show(ovs_db), source
        )
    ovs_wait = raw.get("ovs_wait", True)
    if not isinstance(ovs_wait, bool):
        raise SettingsError("ovs_wait", "ovs_wait must be true or false, not %s" % show(ovs_wait), source)
    systemd_version = _systemd_version(raw.get("systemd_version"), source)
    return Settings(
        role=str(role),
        public_nic=public_nic,
        private_nic=private_nic,
        private_bridge=private_bridge,
        physnets=physnets,
        bridge_mappings=pairs,
        iscsi_ip_address=iscsi,
        ovs_db=None if ovs_db is None else str(ovs_db),
        ovs_wait=ovs_wait,
        systemd_version=systemd_version,
        source=source,
    )


def _systemd_version(value, source):
    # type: (object, str) -> int | None
    """The node's systemd version when the operator states it (else the privatetmp step asks the node)."""
    if value is None:
        return None
    if isinstance(value, TEXT) and re.match(r"^[0-9]{1,4}$", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9999:
        raise SettingsError(
            "systemd_version",
            "systemd_version %s is not a systemd version (a number such as 197)" % show(value),
            source,
        )
    return value


def _text(raw, key, default, source):
    # type: (dict, str, str, str) -> str
    value = raw.get(key, default)
    if not isinstance(value, TEXT):
        raise SettingsError(key, "%s must be a string, not %s" % (key, show(value)), source)
    return str(value)


def _ifname(raw, key, source):
    # type: (dict, str, str) -> str | None
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, TEXT) or not _IFNAME.match(value):
        raise SettingsError(
            key, "%s %s is not an interface name (1-15 letters, digits, '-_.:')" % (key, show(value)), source
        )
    return str(value)


def _strings(raw, key, default, source):
    # type: (dict, str, tuple[str, ...], str) -> tuple[str, ...]
    value = raw.get(key, default)
    if isinstance(value, TEXT):
        value = [part.strip(" ") for part in value.split(",") if part.strip(" ")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, TEXT) for v in value):
        raise SettingsError(key, "%s must be a list of strings, not %s" % (key, show(value)), source)
    return tuple(str(v) for v in value)


def _physnet(entry, source):
    # type: (str, str) -> PhysNet
    parts = entry.split(":")
    if not _PHYSNET.match(parts[0]) or len(parts) not in (1, 3):
        raise SettingsError(
            "physnets", "physnets: %s is neither NAME nor NAME:FIRST_VLAN:LAST_VLAN" % show(entry), source
        )
    if len(parts) == 1:
        return PhysNet(parts[0], None)
    try:
        first, last = int(parts[1]), int(parts[2])
    except ValueError:
        raise SettingsError("physnets", "physnets: %s: VLAN ids must be numbers" % show(entry), source)
    if not 1 <= first <= last <= 4094:
        raise SettingsError(
            "physnets", "physnets: %s: VLAN range must lie within 1-4094, first <= last" % show(entry), source
        )
    return PhysNet(parts[0], (first, last))


def _mappings(value, source):
    # type: (object, str) -> tuple[tuple[str, str], ...]
    key = "bridge_mappings"
    if value is None:
        return ()
    if isinstance(value, TEXT):
        value = [part.strip(" ") for part in value.split(",") if part.strip(" ")]
    items = []  # type: list[tuple[object, object]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        for entry in value:
            if not isinstance(entry, TEXT) or entry.count(":") != 1:
                raise SettingsError(key, "bridge_mappings: %s is not PHYSNET:BRIDGE" % show(entry), source)
            physnet, bridge = entry.split(":")  # not stripped: "br-eth1\n" is refused below
            items.append((physnet, bridge))
    else:
        raise SettingsError(
            key, "bridge_mappings must be a table or a list of PHYSNET:BRIDGE, not %s" % show(value), source
        )
    pairs = []
    for physnet, bridge in items:
        if not isinstance(bridge, TEXT) or not _IFNAME.match(bridge) or not _PHYSNET.match(str(physnet)):
            raise SettingsError(key, "bridge_mappings: %s:%s is not PHYSNET:BRIDGE" % (physnet, bridge), source)
        pairs.append((str(physnet), str(bridge)))
    return tuple(pairs)


def _ip_address(value, source):
    # type: (str, str) -> str
    """The address in its canonical form (Python 2.7 has no ipaddress: the C library's parser, as ping's)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, value))
        except (socket.error, ValueError):
            continue
    raise SettingsError(
        "iscsi_ip_address",
        "iscsi_ip_address %s is not an IP address; cinder needs the address itself "
        "(a host name, even one in /etc/hosts, fails)" % show(value),
        source,
    )
