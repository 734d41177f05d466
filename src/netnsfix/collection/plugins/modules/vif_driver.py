#!/usr/bin/python
# Copyright: netnsfix contributors; MIT License (see the collection's galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: vif_driver
short_description: Set nova's libvirt_vif_driver to the hybrid OVS bridge driver (Bug 885932)
description:
  - Sets C(libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver) in nova.conf's [DEFAULT],
    keeping every other byte.
  - One step of netnsfix's companion fixes, written once in the collection's module_utils (the same code
    C(netnsfix host vif-driver --root) runs on the controller).
version_added: "0.1.0"
author: netnsfix
extends_documentation_fragment: netnsfix.node.common
"""

EXAMPLES = r"""
- name: Set nova's libvirt_vif_driver to the hybrid OVS bridge driver (Bug 885932)
  netnsfix.node.vif_driver:
    settings: "{{ netnsfix_settings }}"

- name: Undo it, byte for byte
  netnsfix.node.vif_driver:
    state: absent
"""

RETURN = r"""
changed:
  description: Whether a file or command changed the node.
  returned: always
  type: bool
files:
  description: The files changed (or that would be, in check mode), each with what was done.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file's path on the node (symbolic links followed inside the root).
      type: str
    action:
      description: created, edited, restored or removed.
      type: str
  sample: [{"path": "/etc/nova/nova.conf", "action": "edited"}]
commands:
  description: The commands run (or that would run).
  returned: always
  type: list
  elements: str
  sample: ["systemctl daemon-reload"]
steps:
  description: Each step run, and whether it changed the node.
  returned: always
  type: dict
  sample: {"privatetmp": true}
restart:
  description: Every unit (without .service) owed a restart on this node, this run's and earlier ones'.
  returned: always
  type: list
  elements: str
  sample: ["quantum-l3-agent"]
diff:
  description: One before/after pair per file, in diff mode.
  returned: when diff mode is on
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.module_steps import COMMON_SPEC, run


def main():
    module = AnsibleModule(argument_spec=COMMON_SPEC, supports_check_mode=True)
    try:
        result = run(module.params, module.run_command, module.check_mode, module._diff, ["vif-driver"])
    except NodeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
