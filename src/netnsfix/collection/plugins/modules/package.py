#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fixed package on a node: the repository file, its key, the exact build (one module run).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: package
short_description: The netnsfix repository file, its GPG key and the exact fixed package on a node
description:
  - Writes the repository file and (when the packages are signed) its GPG key inside O(root), then
    compares the installed O(name) with O(nevra) (C(rpm -q)).
  - With O(backend=rpm), when they differ, downloads O(url), checks its sha256 against O(sha256) before
    rpm sees a byte of it, and runs C(rpm -U); rpm refuses a downgrade, so a newer installed package
    fails the node with rpm's own line and is never replaced.
  - With O(backend=yum) it reports RV(differs) and the role's next task runs the yum module (only the
    netnsfix repository, its key checked); a newer installed build fails the node first, named in the
    rpm backend's words (yum would leave it and say nothing); in check mode it reports C(yum install NEVRA)
    as a change. With O(backend=none) only the files are written.
  - Before it first writes the repository file or the key, it records what was there (and the folders it
    makes) in C(ROOT/var/lib/netnsfix/package.json); O(state=absent) gives them back byte for byte (or
    removes them) and removes the empty folders apply made. A file edited since apply is left in place
    and named in RV(left). The installed package stays (rpm would have to downgrade it).
  - Every path is resolved inside O(root) (no symlink leads out); the files are written under a
    temporary name and renamed.
version_added: 0.1.0
author: netnsfix
options:
  root:
    description: The node's root; C(/) is the running system.
    type: path
    default: /
  backend:
    description: How the package is installed.
    type: str
    choices: [rpm, yum, none]
    default: yum
  name:
    description: The package's name.
    type: str
    required: true
  nevra:
    description: The exact build, NAME-[EPOCH:]VERSION-RELEASE.ARCH (the epoch only when it is not 0).
    type: str
    required: true
  url:
    description: Where to download it (C(file://), C(http://), C(https://)); needed by O(backend=rpm).
    type: str
  sha256:
    description: The package's sha256; needed by O(backend=rpm).
    type: str
  repo_file:
    description: The repository file's text (what apply writes, what undo removes).
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
  state:
    description: C(present) installs; C(absent) takes the files back.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: The fixed iproute
  netnsfix.node.package:
    backend: rpm
    name: iproute
    nevra: iproute-3.6.0-2.netnsfix1.fc18.x86_64
    url: http://repo.example/Packages/i/iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    repo_file: "{{ lookup('ansible.builtin.file', 'netnsfix.repo', rstrip=false) }}"
"""

RETURN = r"""
installed:
  description: The installed builds of O(name) before this run (NAME-[EPOCH:]VERSION-RELEASE.ARCH).
  returned: always
  type: list
  elements: str
differs:
  description: True when the installed builds are not exactly O(nevra).
  returned: always
  type: bool
files:
  description: The files written or restored, with what was done.
  returned: always
  type: list
  elements: dict
commands:
  description: The commands that changed the node (or would, in check mode).
  returned: always
  type: list
  elements: str
left:
  description: With O(state=absent), files left in place because they no longer hold what apply wrote.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.package import (
    PACKAGE_SPEC,
    PackageRun,
    ansible_fetch,
    new_result,
    run_package,
)
from ansible_collections.netnsfix.node.plugins.module_utils.rootfs import RootFS


def main():
    # type: () -> None
    spec = dict(
        PACKAGE_SPEC,
        root=dict(type="path", default="/"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    result = new_result()
    fs = RootFS(params["root"])
    run = PackageRun(module.run_command, ansible_fetch(module), module.check_mode, module._diff)
    try:
        fs.check()
        run_package(run, fs, params, params["state"], result)
    except NodeError as error:
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
