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

import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.nevra import wanted_evr
from ansible_collections.netnsfix.node.plugins.module_utils.rootfs import RootFS
from ansible_collections.netnsfix.node.plugins.module_utils.settings import TEXT

# NAME-[EPOCH:]VERSION-RELEASE.ARCH, the form fleet export writes O(nevra) in (the epoch only when not 0)
QUERY = "%{NAME}-%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n"
EVR = "%|EPOCH?{%{EPOCH}}:{0}|:%{VERSION}-%{RELEASE} " + QUERY
# What apply found before it wrote the repository file and the key (their first version, the folders it
# made), so that undo gives them back; kept beside the steps' journal, in real folders only.
RECORD = "/var/lib/netnsfix/package.json"
RECORD_VERSION = 1


def load_record(fs):
    # type: (RootFS) -> dict
    """The record (empty when there is none); one NodeError line when it is not one this module wrote."""
    data = fs.read(RECORD, follow=False, links=False)
    if data is None:
        return dict(version=RECORD_VERSION, files={}, created_dirs=[])
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise NodeError("unreadable package record: %s" % error, path=fs.show(RECORD))
    if (
        not isinstance(record, dict)
        or record.get("version") != RECORD_VERSION
        or not isinstance(record.get("files"), dict)
        or not isinstance(record.get("created_dirs"), list)
    ):
        raise NodeError("not a package record netnsfix wrote; nothing was changed", path=fs.show(RECORD))
    return record


def save_record(fs, record):
    # type: (RootFS, dict) -> None
    if not record["files"]:
        fs.unlink(RECORD, links=False)
        return
    text = json.dumps(record, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"
    fs.write(RECORD, text.encode("utf-8"), 0o600, links=False, created=[])


def ancestors(path):
    # type: (str) -> list[str]
    """The folders above ``path`` (not /), outermost first."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[:depth]) for depth in range(1, len(parts))]


def installed(module, root, name):
    # type: (AnsibleModule, str, str) -> list[str]
    """The installed builds of ``name`` (none: rpm -q says 'not installed' and exits 1)."""
    rc, out, _err = module.run_command(["rpm", "--root", root, "-q", "--qf", QUERY, name])
    if rc != 0:
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def want_file(module, fs, path, data, result):
    # type: (AnsibleModule, RootFS, str, bytes, dict) -> None
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
    if module.check_mode:
        return
    record = load_record(fs)
    if path not in record["files"]:
        made = fs.missing_folders(RECORD, links=False)
        record["created_dirs"] += [
            folder for folder in fs.missing_folders(path) if folder not in record["created_dirs"]
        ]
        record["created_dirs"] += [folder for folder in made if folder not in record["created_dirs"]]
        record["files"][path] = dict(before=None if old is None else base64.b64encode(old).decode("ascii"))
    record["files"][path]["sha256_after"] = hashlib.sha256(data).hexdigest()
    save_record(fs, record)  # before the file: a run killed in between can still be undone
    fs.write(path, data, 0o644, created=[])


def download(module, url, sha256, folder):
    # type: (AnsibleModule, str, str, str) -> str
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
    # type: (AnsibleModule, str, dict, dict) -> None
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


def refuse_newer(module, root, params):
    # type: (AnsibleModule, str, dict) -> None
    """Fail before yum runs when an installed build is newer than the wanted one (yum 3.4.3 would keep it
    and exit 0); rpm's own comparison (its Python bindings, which yum needs anyway), epochs included."""
    try:
        import rpm  # only nodes with yum have it
    except ImportError:
        raise NodeError("backend yum needs rpm's Python bindings (yum's own); none here", path=root)
    name, nevra = params["name"], params["nevra"]
    want = wanted_evr(name, nevra)
    _rc, out, _err = module.run_command(["rpm", "--root", root, "-q", "--qf", EVR, name])
    for line in out.splitlines():
        evr, _, have = line.strip().partition(" ")
        if ":" not in evr or "-" not in evr:
            continue
        epoch, _, rest = evr.partition(":")
        if rpm.labelCompare((epoch,) + tuple(rest.split("-", 1)), want) > 0:
            said = "package %s (which is newer than %s) is already installed" % (have, nevra)
            raise NodeError("yum install %s failed: %s; nothing was installed" % (nevra, said), path=root)


def present(module, fs, params, result):
    # type: (AnsibleModule, RootFS, dict, dict) -> None
    want_file(module, fs, params["repo_path"], params["repo_file"].encode("utf-8"), result)
    if params["gpg_key"]:
        want_file(module, fs, params["key_path"], params["gpg_key"].encode("utf-8"), result)
    if params["backend"] == "none":
        return
    have = installed(module, fs.root, params["name"])
    result["installed"] = have
    result["differs"] = have != [params["nevra"]]
    if params["backend"] == "rpm" and result["differs"]:
        install_rpm(module, fs.root, params, result)
    if params["backend"] == "yum" and result["differs"]:
        if have:
            refuse_newer(module, fs.root, params)
        if module.check_mode:  # the role's yum task cannot plan with a repository file check mode did not write
            result["commands"].append("yum install %s" % params["nevra"])
            result["changed"] = True


def decoded(entry):
    # type: (object) -> bytes | None
    """A record entry's first version (None: there was no file); ValueError when it is not one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256_after"), TEXT):
        raise ValueError("not an entry")
    if entry.get("before") is None:
        return None
    try:
        return base64.b64decode(entry["before"])
    except (TypeError, binascii.Error):
        raise ValueError("not base64")


def absent(module, fs, params, result):
    # type: (AnsibleModule, RootFS, dict, dict) -> None
    """Give the repository file and the key back as apply found them; one edited since is left, named."""
    record = load_record(fs)
    mine = [params["repo_path"], params["key_path"]]
    firsts = {}  # type: dict[str, bytes | None]
    for path in sorted(record["files"]):  # every entry checked before anything changes
        problem = None if path in mine else "not a file this module writes"
        if problem is None:
            try:
                firsts[path] = decoded(record["files"][path])
            except ValueError as error:
                problem = str(error)
        if problem:
            raise NodeError("the package record's %r: %s; nothing was changed" % (path, problem), path=fs.show(RECORD))
    for path in mine:
        if path not in firsts:
            continue
        before = firsts[path]
        current = fs.read(path)
        if current is not None and hashlib.sha256(current).hexdigest() != record["files"][path]["sha256_after"]:
            result["left"].append(path)
            continue
        if current is not None or before is not None:
            result["files"].append(dict(path=path, action="removed" if before is None else "restored"))
            result["changed"] = True
            if module._diff:
                now = "" if current is None else current.decode("utf-8", "replace")
                back = "" if before is None else before.decode("utf-8", "replace")
                result["diff"].append(dict(before_header=path, after_header=path, before=now, after=back))
        if module.check_mode:
            continue
        if before is None:
            fs.unlink(path)
        else:
            fs.write(path, before, 0o644)
        del record["files"][path]
        save_record(fs, record)
    if module.check_mode or record["files"]:
        return
    allowed = set(ancestors(RECORD))
    for path in mine:
        allowed.update(ancestors(path))
    made = [folder for folder in record["created_dirs"] if isinstance(folder, TEXT)]
    for folder in sorted(made, key=len, reverse=True):
        if folder in allowed:  # only the empty folders apply made for these files
            fs.rmdir(folder, links=False)


def main():
    # type: () -> None
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            backend=dict(type="str", choices=["rpm", "yum", "none"], default="yum"),
            name=dict(type="str", required=True),
            nevra=dict(type="str", required=True),
            url=dict(type="str"),
            sha256=dict(type="str"),
            repo_file=dict(type="str", required=True),
            repo_path=dict(type="path", default="/etc/yum.repos.d/netnsfix.repo"),
            gpg_key=dict(type="str", default="", no_log=False),
            key_path=dict(type="path", default="/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, installed=[], differs=False, files=[], commands=[], diff=[], left=[])  # type: dict
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
