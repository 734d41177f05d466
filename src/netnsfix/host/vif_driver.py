"""Bug 885932: nova on an OVS node needs the hybrid OVS bridge VIF driver.

``quantum-node-setup --plugin openvswitch`` fails to set ``libvirt_vif_driver``:
it calls ``openstack-config --set nova.conf DEFAULT libvirt_vif_driver`` with no
value, which writes nothing, so Fedora 18's nova.conf (which has no such key)
keeps nova's default bridge driver. Folsom with Open vSwitch needs
``nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver`` in ``[DEFAULT]``: the
key is added after the section's last option (an empty or other value is
replaced in place; a node where quantum-server-setup already set it is left alone).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netnsfix.host.core import Node, StepPlan, verify_by_replanning
from netnsfix.host.desired import Desired, IniSetting
from netnsfix.host.inifile import ini_changes
from netnsfix.host.settings import HostSettings

NOVA_CONF = PurePosixPath("/etc/nova/nova.conf")
DRIVER = "nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver"
NOVA_SERVICES = ("openstack-nova-compute",)


class VifDriver:
    name = "vif-driver"
    summary = f"nova.conf [DEFAULT] libvirt_vif_driver = {DRIVER} (Bug 885932)"

    def desired(self, settings: HostSettings) -> Desired:
        setting = IniSetting(NOVA_CONF, "DEFAULT", "libvirt_vif_driver", DRIVER)
        return Desired(self.name, ini=(setting,), restart=NOVA_SERVICES)

    def plan(self, node: Node) -> StepPlan:
        return StepPlan(self.name, ini_changes(node, self.name, self.desired(node.settings).ini))

    def verify(self, node: Node) -> None:
        verify_by_replanning(self, node)
