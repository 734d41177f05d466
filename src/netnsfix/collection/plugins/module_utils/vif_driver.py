"""Bug 885932: nova on an OVS node needs the hybrid OVS bridge VIF driver.

``quantum-node-setup --plugin openvswitch`` fails to set ``libvirt_vif_driver``:
it calls ``openstack-config --set nova.conf DEFAULT libvirt_vif_driver`` with no
value, which writes nothing, so Fedora 18's nova.conf (which has no such key)
keeps nova's default bridge driver. Folsom with Open vSwitch needs
``nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver`` in ``[DEFAULT]``: the
key is added after the section's last option (an empty or other value is
replaced in place; a node where quantum-server-setup already set it is left alone).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .plan import Desired, IniSetting, Node, StepPlan, desired, ini_changes, verify_by_replanning

NOVA_CONF = "/etc/nova/nova.conf"
DRIVER = "nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver"
NOVA_SERVICES = ("openstack-nova-compute",)


class VifDriver:
    name = "vif-driver"
    summary = "nova.conf [DEFAULT] libvirt_vif_driver = %s (Bug 885932)" % DRIVER
    restarts = NOVA_SERVICES  # every unit this step may owe a restart

    def desired(self, settings):
        # type: (object) -> Desired
        setting = IniSetting(NOVA_CONF, "DEFAULT", "libvirt_vif_driver", DRIVER, None)
        return desired(self.name, ini=(setting,), restart=NOVA_SERVICES)

    def owned(self, node):
        # type: (Node) -> list[str]
        return [node.fs.resolve(NOVA_CONF)]

    def plan(self, node):
        # type: (Node) -> StepPlan
        return StepPlan(self.name, ini_changes(node, self.name, self.desired(node.settings).ini), ())

    def verify(self, node):
        # type: (Node) -> None
        verify_by_replanning(self, node)
