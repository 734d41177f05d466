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
  - With O(package), the work of M(netnsfix.node.package) in the same module run (after the steps on apply,
    before them on undo), one module run instead of two (each costs about 0.1 CPU-second under the node's
    Python 2.7 before it does anything). A package failure after the steps changed the node fails the run
    with the restart left owed (the next apply makes it), so the agents are never restarted without the fixed
    package.
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
  package:
    description:
      - The fixed package, as M(netnsfix.node.package) takes it (without its O(root) and O(state), which are
        this module's). With it, an empty O(steps) runs the package alone.
    type: dict
    suboptions:
      backend:
        description: How the package is installed (C(yum) leaves the install to the role's yum task).
        type: str
        choices: [rpm, yum, none]
        default: yum
      name:
        description: The package's name.
        type: str
        required: true
      nevra:
        description: The exact build, NAME-[EPOCH:]VERSION-RELEASE.ARCH.
        type: str
        required: true
      url:
        description: Where to download it; needed by O(package.backend=rpm).
        type: str
      sha256:
        description: The package's sha256; needed by O(package.backend=rpm).
        type: str
      repo_file:
        description: The repository file's text.
        type: str
        required: true
      repo_path:
        description: Where the repository file goes on the node.
        type: path
        default: /etc/yum.repos.d/netnsfix.repo
      gpg_key:
        description: The repository's GPG public key (armored); empty when the packages are not signed.
        type: str
        default: ""
      key_path:
        description: Where the key goes on the node.
        type: path
        default: /etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix
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

- name: The steps and the fixed package, one module run
  netnsfix.node.steps:
    settings:
      role: compute
      private_nic: em2
    package:
      backend: rpm
      name: iproute
      nevra: iproute-3.6.0-2.netnsfix1.fc18.x86_64
      url: http://repo.example/Packages/i/iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      repo_file: "{{ lookup('ansible.builtin.file', 'netnsfix.repo', rstrip=false) }}"
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
package:
  description: With O(package), what M(netnsfix.node.package) returns (its files and commands are in RV(files)
    and RV(commands) too).
  returned: when O(package) is given
  type: dict
  contains:
    installed:
      description: The installed builds before this run.
      type: list
      elements: str
    differs:
      description: True when the installed builds are not exactly O(package.nevra).
      type: bool
    files:
      description: The repository file and key written or restored.
      type: list
      elements: dict
    commands:
      description: C(rpm -U NEVRA) (or, in check mode with O(package.backend=yum), C(yum install NEVRA)).
      type: list
      elements: str
    left:
      description: On undo, files left in place because they no longer hold what apply wrote.
      type: list
      elements: str
diff:
  description: One before/after pair per file, in diff mode.
  returned: when diff mode is on
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.module_steps import COMMON_SPEC, PACKAGE_OPTION, run
from ansible_collections.netnsfix.node.plugins.module_utils.package import ansible_fetch


def main():
    default = ["privatetmp", "iptables_path", "vif_driver", "ovs_bridges", "quantum_config"]
    spec = dict(COMMON_SPEC, steps=dict(type="list", elements="str", default=default), package=PACKAGE_OPTION)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module.params, module.run_command, module.check_mode, module._diff, fetch=ansible_fetch(module))
    except NodeError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
