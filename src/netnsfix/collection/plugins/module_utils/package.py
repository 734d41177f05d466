"""The fixed package on a node: the repository file, its key, the exact build; and the files taken back.

One implementation for the ``package`` module and the ``steps`` module's ``package`` option (the role installs
the package in the steps' own module run: a module run under the node's Python 2.7 costs about 0.1 CPU-second
before it does anything). Free of AnsibleModule: a runner (``module.run_command``), a fetcher and the check and
diff flags are handed in, so the controller's tests run it too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile

from .errors import NodeError
from .nevra import wanted_evr
from .rootfs import RootFS
from .settings import TEXT

# The package's parameters (Ansible's argument_spec form): the package module's, without root and state,
# and the steps module's ``package`` option (the steps module has its own root and state).
PACKAGE_SPEC = dict(
    backend=dict(type="str", choices=["rpm", "yum", "none"], default="yum"),
    name=dict(type="str", required=True),
    nevra=dict(type="str", required=True),
    url=dict(type="str"),
    sha256=dict(type="str"),
    repo_file=dict(type="str", required=True),
    repo_path=dict(type="path", default="/etc/yum.repos.d/netnsfix.repo"),
    gpg_key=dict(type="str", default="", no_log=False),
    key_path=dict(type="path", default="/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix", no_log=False),
)


class PackageRun(object):
    """How this run may touch the node: its runner (argv -> (rc, out, err)), its fetcher, check and diff."""

    def __init__(self, runner, fetch=None, check_mode=False, diff_mode=False):
        # type: (object, object, bool, bool) -> None
        self.runner = runner
        self.fetch = fetch
        self.check_mode = check_mode
        self.diff_mode = diff_mode


def new_result():
    # type: () -> dict
    """What a package run reports before it has done anything."""
    return dict(changed=False, installed=[], differs=False, files=[], commands=[], diff=[], left=[])


def run_package(run, fs, params, state, result):
    # type: (PackageRun, RootFS, dict, str, dict) -> dict
    """Apply (``present``) or take back (``absent``) the package into ``result``; on a NodeError ``result``
    holds what was done so far."""
    if state == "present":
        present(run, fs, params, result)
    else:
        absent(run, fs, params, result)
    return result


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


def installed(runner, root, name):
    # type: (object, str, str) -> list[str]
    """The installed builds of ``name`` (none: rpm -q says 'not installed' and exits 1)."""
    rc, out, _err = runner(["rpm", "--root", root, "-q", "--qf", QUERY, name])  # type: ignore[operator]
    if rc != 0:
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def want_file(run, fs, path, data, result):
    # type: (PackageRun, RootFS, str, bytes, dict) -> None
    """Write ``data`` at ``path`` (0644) unless it is there already; diff and files entries."""
    old = fs.read(path)
    if old == data:
        return
    action = "created" if old is None else "edited"
    result["files"].append(dict(path=path, action=action))
    if run.diff_mode:
        result["diff"].append(
            dict(
                before_header=path,
                after_header=path,
                before="" if old is None else old.decode("utf-8", "replace"),
                after=data.decode("utf-8", "replace"),
            )
        )
    result["changed"] = True
    if run.check_mode:
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


def download(fetch, url, sha256, folder):
    # type: (object, str, str, str) -> str
    """``url`` into a new file in ``folder``, its sha256 checked; the file's path. ``fetch(url)`` gives a
    readable answer or raises NodeError (the modules pass :func:`ansible_fetch`'s)."""
    response = fetch(url)  # type: ignore[operator]
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


def ansible_fetch(module):
    # type: (object) -> object
    """A fetcher through Ansible's fetch_url (proxies and certificates as the module's arguments say). urls.py
    is imported only when a package is downloaded: a run that installs nothing does not compile its 86 KB
    under the node's Python 2.7."""

    def fetch(url):
        # type: (str) -> object
        from ansible.module_utils.urls import fetch_url

        response, info = fetch_url(module, url, timeout=120)
        if response is None or (info.get("status") != 200 and not url.startswith("file:")):
            raise NodeError("cannot download: %s" % info.get("msg", "no answer"), path=url)
        return response

    return fetch


def install_rpm(run, root, params, result):
    # type: (PackageRun, str, dict, dict) -> None
    """rpm -U the downloaded package; rpm's own line when it refuses (a newer build installed)."""
    command = "rpm -U %s" % params["nevra"]
    result["commands"].append(command)
    result["changed"] = True
    if run.check_mode:
        return
    if not params["url"] or not params["sha256"]:
        raise NodeError("backend rpm needs url and sha256", path=params["nevra"])
    folder = tempfile.mkdtemp(prefix="netnsfix-package-")
    try:
        path = download(run.fetch, params["url"], params["sha256"], folder)
        rc, out, err = run.runner(["rpm", "--root", root, "-U", path])  # type: ignore[operator]
        if rc != 0:
            said = " ".join((err or out).split()) or "exit %d" % rc
            raise NodeError("%s failed: %s" % (command, said), path=root)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def refuse_newer(runner, root, params):
    # type: (object, str, dict) -> None
    """Fail before yum runs when an installed build is newer than the wanted one (yum 3.4.3 would keep it
    and exit 0); rpm's own comparison (its Python bindings, which yum needs anyway), epochs included."""
    try:
        import rpm  # only nodes with yum have it
    except ImportError:
        raise NodeError("backend yum needs rpm's Python bindings (yum's own); none here", path=root)
    name, nevra = params["name"], params["nevra"]
    want = wanted_evr(name, nevra)
    _rc, out, _err = runner(["rpm", "--root", root, "-q", "--qf", EVR, name])  # type: ignore[operator]
    for line in out.splitlines():
        evr, _, have = line.strip().partition(" ")
        if ":" not in evr or "-" not in evr:
            continue
        epoch, _, rest = evr.partition(":")
        if rpm.labelCompare((epoch,) + tuple(rest.split("-", 1)), want) > 0:
            said = "package %s (which is newer than %s) is already installed" % (have, nevra)
            raise NodeError("yum install %s failed: %s; nothing was installed" % (nevra, said), path=root)


def present(run, fs, params, result):
    # type: (PackageRun, RootFS, dict, dict) -> None
    want_file(run, fs, params["repo_path"], params["repo_file"].encode("utf-8"), result)
    if params["gpg_key"]:
        want_file(run, fs, params["key_path"], params["gpg_key"].encode("utf-8"), result)
    if params["backend"] == "none":
        return
    have = installed(run.runner, fs.root, params["name"])
    result["installed"] = have
    result["differs"] = have != [params["nevra"]]
    if params["backend"] == "rpm" and result["differs"]:
        install_rpm(run, fs.root, params, result)
    if params["backend"] == "yum" and result["differs"]:
        if have:
            refuse_newer(run.runner, fs.root, params)
        if run.check_mode:  # the role's yum task cannot plan with a repository file check mode did not write
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


def absent(run, fs, params, result):
    # type: (PackageRun, RootFS, dict, dict) -> None
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
            if run.diff_mode:
                now = "" if current is None else current.decode("utf-8", "replace")
                back = "" if before is None else before.decode("utf-8", "replace")
                result["diff"].append(dict(before_header=path, after_header=path, before=now, after=back))
        if run.check_mode:
            continue
        if before is None:
            fs.unlink(path)
        else:
            fs.write(path, before, 0o644)
        del record["files"][path]
        save_record(fs, record)
    if run.check_mode or record["files"]:
        return
    allowed = set(ancestors(RECORD))
    for path in mine:
        allowed.update(ancestors(path))
    made = [folder for folder in record["created_dirs"] if isinstance(folder, TEXT)]
    for folder in sorted(made, key=len, reverse=True):
        if folder in allowed:  # only the empty folders apply made for these files
            fs.rmdir(folder, links=False)
