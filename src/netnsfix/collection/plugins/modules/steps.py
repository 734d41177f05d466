#!/usr/bin/python
# Copyright: netnsfix contributors; MIT License (see the collection's galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: steps
short_description: Run several of netnsfix's companion steps in one module run
description:
  - Plans, applies (I(state=present)) or undoes (I(state=absent)) the steps named in I(steps), in the order
    privatetmp, iptables_path, vif_driver, ovs_bridges, quantum_config, in one module run per node.
  - All plans are made before anything changes; a failure rolls back everything this run had changed.
  - The very code C(netnsfix host apply --root) runs on the controller (the collection's module_utils).
version_added: "0.1.0"
author: netnsfix
extends_documentation_fragment: netnsfix.node.common
options:
  steps:
    description:
      - The steps to run (all five when not given); C(iptables-path) style names are accepted too.
    type: list
    elements: str
    default: [privatetmp, iptables_path, vif_driver, ovs_bridges, quantum_config]
"""

EXAMPLES = r"""
- name: The companion fixes, one module run
  netnsfix.node.steps:
    settings:
      role: network
      public_nic: em1
      private_nic: em2
      iscsi_ip_address: 192.168.1.101

- name: Only the file steps, in check mode with diffs
  netnsfix.node.steps:
    steps: [privatetmp, vif_driver]
  check_mode: true
  diff: true
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
    default = ["privatetmp", "iptables_path", "vif_driver", "ovs_bridges", "quantum_config"]
    spec = dict(COMMON_SPEC, steps=dict(type="list", elements="str", default=default))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module.params, module.run_command, module.check_mode, module._diff)
    except NodeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
