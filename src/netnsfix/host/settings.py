"""Node settings: which role the node has, its NICs, physnets and addresses.

They come from a TOML file (``--config``) and command-line options, options
winning. Everything is checked here, once, so a step never meets a host name
where an IP address belongs or a bridge mapping to a physnet nobody declared.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from netnsfix.errors import HostError
from netnsfix.util.tomlfile import read_toml

ROLES = ("network", "compute", "controller")
SEED_PHYSNETS = ("physnet1", "physnet2:100:199")
PUBLIC_BRIDGE = "br-ex"
INTEGRATION_BRIDGE = "br-int"
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_PHYSNET = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class PhysNet:
    """One ``network_vlan_ranges`` entry: a physnet, with a VLAN range or none (flat)."""

    name: str
    vlans: tuple[int, int] | None = None

    def __str__(self) -> str:
        return self.name if self.vlans is None else f"{self.name}:{self.vlans[0]}:{self.vlans[1]}"


@dataclass(frozen=True)
class HostSettings:
    """Everything the steps need to know about the node, already checked."""

    role: str = "network"
    public_nic: str | None = None
    private_nic: str | None = None
    private_bridge: str | None = None
    physnets: tuple[PhysNet, ...] = ()
    bridge_mappings: tuple[tuple[str, str], ...] = ()
    iscsi_ip_address: str | None = None
    ovs_db: str | None = None
    ovs_wait: bool = True
    source: str = "settings"

    @property
    def private_bridge_name(self) -> str | None:
        """The private bridge: as set, else ``br-<private NIC>`` (the seed's ``br-em2``)."""
        if self.private_bridge:
            return self.private_bridge
        return f"br-{self.private_nic}" if self.private_nic else None

    @property
    def mappings(self) -> tuple[tuple[str, str], ...]:
        """bridge_mappings as set, else the seed's: physnet1 on br-ex (network node), physnet2 on the private bridge."""
        if self.bridge_mappings:
            return self.bridge_mappings
        names = [p.name for p in self.physnets]
        result: list[tuple[str, str]] = []
        if self.role == "network" and "physnet1" in names:
            result.append(("physnet1", PUBLIC_BRIDGE))
        if "physnet2" in names and self.private_bridge_name:
            result.append(("physnet2", self.private_bridge_name))
        return tuple(result)


KEYS = {f.name for f in fields(HostSettings)} - {"source"}


def load_settings(config: Path | None, overrides: Mapping[str, Any]) -> HostSettings:
    """Settings from ``config`` (TOML) with ``overrides`` (CLI options, None = unset) on top."""
    raw: dict[str, Any] = {}
    source = "command line"
    if config is not None:
        source = str(config)
        raw = read_toml(config, HostError)
        unknown = sorted(set(raw) - KEYS)
        if unknown:
            raise HostError(f"{config}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
        for key in ("physnets", "bridge_mappings"):  # a string would be taken as one entry: say so
            if isinstance(raw.get(key), str):
                raise HostError(f"{config}: {key} must be a list of strings ({key} = [{raw[key]!r}]), not a string")
    given = {key for key, value in overrides.items() if value is not None}
    raw.update({key: overrides[key] for key in given})
    try:
        return _checked(raw, source)
    except HostError as error:
        key = re.match(r"[a-z_]*", str(error)).group()  # type: ignore[union-attr]  # always matches
        where = OPTIONS.get(key, f"--{key.replace('_', '-')}") if key in given else source
        raise HostError(f"{where}: {error}") from None


# The option that sets each setting, to name it when its value is wrong.
OPTIONS = {"physnets": "--physnet", "bridge_mappings": "--bridge-mapping", "ovs_wait": "--ovs-no-wait"}


def settings_from(raw: Mapping[str, Any], source: str) -> HostSettings:
    """Settings from a table already read (a fleet site file's node), checked as ``--config`` is."""
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise HostError(f"{source}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    try:
        return _checked(dict(raw), source)
    except HostError as error:
        raise HostError(f"{source}: {error}") from None


def _checked(raw: dict[str, Any], source: str) -> HostSettings:
    role = _text(raw, "role", "network")
    if role not in ROLES:
        raise HostError(f"role {role!r} is not one of {', '.join(ROLES)}")
    public_nic = _ifname(raw, "public_nic")
    private_nic = _ifname(raw, "private_nic")
    private_bridge = _ifname(raw, "private_bridge")
    physnets = tuple(_physnet(entry) for entry in _strings(raw, "physnets", SEED_PHYSNETS))
    names = [p.name for p in physnets]
    if len(set(names)) != len(names):
        raise HostError(f"physnets: a physnet is listed twice ({', '.join(names)})")
    mappings = _mappings(raw.get("bridge_mappings"))
    for physnet, bridge in mappings:
        if physnet not in names:
            raise HostError(
                f"bridge_mappings: {physnet}:{bridge} maps an unknown physnet {physnet!r} "
                f"(physnets: {', '.join(names) or 'none'})"
            )
    iscsi = raw.get("iscsi_ip_address")
    if iscsi is not None:
        iscsi = _ip_address(str(iscsi))
    ovs_db = raw.get("ovs_db")
    if ovs_db is not None and not re.match(r"^(unix|tcp|ssl):", str(ovs_db)):
        raise HostError(f"ovs_db {ovs_db!r} is not an OVSDB address (unix:PATH, tcp:IP:PORT)")
    ovs_wait = raw.get("ovs_wait", True)
    if not isinstance(ovs_wait, bool):
        raise HostError(f"ovs_wait must be true or false, not {ovs_wait!r}")
    return HostSettings(
        role=role,
        public_nic=public_nic,
        private_nic=private_nic,
        private_bridge=private_bridge,
        physnets=physnets,
        bridge_mappings=mappings,
        iscsi_ip_address=iscsi,
        ovs_db=None if ovs_db is None else str(ovs_db),
        ovs_wait=ovs_wait,
        source=source,
    )


def _text(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise HostError(f"{key} must be a string, not {value!r}")
    return value


def _ifname(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise HostError(f"{key} {value!r} is not an interface name (1-15 letters, digits, '-_.:')")
    return value


def _strings(raw: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key, default)
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise HostError(f"{key} must be a list of strings, not {value!r}")
    return tuple(v.strip() for v in value)


def _physnet(entry: str) -> PhysNet:
    parts = entry.split(":")
    if not _PHYSNET.match(parts[0]) or len(parts) not in (1, 3):
        raise HostError(f"physnets: {entry!r} is neither NAME nor NAME:FIRST_VLAN:LAST_VLAN")
    if len(parts) == 1:
        return PhysNet(parts[0])
    try:
        first, last = int(parts[1]), int(parts[2])
    except ValueError:
        raise HostError(f"physnets: {entry!r}: VLAN ids must be numbers") from None
    if not 1 <= first <= last <= 4094:
        raise HostError(f"physnets: {entry!r}: VLAN range must lie within 1-4094, first <= last")
    return PhysNet(parts[0], (first, last))


def _mappings(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = []
        for entry in value:
            if not isinstance(entry, str) or entry.count(":") != 1:
                raise HostError(f"bridge_mappings: {entry!r} is not PHYSNET:BRIDGE")
            physnet, bridge = entry.strip().split(":")
            items.append((physnet, bridge))
    else:
        raise HostError(f"bridge_mappings must be a table or a list of PHYSNET:BRIDGE, not {value!r}")
    for physnet, bridge in items:
        if not isinstance(bridge, str) or not _IFNAME.match(bridge) or not _PHYSNET.match(str(physnet)):
            raise HostError(f"bridge_mappings: {physnet}:{bridge} is not PHYSNET:BRIDGE")
        pairs.append((str(physnet), bridge))
    return tuple(pairs)


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise HostError(
            f"iscsi_ip_address {value!r} is not an IP address; cinder needs the address itself "
            "(a host name, even one in /etc/hosts, fails)"
        ) from None
