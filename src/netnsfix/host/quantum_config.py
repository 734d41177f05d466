"""The seed's Quantum settings: VLAN tenant networks, physnets, overlapping IPs, iSCSI address.

plugin.ini ``[OVS]`` (on a compute node without plugin.ini, the OVS plugin's
own ini): VLAN isolation (Fedora 18's Open vSwitch had no GRE), the physnets'
VLAN ranges and which bridge carries each physnet;
quantum.conf ``[DEFAULT] allow_overlapping_ips = True`` (the seed's
overlapping-subnet example needs it); cinder.conf ``iscsi_ip_address`` when
one is set (the seed found a host name fails, so settings accept only an address).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

from netnsfix.errors import HostError
from netnsfix.host.core import Node, StepPlan, verify_by_replanning
from netnsfix.host.inifile import ini_change
from netnsfix.host.noderoot import host_path

PLUGIN_INI = PurePosixPath("/etc/quantum/plugin.ini")
# What quantum-server-setup links plugin.ini to, and what the OVS agent's unit reads directly.
OVS_PLUGIN_INI = PurePosixPath("/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini")
QUANTUM_CONF = PurePosixPath("/etc/quantum/quantum.conf")
CINDER_CONF = PurePosixPath("/etc/cinder/cinder.conf")


def wanted(node: Node) -> list[tuple[PurePosixPath, dict[str, dict[str, str]]]]:
    settings = node.settings
    if not settings.mappings:
        raise HostError(f"{settings.source}: no bridge_mappings for plugin.ini: set private_nic (or bridge_mappings)")
    edits: list[tuple[PurePosixPath, dict[str, dict[str, str]]]] = [
        (
            plugin_ini(node),
            {
                "OVS": {
                    "tenant_network_type": "vlan",
                    "network_vlan_ranges": ",".join(str(p) for p in settings.physnets),
                    "bridge_mappings": ",".join(f"{p}:{b}" for p, b in settings.mappings),
                }
            },
        ),
        (QUANTUM_CONF, {"DEFAULT": {"allow_overlapping_ips": "True"}}),
    ]
    if settings.iscsi_ip_address:
        edits.append((CINDER_CONF, {"DEFAULT": {"iscsi_ip_address": settings.iscsi_ip_address}}))
    return edits


def plugin_ini(node: Node) -> PurePosixPath:
    """plugin.ini where quantum-server-setup made it, else (a compute node) the OVS plugin's own ini.

    Fedora's quantum-node-setup makes no plugin.ini: there the OVS agent reads
    ovs_quantum_plugin.ini itself (its unit names that file), so that is what to edit.
    """
    return PLUGIN_INI if os.path.lexists(host_path(node.root, PLUGIN_INI)) else OVS_PLUGIN_INI


class QuantumConfig:
    name = "quantum-config"
    summary = "plugin.ini [OVS] vlan/physnets/bridges, allow_overlapping_ips, cinder iscsi_ip_address"

    def plan(self, node: Node) -> StepPlan:
        changes = [ini_change(node, self.name, path, values) for path, values in wanted(node)]
        return StepPlan(self.name, tuple(c for c in changes if c is not None))

    def verify(self, node: Node) -> None:
        verify_by_replanning(self, node)
