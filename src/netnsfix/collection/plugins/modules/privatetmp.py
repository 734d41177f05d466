#!/usr/bin/python
# Copyright: netnsfix contributors; MIT License (see the collection's galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: privatetmp
short_description: PrivateTmp=false for the four quantum units (Bug 881741), as the node's systemd reads it
description:
  - With a private /tmp, C(ip netns exec) fails after a quantum agent restarts (C(RTNETLINK answers - Invalid
    argument)); a file per unit turns it off and survives package updates. Runs C(systemctl daemon-reload)
    where systemd runs the root, then reads C(systemctl show -p PrivateTmp) back (it must say C(no)).
  - The form follows the node's systemd (C(systemctl --version); under a root other than C(/) its
    C(usr/share/pkgconfig/systemd.pc), else 197; the C(systemd_version) setting overrides) - from 198 a
    drop-in C(/etc/systemd/system/NAME.service.d/netnsfix-privatetmp.conf); below 198 (Fedora 18 ships 197,
    which reads no drop-ins) an C(/etc/systemd/system/NAME.service) that C(.include)s the packaged unit.
  - A packaged unit that is gone under an override, or no longer sets PrivateTmp, is a warning.
  - One step of netnsfix's companion fixes, written once in the collection's module_utils (the same code
    C(netnsfix host privatetmp --root) runs on the controller).
version_added: "0.1.0"
author: netnsfix
extends_documentation_fragment: netnsfix.node.common
"""

EXAMPLES = r"""
- name: PrivateTmp=false for the four quantum units (Bug 881741)
  netnsfix.node.privatetmp:
    settings: "{{ netnsfix_settings }}"

- name: Undo it, byte for byte
  netnsfix.node.privatetmp:
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
        result = run(module.params, module.run_command, module.check_mode, module._diff, ["privatetmp"])
    except NodeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
