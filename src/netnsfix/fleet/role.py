"""The Ansible role ``netnsfix_node``, made from the host steps' descriptions.

The role holds no fix value of its own: the drop-ins' bytes come from
:class:`~netnsfix.collection.plugins.module_utils.plan.WantedFile`, the INI keys and values, the
iptables lines and the bridges reach it through each host's variables
(:func:`host_steps`), all from the steps' ``desired()``. What the role adds is
how Ansible does each thing on a Python 2.7 node, in check and diff mode.

INI placement follows ``netnsfix host``: a key that exists is set in place
(``ini_file``); a missing key whose commented-out line is in its section goes
right after that line (``lineinfile``); any other missing key goes after the
section's last option (``ini_file``, ``modify_inactive_option: false`` so
comments stay).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from netnsfix.collection.plugins.module_utils.inifile import commented_key
from netnsfix.collection.plugins.module_utils.plan import CheckedPatch, Desired, IniSetting
from netnsfix.errors import FleetError
from netnsfix.host.node import Step
from netnsfix.host.settings import HostSettings

ROLE = "netnsfix_node"
STORE = "/var/lib/netnsfix/fleet"
PROBE_UNIT = "netnsfix-probe.service"
AGENT_UNIT = "quantum-l3-agent.service"
SCRIPTS = ("netnsfix-read.sh", "netnsfix-backup.sh", "netnsfix-undo.sh", PROBE_UNIT)
PREFIX = "{{ netnsfix_prefix }}"
SYSTEM = "netnsfix_system | bool"
# rc 5: systemctl's "unit not found" (this node does not run that service)
RESTART_OK = "netnsfix_restart.rc not in [0, 5]"


def script(name: str) -> bytes:
    return resources.files("netnsfix.fleet").joinpath("files", name).read_bytes()


def file_source(step: str, path: PurePosixPath) -> str:
    """Where a wanted file's bytes live under the role's files/."""
    return f"{step}{path}"


def host_steps(steps: Sequence[Step], settings: HostSettings) -> dict[str, dict[str, Any]]:
    """One node's variables for each step: what it wants, as data the role's tasks loop over."""
    result: dict[str, dict[str, Any]] = {}
    for step in steps:
        desired = step.desired(settings)
        entry: dict[str, Any] = {"restart": list(desired.restart)}
        if desired.files:
            entry["files"] = [
                {"path": str(f.path), "mode": f"{f.mode:04o}", "src": file_source(step.name, f.path)}
                for f in desired.files
            ]
        if desired.daemon_reload:
            entry["daemon_reload"] = True
        if desired.ini:
            entry["ini"] = [_ini_vars(setting) for setting in desired.ini]
        if desired.patches:
            entry["patches"] = [_patch_vars(p) for p in desired.patches]
        if desired.bridges:
            entry["bridges"] = [{"name": b.name, "port": b.port} for b in desired.bridges]
        result[step.name] = entry
    return result


COMMENT_LINES = r"(?:[ \t]*[#;][^\n]*\n)*"  # the rest of the comment block (configupdater's Comment)


def _ini_vars(setting: IniSetting) -> dict[str, Any]:
    """One INI setting, with the patterns that place it as ``netnsfix host`` does (see the module's docstring)."""
    section = rf"^\[{re.escape(setting.section)}\][^\n]*\n"
    comment = commented_key(setting.key)
    line = f"{setting.key} = {setting.value}"
    return {
        "path": str(setting.path),
        "fallback": None if setting.fallback is None else str(setting.fallback),
        "section": setting.section,
        "key": setting.key,
        "value": setting.value,
        "id": f"{setting.path}|{setting.section}|{setting.key}",
        # the section's body, to decide on the controller
        "section_regexp": rf"(?ms){section}(.*?)(?=^\[|\Z)",
        "key_regexp": rf"(?m)^[ \t]*{re.escape(setting.key)}[ \t]*[=:]",
        "comment_regexp": f"(?m){comment}",
        # on the node (ansible.builtin.replace): the new line after the comment block that shows the key
        "beside_regexp": rf"(?m)^({section}(?:(?!\[)[^\n]*\n)*?{comment.removeprefix('^')}[^\n]*\n{COMMENT_LINES})",
        "beside_replace": "\\g<1>" + line.replace("\\", "\\\\") + "\\n",
    }


def _patch_vars(patch: CheckedPatch) -> dict[str, Any]:
    """Where to look for the module, the lines it must have, and the one-line change, for find/assert/replace."""
    bases: list[str] = []
    alternatives: list[str] = []
    depth = 0
    for pattern in patch.search:
        parts = pattern.split("/")
        fixed = parts[: next(i for i, p in enumerate([*parts, "*"]) if "*" in p)]
        base = "/" + "/".join(fixed)
        if base not in bases:
            bases.append(base)
        depth = max(depth, len(parts) - len(fixed) + len(patch.module.split("/")))
        alternatives.append("/".join(re.escape(p).replace(r"\*", "[^/]*") for p in parts))
    offset = patch.line - patch.first
    before = "".join(f"{line}\n" for line in patch.released[:offset])
    return {
        "module": patch.module,
        "bases": bases,
        "depth": depth,
        "name": posixpath.basename(patch.module),
        "regexp": rf"^/({'|'.join(alternatives)})/{re.escape(patch.module)}$",
        "first": patch.first,
        "last": patch.first + len(patch.released) - 1,
        "released": list(patch.released),
        "already": [list(shape) for shape in patch.already],
        "line": patch.line,
        "new": patch.new,
        # the changed line, pinned by the released lines before it
        "replace_regexp": rf"(?m)^({re.escape(before)}){re.escape(patch.released[offset])}$",
        "replace": "\\g<1>" + patch.new.replace("\\", "\\\\"),
    }


def wanted_files(steps: Sequence[Step], all_settings: Sequence[HostSettings]) -> dict[str, bytes]:
    """Every wanted file's bytes under files/, by role-relative name; one content per name."""
    files: dict[str, bytes] = {}
    for settings in all_settings:
        for step in steps:
            for wanted in step.desired(settings).files:
                name = file_source(step.name, wanted.path)
                if files.setdefault(name, wanted.content) != wanted.content:
                    raise FleetError(f"{step.name}: {wanted.path} differs between nodes; the role ships one copy")
        if not all_settings:
            break
    return files


def _kinds(steps: Sequence[Step], all_settings: Sequence[HostSettings]) -> dict[str, set[str]]:
    """Which kinds of change each step makes on at least one node (so the role has tasks for them)."""
    kinds: dict[str, set[str]] = {step.name: set() for step in steps}
    for settings in all_settings:
        for step in steps:
            desired: Desired = step.desired(settings)
            for kind in ("files", "ini", "patches", "bridges"):
                if getattr(desired, kind):
                    kinds[step.name].add(kind)
    return kinds


def _step_var(step: str, kind: str) -> str:
    return f"netnsfix_steps[{step!r}].{kind} | default([])"


def defaults() -> dict[str, Any]:
    return {
        "netnsfix_root": "/",
        "netnsfix_pkg_backend": "yum",
        "netnsfix_ovs_datapath": "system",
        "netnsfix_store": STORE,
        "netnsfix_prefix": "{{ '' if netnsfix_root in ['/', ''] else (netnsfix_root | regex_replace('/+$', '')) }}",
        "netnsfix_system": "{{ netnsfix_root in ['/', ''] }}",
        "netnsfix_repo_dest": "/etc/yum.repos.d/netnsfix.repo",
        "netnsfix_key_dest": "/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix",
        "netnsfix_rpm_dest": "/var/cache/netnsfix/{{ netnsfix_package.file }}",
    }


def meta() -> dict[str, Any]:
    return {
        "galaxy_info": {
            "author": "netnsfix",
            "description": "The fixed iproute (Red Hat Bug 882047) and the Quantum companion steps on a Fedora 18 node",
            "license": "MIT",
            "min_ansible_version": "2.16",
            "platforms": [{"name": "Fedora", "versions": ["18"]}],
            "galaxy_tags": ["openstack", "quantum", "iproute"],
        },
        "dependencies": [],
        "collections": ["community.general", "openvswitch.openvswitch"],
    }


def main_tasks(steps: Sequence[Step], all_settings: Sequence[HostSettings]) -> list[dict[str, Any]]:
    kinds = _kinds(steps, all_settings)
    tasks: list[dict[str, Any]] = [
        {
            "name": "netnsfix: this node was exported with its settings",
            "ansible.builtin.assert": {
                "that": ["netnsfix_steps is defined", "netnsfix_package is defined"],
                "fail_msg": "{{ inventory_hostname }}: no netnsfix settings; export the project again with this host",
                "quiet": True,
            },
        },
        {"name": "netnsfix: read the node (nothing changes yet)", "ansible.builtin.import_tasks": "discover.yml"},
        {"name": "netnsfix: keep the first version of every file", "ansible.builtin.import_tasks": "backup.yml"},
        {
            "name": "netnsfix: the folders the files go to",
            "ansible.builtin.file": {"path": f"{PREFIX}{{{{ item }}}}", "state": "directory", "mode": "0755"},
            "loop": "{{ ([netnsfix_repo_dest | dirname] + ([netnsfix_rpm_dest | dirname] if netnsfix_pkg_backend == "
            "'rpm' else []) + ([netnsfix_key_dest | dirname] if netnsfix_package.key | default(false) else []) + "
            "netnsfix_files_all | default([]) | map('dirname') | list) | unique }}",
        },
        {"name": "netnsfix: the fixed iproute", "ansible.builtin.import_tasks": "package.yml"},
    ]
    for step in steps:
        if kinds[step.name]:
            tasks.append({"name": f"netnsfix: {step.name}", "ansible.builtin.import_tasks": f"{step.name}.yml"})
    tasks.append(
        {
            "name": "probe: the oneshot unit verify.yml starts",
            "ansible.builtin.copy": {
                "src": PROBE_UNIT,
                "dest": f"{PREFIX}/etc/systemd/system/{PROBE_UNIT}",
                "mode": "0644",
            },
            "notify": ["netnsfix daemon-reload"],
        }
    )
    return tasks


def discover_tasks() -> list[dict[str, Any]]:
    """Find and read what the steps change, and check it, before anything on the node changes.

    Two module runs on the node (find, and one read-only script); everything else is decided here.
    """
    patches = "netnsfix_steps['iptables-path'].patches | default([])"
    return [
        {
            "name": "discover: quantum's modules",
            "ansible.builtin.find": {
                "paths": "{{ item.bases | map('regex_replace', '^', netnsfix_prefix) | list }}",
                "patterns": "{{ item.name }}",
                "recurse": True,
                "depth": "{{ item.depth }}",
                "file_type": "file",
            },
            "loop": f"{{{{ {patches} }}}}",
            "loop_control": {"label": "{{ item.module }}"},
            "register": "netnsfix_patch_found",
        },
        {
            "name": "discover: the installed copies of each patched module",
            "ansible.builtin.set_fact": {
                "netnsfix_patch_files": "{% set out = [] %}{% for r in netnsfix_patch_found.results | default([]) %}"
                "{% for f in r.files %}{% set p = f.path[netnsfix_prefix | length:] %}"
                "{% if p is match(r.item.regexp) %}{% set _ = out.append({'path': p, 'patch': r.item}) %}"
                "{% endif %}{% endfor %}{% endfor %}{{ out }}",
            },
        },
        {
            "name": "discover: each patched module is installed",
            "ansible.builtin.assert": {
                "that": "netnsfix_patch_files | selectattr('patch.module', 'equalto', item.module) | list | length > 0",
                "fail_msg": "{{ inventory_hostname }}: quantum's {{ item.module }} is not installed (looked under "
                "{{ item.bases | join(', ') }}); is openstack-quantum installed?",
                "quiet": True,
            },
            "loop": f"{{{{ {patches} }}}}",
            "loop_control": {"label": "{{ item.module }}"},
        },
        {
            "name": "discover: read the INI files and the modules (nothing is written)",
            "ansible.builtin.script": {
                "cmd": "netnsfix-read.sh {{ netnsfix_root }} {{ ((netnsfix_ini_files | default([])) + "
                "(netnsfix_patch_files | map(attribute='path') | list)) | join(' ') }}",
                "executable": "/bin/sh",
            },
            "check_mode": False,
            "changed_when": False,
            "register": "netnsfix_read",
        },
        {
            "name": "discover: what each file holds",
            "ansible.builtin.set_fact": {
                "netnsfix_real": "{% set out = {} %}{% for line in netnsfix_read.stdout_lines %}"
                "{% set f = line.split('\t') %}{% if f | length == 3 and f[1] != '-' %}"
                "{% set _ = out.update({f[0]: f[1]}) %}{% endif %}{% endfor %}{{ out }}",
                "netnsfix_text": "{% set out = {} %}{% for line in netnsfix_read.stdout_lines %}"
                "{% set f = line.split('\t') %}{% if f | length == 3 and f[1] != '-' %}"
                "{% set _ = out.update({f[1]: f[2] | b64decode}) %}{% endif %}{% endfor %}{{ out }}",
            },
        },
        {
            "name": "discover: which file each INI setting goes to (its fallback when the file is missing)",
            "ansible.builtin.set_fact": {
                "netnsfix_ini_file": "{% set out = {} %}"
                "{% for s in netnsfix_ini_all | default([]) %}"
                "{% set _ = out.update({s.id: netnsfix_real[s.path] if s.path in netnsfix_real else "
                "(netnsfix_real[s.fallback] if s.fallback and s.fallback in netnsfix_real else s.path)}) %}"
                "{% endfor %}{{ out }}",
            },
        },
        {
            "name": "discover: every INI file is there",
            "ansible.builtin.assert": {
                "that": "netnsfix_ini_file[item.id] in netnsfix_text",
                "fail_msg": "{{ inventory_hostname }}: {{ item.path }}"
                "{{ (' (or ' ~ item.fallback ~ ')') if item.fallback else '' }}: missing",
                "quiet": True,
            },
            "loop": "{{ netnsfix_ini_all | default([]) }}",
            "loop_control": {"label": "{{ item.path }}"},
        },
        {
            "name": "discover: which new keys go after the comment that shows them",
            "ansible.builtin.set_fact": {
                "netnsfix_ini_beside": "{% set out = [] %}{% for s in netnsfix_ini_all | default([]) %}"
                "{% set found = netnsfix_text[netnsfix_ini_file[s.id]] | regex_findall(s.section_regexp) %}"
                "{% set body = found[0] if found else '' %}"
                "{% if found and not (body is search(s.key_regexp)) and (body is search(s.comment_regexp)) %}"
                "{% set _ = out.append(s.id) %}{% endif %}{% endfor %}{{ out }}",
            },
        },
        {
            "name": "discover: each module is the file netnsfix knows (checked patch)",
            "ansible.builtin.assert": {
                "that": "netnsfix_window == patch.released or netnsfix_window in patch.already",
                "fail_msg": "{{ inventory_hostname }}: {{ item.path }}: lines {{ patch.first }}-{{ patch.last }} "
                "are not the release's (nor an already fixed file's); first difference from the release: "
                "{{ netnsfix_difference }}; nothing was changed",
                "quiet": True,
            },
            "vars": {
                "patch": "{{ item.patch }}",
                "netnsfix_lines": "{{ netnsfix_text[item.path].splitlines() }}",
                "netnsfix_window": "{{ netnsfix_lines[patch.first - 1:patch.last] }}",
                "netnsfix_difference": "{% set ns = namespace(msg='') %}{% for want in patch.released %}"
                "{% set n = patch.first + loop.index0 %}"
                "{% if not ns.msg and (netnsfix_lines | length < n or netnsfix_lines[n - 1] != want) %}"
                "{% set ns.msg = 'line ' ~ n ~ ': expected ' ~ (want | to_json) ~ ', found ' ~ "
                "((netnsfix_lines[n - 1] | to_json) if netnsfix_lines | length >= n else 'the end of the file') %}"
                "{% endif %}{% endfor %}{{ ns.msg }}",
            },
            "loop": "{{ netnsfix_patch_files }}",
            "loop_control": {"label": "{{ item.path }}"},
        },
        {
            "name": "discover: the modules still as released (the ones to change)",
            "ansible.builtin.set_fact": {
                "netnsfix_patch_todo": "{% set out = [] %}{% for f in netnsfix_patch_files %}"
                "{% set lines = netnsfix_text[f.path].splitlines() %}"
                "{% if lines[f.patch.first - 1:f.patch.last] == f.patch.released %}"
                "{% set _ = out.append(f) %}{% endif %}{% endfor %}{{ out }}",
            },
        },
    ]


def backup_tasks() -> list[dict[str, Any]]:
    paths = (
        "{{ ([netnsfix_repo_dest, netnsfix_key_dest if netnsfix_package.key | default(false) else '', "
        "netnsfix_rpm_dest, '/etc/systemd/system/" + PROBE_UNIT + "'] + netnsfix_files_all | default([]) + "
        "(netnsfix_ini_file | default({})).values() | list + netnsfix_patch_files | map(attribute='path') | list) "
        "| select | unique | join(' ') }}"
    )
    return [
        {
            "name": "backup: the first version of every file the role writes (undo.yml puts them back)",
            "ansible.builtin.script": {
                "cmd": f"netnsfix-backup.sh {{{{ netnsfix_root }}}} {PREFIX}{{{{ netnsfix_store }}}} {paths}",
                "executable": "/bin/sh",
            },
            "register": "netnsfix_backup",
            "changed_when": "netnsfix_backup.stdout_lines | length > 0",
        }
    ]


def package_tasks(signed: bool) -> list[dict[str, Any]]:
    wanted = "netnsfix_package.nevra"
    differs = f"netnsfix_pkg_have.stdout_lines | default([]) != [{wanted}]"
    tasks: list[dict[str, Any]] = [
        {
            "name": "package: netnsfix.repo in /etc/yum.repos.d",
            "ansible.builtin.copy": {
                "src": "netnsfix.repo",
                "dest": f"{PREFIX}{{{{ netnsfix_repo_dest }}}}",
                "mode": "0644",
            },
        },
    ]
    if signed:
        tasks.append(
            {
                "name": "package: the repository's GPG key",
                "ansible.builtin.copy": {
                    "src": "RPM-GPG-KEY-netnsfix",
                    "dest": f"{PREFIX}{{{{ netnsfix_key_dest }}}}",
                    "mode": "0644",
                },
            }
        )
    tasks += [
        {
            "name": "package: which iproute is installed",
            "ansible.builtin.command": {
                "argv": [
                    "rpm",
                    "--root",
                    "{{ netnsfix_root }}",
                    "-q",
                    "--qf",
                    "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n",
                    "{{ netnsfix_package.name }}",
                ]
            },
            "register": "netnsfix_pkg_have",
            "check_mode": False,
            "changed_when": False,
            "failed_when": False,
            "when": "netnsfix_pkg_backend != 'none'",
        },
        {
            "name": "package: would install {{ netnsfix_package.nevra }} (check mode)",
            "ansible.builtin.debug": {
                "msg": "{{ netnsfix_package.name }}: {{ netnsfix_pkg_have.stdout_lines | join(', ') }} -> "
                "{{ netnsfix_package.nevra }}"
            },
            "changed_when": True,
            "when": ["ansible_check_mode", "netnsfix_pkg_backend != 'none'", differs],
        },
        {
            "name": "package: download {{ netnsfix_package.nevra }} (sha256 checked)",
            "ansible.builtin.get_url": {
                "url": "{{ netnsfix_package.url }}",
                "dest": f"{PREFIX}{{{{ netnsfix_rpm_dest }}}}",
                "checksum": "sha256:{{ netnsfix_package.sha256 }}",
                "mode": "0644",
            },
            "when": ["netnsfix_pkg_backend == 'rpm'", differs, "not ansible_check_mode"],
        },
        {
            "name": "package: rpm -U {{ netnsfix_package.nevra }} (rpm refuses a downgrade)",
            "ansible.builtin.command": {
                "argv": ["rpm", "--root", "{{ netnsfix_root }}", "-U", f"{PREFIX}{{{{ netnsfix_rpm_dest }}}}"]
            },
            "register": "netnsfix_pkg_rpm",
            "failed_when": "netnsfix_pkg_rpm.rc != 0",
            "when": ["netnsfix_pkg_backend == 'rpm'", differs],
        },
        {
            "name": "package: yum install {{ netnsfix_package.nevra }} (untested here: no yum on the test nodes)",
            "ansible.builtin.yum": {
                "name": "{{ netnsfix_package.nevra }}",
                "state": "present",
                "installroot": "{{ netnsfix_root }}",
                "enablerepo": "netnsfix",
            },
            "when": ["netnsfix_pkg_backend == 'yum'", differs],
        },
    ]
    return tasks


def step_tasks(step: str, kinds: set[str]) -> list[dict[str, Any]]:
    notify = [f"netnsfix restart for {step}"]
    tasks: list[dict[str, Any]] = []
    if "files" in kinds:
        tasks += [
            {
                "name": f"{step}: files",
                "ansible.builtin.copy": {
                    "src": "{{ item.src }}",
                    "dest": f"{PREFIX}{{{{ item.path }}}}",
                    "mode": "{{ item.mode }}",
                },
                "loop": f"{{{{ {_step_var(step, 'files')} }}}}",
                "loop_control": {"label": "{{ item.path }}"},
                "notify": ["netnsfix daemon-reload", *notify],
            },
        ]
    if "ini" in kinds:
        ini = _step_var(step, "ini")
        tasks += [
            {
                "name": f"{step}: new keys after the comment that shows them",
                "ansible.builtin.replace": {
                    "path": f"{PREFIX}{{{{ netnsfix_ini_file[item.id] }}}}",
                    "regexp": "{{ item.beside_regexp }}",
                    "replace": "{{ item.beside_replace }}",
                },
                "loop": f"{{{{ {ini} }}}}",
                "loop_control": {"label": "{{ netnsfix_ini_file[item.id] }} [{{ item.section }}] {{ item.key }}"},
                "when": "item.id in netnsfix_ini_beside",
                "notify": notify,
            },
            {
                "name": f"{step}: INI settings",
                "community.general.ini_file": {
                    "path": f"{PREFIX}{{{{ netnsfix_ini_file[item.id] }}}}",
                    "section": "{{ item.section }}",
                    "option": "{{ item.key }}",
                    "value": "{{ item.value }}",
                    "modify_inactive_option": False,
                    "create": False,
                },
                "loop": f"{{{{ {ini} }}}}",
                "loop_control": {"label": "{{ netnsfix_ini_file[item.id] }} [{{ item.section }}] {{ item.key }}"},
                "when": "item.id not in netnsfix_ini_beside",
                "notify": notify,
            },
        ]
    if "patches" in kinds:
        tasks.append(
            {
                "name": f"{step}: the checked one-line change to each module",
                "ansible.builtin.replace": {
                    "path": f"{PREFIX}{{{{ item.path }}}}",
                    "regexp": "{{ item.patch.replace_regexp }}",
                    "replace": "{{ item.patch.replace }}",
                },
                "loop": "{{ netnsfix_patch_todo }}",
                "loop_control": {"label": "{{ item.path }}: line {{ item.patch.line }}"},
                "notify": notify,
            }
        )
    if "bridges" in kinds:
        bridges = _step_var(step, "bridges")
        tasks += [
            {
                "name": f"{step}: bridges",
                "openvswitch.openvswitch.openvswitch_bridge": {
                    "bridge": "{{ item.name }}",
                    "state": "present",
                    "set": "Bridge {{ item.name }} datapath_type={{ netnsfix_ovs_datapath }}",
                },
                "loop": f"{{{{ {bridges} }}}}",
                "loop_control": {"label": "{{ item.name }}"},
                "when": SYSTEM,
                "register": "netnsfix_bridges_made",
                "notify": notify,
            },
            {
                "name": f"{step}: ports",
                "openvswitch.openvswitch.openvswitch_port": {
                    "bridge": "{{ item.name }}",
                    "port": "{{ item.port }}",
                    "state": "present",
                },
                "loop": f"{{{{ {bridges} | selectattr('port') | list }}}}",
                "loop_control": {"label": "{{ item.name }} {{ item.port }}"},
                # check mode made no bridge, so a port on a bridge it would make cannot be planned
                "when": [
                    SYSTEM,
                    "not (ansible_check_mode and item.name in (netnsfix_bridges_made.results | default([]) "
                    "| selectattr('changed') | map(attribute='item.name') | list))",
                ],
                "notify": notify,
            },
        ]
    return tasks


def handlers(steps: Sequence[Step]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = [
        {
            "name": "netnsfix daemon-reload",
            "ansible.builtin.systemd": {"daemon_reload": True},
            "when": SYSTEM,
        }
    ]
    for step in steps:
        result.append(
            {
                "name": f"netnsfix restart for {step.name}",
                "ansible.builtin.command": {"argv": ["systemctl", "try-restart", "{{ item }}.service"]},
                "loop": f"{{{{ {_step_var(step.name, 'restart')} }}}}",
                "register": "netnsfix_restart",
                "failed_when": RESTART_OK,
                "when": SYSTEM,
            }
        )
    return result


def undo_tasks() -> list[dict[str, Any]]:
    before = f"{PREFIX}{{{{ netnsfix_store }}}}/ovs.before"
    lines = "(netnsfix_ovs_before.content | default('') | b64decode).splitlines()"
    bridges = "netnsfix_steps['ovs-bridges'].bridges | default([])"
    return [
        {
            "name": "undo: the bridges and ports as they were before apply",
            "ansible.builtin.stat": {"path": before},
            "register": "netnsfix_ovs_before_stat",
        },
        {
            "name": "undo: read them",
            "ansible.builtin.slurp": {"src": before},
            "register": "netnsfix_ovs_before",
            "when": "netnsfix_ovs_before_stat.stat.exists",
        },
        {
            "name": "undo: remove the ports apply added",
            "openvswitch.openvswitch.openvswitch_port": {
                "bridge": "{{ item.name }}",
                "port": "{{ item.port }}",
                "state": "absent",
            },
            "loop": f"{{{{ {bridges} | selectattr('port') | list }}}}",
            "loop_control": {"label": "{{ item.name }} {{ item.port }}"},
            "when": [SYSTEM, "netnsfix_ovs_before_stat.stat.exists", f"(item.name ~ ' ' ~ item.port) not in {lines}"],
        },
        {
            "name": "undo: remove the bridges apply added",
            "openvswitch.openvswitch.openvswitch_bridge": {"bridge": "{{ item.name }}", "state": "absent"},
            "loop": f"{{{{ {bridges} }}}}",
            "loop_control": {"label": "{{ item.name }}"},
            "when": [SYSTEM, "netnsfix_ovs_before_stat.stat.exists", f"item.name not in {lines}"],
        },
        {
            "name": "undo: put every file back byte for byte, remove the ones apply created",
            "ansible.builtin.script": {
                "cmd": f"netnsfix-undo.sh {{{{ netnsfix_root }}}} {PREFIX}{{{{ netnsfix_store }}}}",
                "executable": "/bin/sh",
            },
            "register": "netnsfix_undo",
            "changed_when": "netnsfix_undo.stdout_lines | length > 0",
            "notify": ["netnsfix daemon-reload"],
        },
    ]


def verify_tasks() -> list[dict[str, Any]]:
    """The collection's proof (netnsfix.node.verify, module_utils/proof.py): one module run."""
    return [
        {
            "name": "verify: the fix on this node (Fedora 18's own tools only)",
            "netnsfix.node.verify": {"root": "{{ netnsfix_root }}"},
            "register": "netnsfix_verify",
            "when": SYSTEM,
        }
    ]


def role_tasks(
    steps: Sequence[Step], all_settings: Sequence[HostSettings], signed: bool
) -> dict[str, list[dict[str, Any]]]:
    """tasks/*.yml by file name."""
    kinds = _kinds(steps, all_settings)
    files: dict[str, list[dict[str, Any]]] = {
        "main.yml": main_tasks(steps, all_settings),
        "discover.yml": discover_tasks(),
        "backup.yml": backup_tasks(),
        "package.yml": package_tasks(signed),
        "undo.yml": undo_tasks(),
        "verify.yml": verify_tasks(),
    }
    for step in steps:
        if kinds[step.name]:
            files[f"{step.name}.yml"] = step_tasks(step.name, kinds[step.name])
    return files


def modules_used(tasks: dict[str, list[dict[str, Any]]], more: Sequence[dict[str, Any]] = ()) -> list[str]:
    """Every module the role's tasks and handlers call, by fully qualified name."""
    found: set[str] = set()
    for task in [t for group in tasks.values() for t in group] + list(more):
        found.update(key for key in task if key.count(".") == 2 and key != "ansible.builtin.import_tasks")
    return sorted(found)
