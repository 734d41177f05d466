"""Bug 885932: nova on an OVS node needs the hybrid OVS bridge VIF driver.

``quantum-node-setup --plugin openvswitch`` leaves ``libvirt_vif_driver``
empty in nova.conf; Folsom with Open vSwitch needs
``nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver`` in ``[DEFAULT]``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from netnsfix.host.core import Node, StepPlan, verify_by_replanning
from netnsfix.host.inifile import ini_change

NOVA_CONF = PurePosixPath("/etc/nova/nova.conf")
DRIVER = "nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver"


class VifDriver:
    name = "vif-driver"
    summary = f"nova.conf [DEFAULT] libvirt_vif_driver = {DRIVER} (Bug 885932)"

    def plan(self, node: Node) -> StepPlan:
        change = ini_change(node, self.name, NOVA_CONF, {"DEFAULT": {"libvirt_vif_driver": DRIVER}})
        return StepPlan(self.name, (change,) if change else ())

    def verify(self, node: Node) -> None:
        verify_by_replanning(self, node)
