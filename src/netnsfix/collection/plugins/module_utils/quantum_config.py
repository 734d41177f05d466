"""The seed's Quantum settings: VLAN tenant networks, physnets, overlapping IPs, iSCSI address.

plugin.ini ``[OVS]`` (on a compute node without plugin.ini, the OVS plugin's
own ini): VLAN isolation (Fedora 18's Open vSwitch had no GRE), the physnets'
VLAN ranges and which bridge carries each physnet;
quantum.conf ``[DEFAULT] allow_overlapping_ips = True`` (the seed's
overlapping-subnet example needs it); cinder.conf ``iscsi_ip_address`` when
one is set (the seed found a host name fails, so settings accept only an address).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .errors import SettingsError
from .plan import Desired, IniSetting, Node, StepPlan, desired, ini_changes, verify_by_replanning
from .settings import Settings, mappings, physnet_text

PLUGIN_INI = "/etc/quantum/plugin.ini"
# What quantum-server-setup links plugin.ini to, and what the OVS agent's unit reads directly.
OVS_PLUGIN_INI = "/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini"
QUANTUM_CONF = "/etc/quantum/quantum.conf"
CINDER_CONF = "/etc/cinder/cinder.conf"
# Who reads these files (Fedora 18's openstack-quantum and openstack-cinder units).
SERVICES = ("quantum-server", "quantum-openvswitch-agent", "quantum-dhcp-agent", "quantum-l3-agent")
CINDER_SERVICES = ("openstack-cinder-volume",)


def wanted(settings):
    # type: (Settings) -> tuple
    """plugin.ini where quantum-server-setup made it, else (a compute node) the OVS plugin's own ini.

    Fedora's quantum-node-setup makes no plugin.ini: there the OVS agent reads
    ovs_quantum_plugin.ini itself (its unit names that file), so that is what to edit.
    """
    pairs = mappings(settings)
    if not pairs:
        raise SettingsError(
            "bridge_mappings",
            "no bridge_mappings for plugin.ini: set private_nic (or bridge_mappings)",
            settings.source,
        )
    edits = [
        IniSetting(PLUGIN_INI, "OVS", "tenant_network_type", "vlan", OVS_PLUGIN_INI),
        IniSetting(
            PLUGIN_INI,
            "OVS",
            "network_vlan_ranges",
            ",".join(physnet_text(p) for p in settings.physnets),
            OVS_PLUGIN_INI,
        ),
        IniSetting(PLUGIN_INI, "OVS", "bridge_mappings", ",".join("%s:%s" % pair for pair in pairs), OVS_PLUGIN_INI),
        IniSetting(QUANTUM_CONF, "DEFAULT", "allow_overlapping_ips", "True", None),
    ]
    if settings.iscsi_ip_address:
        edits.append(IniSetting(CINDER_CONF, "DEFAULT", "iscsi_ip_address", settings.iscsi_ip_address, None))
    return tuple(edits)


class QuantumConfig:
    name = "quantum-config"
    summary = "plugin.ini [OVS] vlan/physnets/bridges, allow_overlapping_ips, cinder iscsi_ip_address"
    restarts = SERVICES + CINDER_SERVICES  # every unit this step may owe a restart

    def desired(self, settings):
        # type: (Settings) -> Desired
        edits = wanted(settings)
        cinder = CINDER_SERVICES if any(edit.path == CINDER_CONF for edit in edits) else ()
        return desired(self.name, ini=edits, restart=SERVICES + cinder)

    def owned(self, node):
        # type: (Node) -> list[str]
        fs = node.fs
        paths = [PLUGIN_INI if fs.exists(PLUGIN_INI) else OVS_PLUGIN_INI, QUANTUM_CONF, CINDER_CONF]
        return [fs.resolve(path) for path in paths]

    def plan(self, node):
        # type: (Node) -> StepPlan
        return StepPlan(self.name, ini_changes(node, self.name, self.desired(node.settings).ini), ())

    def verify(self, node):
        # type: (Node) -> None
        verify_by_replanning(self, node)
