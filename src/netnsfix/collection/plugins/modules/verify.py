#!/usr/bin/python
# -*- coding: utf-8 -*-
"""netnsfix.node.verify: the proof of the fix on this node (module_utils/proof.py gathers and judges)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify
short_description: Prove ip netns leaves systemd whole (Bug 882047) and agents' namespaces usable (Bug 881741)
description:
  - Runs the proof netnsfix's harness runs, with only what Fedora 18 has (sh, coreutils 8.17, util-linux 2.22,
    iproute 3.6.0, systemd 197).
  - "Bug 882047: C(ip netns add), C(ip netns exec NAME probe), C(ip netns delete) on a test namespace, with the
    mount table read before and after; then a transient oneshot probe unit in C(/run/systemd/system) must start."
  - "Bug 881741: a transient unit shaped like a Quantum agent (Type=simple, C(PrivateTmp) as systemd applies it to
    O(agent_unit)) makes a namespace with C(ip netns add); C(ip netns exec) from outside must enter it after a start
    and after a restart."
  - A pass needs positive evidence for every rule (the namespace file bound to a network namespace, the probe's
    C(/proc/self/ns/net) equal to it and not the outside shell's, only a fresh namespace's devices inside, C(/sys)
    and every mount under C(/sys/fs/cgroup) unchanged, the probe unit started); anything else fails the node with
    one line naming the first rule that did not pass.
  - It only reads the node's configuration, but it does create and remove a test namespace, a probe unit and an
    agent-like unit (with C(systemctl daemon-reload)), in check mode too; it leaves the node as found. On a node
    whose ip still has Bug 882047 the proof itself unmounts C(/sys) (that is what it detects).
version_added: "1.0.0"
author: netnsfix
options:
  root:
    description:
      - The node's root. The proof runs only on the running system (V(/)); for any other root the module does
        nothing and says so.
    type: path
    default: /
  ip:
    description: The ip binary to prove.
    type: path
    default: /sbin/ip
  agent_unit:
    description:
      - The agent whose C(PrivateTmp) setting (as systemd applies it, C(systemctl show -p PrivateTmp)) the
        agent-like unit copies. A unit that is not loaded counts as C(PrivateTmp=no).
    type: str
    default: quantum-l3-agent.service
attributes:
  check_mode:
    support: full
    details: It changes no configuration, so it runs the same in check mode (a test namespace and transient units
      are made and removed).
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Prove the fix on this node
  netnsfix.node.verify:

- name: Prove it with the DHCP agent's PrivateTmp setting
  netnsfix.node.verify:
    agent_unit: quantum-dhcp-agent.service
"""

RETURN = r"""
checks:
  description: One entry per proof; each rule's finding is in C(evidence).
  returned: when the proof ran
  type: list
  elements: dict
  sample:
    - name: netns
      bug: "882047"
      status: pass
      summary: "/sys kept, 6 mount(s) under /sys/fs/cgroup kept; namespace net:[4026532348] made, entered and deleted"
      problems: []
      evidence:
        - {rule: netns-made, status: pass, text: "/run/netns/netnsfix-verify-1a2b3c4d is bound to net:[4026532348]"}
lines:
  description: "One line per rule: C(PASS rule: evidence), C(FAIL ...) or C(NO-ANSWER ...); C(INFO agent-unit: ...) says
    which PrivateTmp the agent-like unit copied."
  returned: when the proof ran
  type: list
  elements: str
msg:
  description: When the node fails, the one line naming the first rule that did not pass, its proof and its bug.
  returned: failure or skipped
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netnsfix.node.plugins.module_utils.proof import failure_line, result_lines, verify_node


def main():
    # type: () -> None
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            ip=dict(type="path", default="/sbin/ip"),
            agent_unit=dict(type="str", default="quantum-l3-agent.service"),
        ),
        supports_check_mode=True,
    )
    root = module.params["root"]
    if root.rstrip("/") != "":
        msg = "not run: the proof runs on the running system, not %s" % root
        module.exit_json(changed=False, skipped=True, msg=msg)

    def runner(argv):
        # type: (list) -> tuple
        return module.run_command(argv, environ_update={"LC_ALL": "C", "LANG": "C"})

    result = verify_node(runner, module.params["ip"], module.params["agent_unit"])
    lines = result_lines(result)
    if result["failed"]:
        module.fail_json(msg=failure_line(result), checks=result["checks"], lines=lines)
    module.exit_json(changed=False, checks=result["checks"], lines=lines)


if __name__ == "__main__":
    main()
