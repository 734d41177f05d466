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
  - With O(backend=yum) it reports RV(differs) and the role's next task runs the yum module; with
    O(backend=none) only the files are written.
  - O(state=absent) takes the repository file and the key back to what they were before the first
    apply (the backup journal under C(ROOT/var/lib/netnsfix/backups)); the installed package stays.
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
    description: The exact build, NAME-VERSION-RELEASE.ARCH.
    type: str
    required: true
  url:
    description: Where to download it (C(file://), C(http://), C(https://)); needed by O(backend=rpm).
    type: str
  sha256:
    description: The package's sha256; needed by O(backend=rpm).
    type: str
  repo_file:
    description: The repository file's text; needed by O(state=present).
    type: str
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
  description: The installed builds of O(name) before this run (NAME-VERSION-RELEASE.ARCH).
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
"""

import hashlib
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.rootfs import RootFS

QUERY = "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n"


def installed(module, root, name):
    """The installed builds of ``name`` (none: rpm -q says 'not installed' and exits 1)."""
    rc, out, err = module.run_command(["rpm", "--root", root, "-q", "--qf", QUERY, name])
    if rc != 0:
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def want_file(module, fs, path, data, result):
    """Write ``data`` at ``path`` (0644) unless it is there already; diff and files entries."""
    old = fs.read(path)
    if old == data:
        return
    action = "created" if old is None else "edited"
    result["files"].append(dict(path=path, action=action))
    if module._diff:
        result["diff"].append(
            dict(
                before_header=path,
                after_header=path,
                before="" if old is None else old.decode("utf-8", "replace"),
                after=data.decode("utf-8", "replace"),
            )
        )
    result["changed"] = True
    if not module.check_mode:
        fs.write(path, data, 0o644, created=[])


def download(module, url, sha256, folder):
    """``url`` into a new file in ``folder``, its sha256 checked; the file's path."""
    response, info = fetch_url(module, url, timeout=120)
    if response is None or (info.get("status") != 200 and not url.startswith("file:")):
        raise NodeError("cannot download: %s" % info.get("msg", "no answer"), path=url)
    digest = hashlib.sha256()
    handle, path = tempfile.mkstemp(prefix="netnsfix-", suffix=".rpm", dir=folder)
    with os.fdopen(handle, "wb") as out:
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256.lower():
        os.unlink(path)
        raise NodeError("sha256 %s, expected %s; nothing was installed" % (digest.hexdigest(), sha256), path=url)
    return path


def install_rpm(module, root, params, result):
    """rpm -U the downloaded package; rpm's own line when it refuses (a newer build installed)."""
    command = "rpm -U %s" % params["nevra"]
    result["commands"].append(command)
    result["changed"] = True
    if module.check_mode:
        return
    if not params["url"] or not params["sha256"]:
        raise NodeError("backend rpm needs url and sha256", path=params["nevra"])
    folder = tempfile.mkdtemp(prefix="netnsfix-package-")
    try:
        path = download(module, params["url"], params["sha256"], folder)
        rc, out, err = module.run_command(["rpm", "--root", root, "-U", path])
        if rc != 0:
            said = " ".join((err or out).split()) or "exit %d" % rc
            raise NodeError("%s failed: %s" % (command, said), path=root)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def present(module, fs, params, result):
    repo = params["repo_file"]
    if repo is None:
        raise NodeError("repo_file is needed to install", path=params["repo_path"])
    want_file(module, fs, params["repo_path"], repo.encode("utf-8"), result)
    if params["gpg_key"]:
        want_file(module, fs, params["key_path"], params["gpg_key"].encode("utf-8"), result)
    if params["backend"] == "none":
        return
    have = installed(module, fs.root, params["name"])
    result["installed"] = have
    result["differs"] = have != [params["nevra"]]
    if params["backend"] == "rpm" and result["differs"]:
        install_rpm(module, fs.root, params, result)


def absent(module, fs, params, result):
    # placeholder until the journal: remove the files apply wrote
    for path in (params["repo_path"], params["key_path"]):
        if fs.exists(path):
            result["files"].append(dict(path=path, action="removed"))
            result["changed"] = True
            if not module.check_mode:
                fs.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            backend=dict(type="str", choices=["rpm", "yum", "none"], default="yum"),
            name=dict(type="str", required=True),
            nevra=dict(type="str", required=True),
            url=dict(type="str"),
            sha256=dict(type="str"),
            repo_file=dict(type="str"),
            repo_path=dict(type="path", default="/etc/yum.repos.d/netnsfix.repo"),
            gpg_key=dict(type="str", default="", no_log=False),
            key_path=dict(type="path", default="/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, installed=[], differs=False, files=[], commands=[], diff=[])
    fs = RootFS(params["root"])
    try:
        fs.check()
        if params["state"] == "present":
            present(module, fs, params, result)
        else:
            absent(module, fs, params, result)
    except NodeError as error:
        module.fail_json(msg=str(error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
