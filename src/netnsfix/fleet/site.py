"""The fleet: which nodes there are (the inventory) and what each one is (the site file).

A node's settings are the ones ``netnsfix host --config`` takes, checked by
the same code: the site file's ``[defaults]``, then the node's Ansible group
(``network``, ``compute`` or ``controller`` give the role), then its own
``[nodes.NAME]`` table. The fleet-wide choice (how the package is installed)
sits in ``[fleet]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netnsfix.collection.plugins.module_utils.settings import physnet_text
from netnsfix.errors import FleetError, HostError
from netnsfix.fleet import ansible
from netnsfix.host.settings import ROLES, HostSettings, settings_from
from netnsfix.util.confined import unconfined_reason
from netnsfix.util.tomlfile import read_toml

PKG_BACKENDS = ("yum", "rpm", "none")
FLEET_KEYS = {"pkg_backend": PKG_BACKENDS}
SITE_TABLES = {"fleet", "defaults", "nodes"}


@dataclass(frozen=True)
class FleetOptions:
    """``pkg_backend``: yum (a real Fedora 18 node), rpm (rpm -U of the downloaded package) or none
    (the repository file only: a folder or image whose packages are installed some other way)."""

    pkg_backend: str = "yum"


@dataclass(frozen=True)
class FleetNode:
    name: str
    settings: HostSettings


@dataclass(frozen=True)
class Fleet:
    inventory: Path
    nodes: tuple[FleetNode, ...]
    options: FleetOptions


def load_fleet(inventory: Path, site: Path | None) -> Fleet:
    """Every node of ``inventory`` with its checked settings; one FleetError for the first thing wrong."""
    raw = _read_site(site) if site is not None else {}
    where = str(site) if site is not None else "site"
    options = _options(raw.get("fleet", {}), where)
    defaults = raw.get("defaults", {})
    per_node = raw.get("nodes", {})
    for table, value in (("defaults", defaults), ("nodes", per_node)):
        if not isinstance(value, dict):
            raise FleetError(f"{where}: [{table}] must be a table")
    listing = ansible.inventory(inventory)
    groups = _groups_of(listing)
    unknown = sorted(set(per_node) - set(groups))
    if unknown:
        raise FleetError(f"{where}: [nodes.{unknown[0]}] is not a host of {inventory}")
    if not groups:
        raise FleetError(f"{inventory}: no hosts")
    for name in sorted(groups):  # each becomes host_vars/NAME.yml: one plain file name, nothing that climbs out
        reason = unconfined_reason(name, single=True)
        if reason is None and name.startswith("."):
            reason = "it starts with '.' (a hidden file)"
        if reason is not None:
            raise FleetError(f"{inventory}: host {name!r} cannot name a host_vars file: {reason}")
    nodes = []
    for name in sorted(groups):
        table = per_node.get(name, {})
        if not isinstance(table, dict):
            raise FleetError(f"{where}: [nodes.{name}] must be a table")
        merged: dict[str, Any] = dict(defaults)
        roles = [group for group in groups[name] if group in ROLES]
        if len(roles) > 1:
            raise FleetError(f"{inventory}: host {name} is in groups {', '.join(roles)}; a node has one role")
        if roles:
            merged["role"] = roles[0]
        merged.update(table)
        if "role" not in merged:
            raise FleetError(
                f"{inventory}: host {name} has no role: put it in a group named {', '.join(ROLES)}, "
                f"or set role in [nodes.{name}] of the site file"
            )
        try:
            settings = settings_from(merged, f"{where} [nodes.{name}]")
        except HostError as error:
            raise FleetError(str(error)) from None
        nodes.append(FleetNode(name, settings))
    return Fleet(inventory, tuple(nodes), options)


def _read_site(site: Path) -> dict[str, Any]:
    raw = read_toml(site, FleetError, missing="site file missing")
    unknown = sorted(set(raw) - SITE_TABLES)
    if unknown:
        raise FleetError(f"{site}: unknown table [{unknown[0]}] (known: {', '.join(sorted(SITE_TABLES))})")
    return raw


def _options(table: Any, where: str) -> FleetOptions:
    if not isinstance(table, dict):
        raise FleetError(f"{where}: [fleet] must be a table")
    for key, value in table.items():
        if key not in FLEET_KEYS:
            raise FleetError(f"{where}: [fleet] unknown setting {key!r} (known: {', '.join(sorted(FLEET_KEYS))})")
        if value not in FLEET_KEYS[key]:
            raise FleetError(f"{where}: [fleet] {key} = {value!r} is not one of {', '.join(FLEET_KEYS[key])}")
    return FleetOptions(**table)


def _groups_of(listing: dict[str, Any]) -> dict[str, set[str]]:
    """host -> every group it is in (directly or through children), from ansible-inventory's listing."""
    members: dict[str, set[str]] = {}

    def walk(group: str, seen: tuple[str, ...]) -> None:
        entry = listing.get(group, {})
        if not isinstance(entry, dict) or group in seen:
            return
        for host in entry.get("hosts", []):
            members.setdefault(str(host), set()).update((group, *seen))
        for child in entry.get("children", []):
            walk(str(child), (*seen, group))

    walk("all", ())
    for host in listing.get("_meta", {}).get("hostvars", {}):
        members.setdefault(str(host), {"all"})
    return members


def node_settings(node: FleetNode) -> dict[str, Any]:
    """The node's checked settings as the role's ``netnsfix_settings`` (unset ones left out)."""
    settings = node.settings
    found: dict[str, Any] = {
        "role": settings.role,
        "public_nic": settings.public_nic,
        "private_nic": settings.private_nic,
        "private_bridge": settings.private_bridge,
        "physnets": [physnet_text(p) for p in settings.physnets],
        "bridge_mappings": [f"{physnet}:{bridge}" for physnet, bridge in settings.bridge_mappings],
        "iscsi_ip_address": settings.iscsi_ip_address,
        "ovs_db": settings.ovs_db,
        "ovs_wait": settings.ovs_wait,
    }
    return {key: value for key, value in found.items() if value not in (None, [])}
