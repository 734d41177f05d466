"""The options every netnsfix.node step module takes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  root:
    description:
      - The node's root folder; C(/) is the running system.
      - Every path is resolved inside it, one name at a time; no symbolic link leads out of it.
    type: path
    default: /
  settings:
    description:
      - The node's settings, checked before anything is read.
      - C(role) (network, compute or controller; default network), C(public_nic), C(private_nic),
        C(private_bridge), C(physnets) (list of NAME or NAME:FIRST:LAST; default physnet1, physnet2:100:199),
        C(bridge_mappings) (list of PHYSNET:BRIDGE), C(iscsi_ip_address), C(ovs_db), C(ovs_wait) (default true),
        C(systemd_version) (default asked from the node; privatetmp's form follows it).
    type: dict
    default: {}
  state:
    description:
      - C(present) makes the node match, backing every file up first (journal in /var/lib/netnsfix/backups).
      - C(absent) undoes it from the journal, byte for byte, after checking every entry.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With I(state=absent), restore even files edited since netnsfix applied them.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Runs on the node's Python 2.7 (Fedora 18) and on Python 3.
  - The units whose configuration changed are written to /var/lib/netnsfix/restart-owed.json before the first
    file changes; the C(restart) return value lists every unit owed a restart, on a no-op run too.
"""
