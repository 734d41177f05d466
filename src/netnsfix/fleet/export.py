"""``netnsfix fleet export``: a self-contained Ansible project for the fleet.

The project is written aside and renamed into place, so a failed export
leaves nothing half-written; an earlier export in the same folder (it carries
a marker file) is replaced, any other non-empty folder is refused. Every YAML
file is dumped by PyYAML from data.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netnsfix.collection.plugins.module_utils.plan import ini_files
from netnsfix.collection.plugins.module_utils.steps import STEPS
from netnsfix.errors import FleetError, NetnsfixError
from netnsfix.fleet import role as rolemod
from netnsfix.fleet.package import FixedPackage
from netnsfix.fleet.site import Fleet
from netnsfix.host.node import Step

MARKER = ".netnsfix-fleet"
PLAYBOOKS = ("site.yml", "verify.yml", "undo.yml")
PYTHON = "/usr/bin/python2.7"


@dataclass(frozen=True)
class Exported:
    path: Path
    inventory: Path
    nodes: tuple[str, ...]
    modules: tuple[str, ...]


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True).encode()


def export_project(fleet: Fleet, package: FixedPackage, dest: Path, steps: Sequence[Step] = STEPS) -> Exported:
    """Write the project for ``fleet`` into ``dest``."""
    if dest.exists() and not dest.is_dir():
        raise FleetError(f"{dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise FleetError(f"{dest}: not empty and not a netnsfix fleet export; choose another folder")
    files = _project_files(fleet, package, steps)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for relative, (data, mode) in sorted(files.items()):
            path = work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        (work / "roles" / rolemod.ROLE / "templates").mkdir(parents=True, exist_ok=True)
        work.chmod(0o755)
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
        work.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as error:
        shutil.rmtree(work, ignore_errors=True)
        raise FleetError(f"{dest}: cannot write the project: {error}") from None
    modules = _modules(fleet, steps, package)
    return Exported(dest, dest / _inventory_name(fleet.inventory), tuple(n.name for n in fleet.nodes), tuple(modules))


def _inventory_name(inventory: Path) -> str:
    return "inventory" + "".join(inventory.suffixes[-1:])


def _modules(fleet: Fleet, steps: Sequence[Step], package: FixedPackage) -> list[str]:
    settings = [n.settings for n in fleet.nodes]
    tasks = rolemod.role_tasks(steps, settings, package.gpg_key is not None)
    return rolemod.modules_used(tasks, rolemod.handlers(steps))


def _project_files(fleet: Fleet, package: FixedPackage, steps: Sequence[Step]) -> dict[str, tuple[bytes, int]]:
    settings = [n.settings for n in fleet.nodes]
    signed = package.gpg_key is not None
    role = f"roles/{rolemod.ROLE}"
    files: dict[str, tuple[bytes, int]] = {}

    def put(path: str, data: bytes, mode: int = 0o644) -> None:
        files[path] = (data, mode)

    try:
        tasks = rolemod.role_tasks(steps, settings, signed)
        wanted = rolemod.wanted_files(steps, settings)
        host_vars = {node.name: _host_vars(node.name, node.settings, steps) for node in fleet.nodes}
    except NetnsfixError as error:
        raise FleetError(str(error)) from None
    for name, group in tasks.items():
        put(f"{role}/tasks/{name}", dump(group))
    put(f"{role}/handlers/main.yml", dump(rolemod.handlers(steps)))
    put(f"{role}/defaults/main.yml", dump(rolemod.defaults()))
    put(f"{role}/meta/main.yml", dump(rolemod.meta()))
    put(f"{role}/vars/main.yml", dump({}))
    for name, data in wanted.items():
        put(f"{role}/files/{name}", data)
    for name in rolemod.SCRIPTS:
        put(f"{role}/files/{name}", rolemod.script(name), 0o755 if name.endswith(".sh") else 0o644)
    put(f"{role}/files/netnsfix.repo", package.repo_file)
    if package.gpg_key is not None:
        put(f"{role}/files/RPM-GPG-KEY-netnsfix", package.gpg_key)
    put(f"{role}/README.md", _role_readme().encode())
    put("site.yml", dump([_play("netnsfix: the fixed iproute and the companion steps", {"roles": [rolemod.ROLE]})]))
    put("verify.yml", dump([_play("netnsfix: prove the fix on each node", _include("verify.yml"))]))
    put("undo.yml", dump([_play("netnsfix: undo what site.yml changed", _include("undo.yml"))]))
    put("ansible.cfg", _ansible_cfg().encode())
    put(
        "group_vars/all.yml",
        dump(
            {
                "ansible_python_interpreter": PYTHON,
                "netnsfix_pkg_backend": fleet.options.pkg_backend,
                "netnsfix_ovs_datapath": fleet.options.ovs_datapath,
                "netnsfix_package": {
                    "name": package.name,
                    "nevra": package.nevra,
                    "file": package.filename,
                    "url": package.url,
                    "sha256": package.sha256,
                    "key": signed,
                },
            }
        ),
    )
    for name, variables in host_vars.items():
        put(f"host_vars/{name}.yml", dump(variables))
    put(_inventory_name(fleet.inventory), fleet.inventory.read_bytes())
    put("README.md", _readme(fleet, package, _modules(fleet, steps, package)).encode())
    put(MARKER, b"netnsfix fleet export\n")
    return files


def _host_vars(name: str, settings: Any, steps: Sequence[Step]) -> dict[str, Any]:
    per_step = rolemod.host_steps(steps, settings)
    desired = [step.desired(settings) for step in steps]
    ini = tuple(s for d in desired for s in d.ini)
    return {
        "netnsfix_role": settings.role,
        "netnsfix_settings": {
            "public_nic": settings.public_nic,
            "private_nic": settings.private_nic,
            "private_bridge": settings.private_bridge_name,
            "physnets": [str(p) for p in settings.physnets],
            "bridge_mappings": [f"{p}:{b}" for p, b in settings.mappings],
            "iscsi_ip_address": settings.iscsi_ip_address,
        },
        "netnsfix_steps": per_step,
        "netnsfix_ini_files": [str(path) for path in ini_files(ini)]
        + sorted({str(s.fallback) for s in ini if s.fallback is not None}),
        "netnsfix_ini_all": [item for entry in per_step.values() for item in entry.get("ini", [])],
        "netnsfix_files_all": [str(f.path) for d in desired for f in d.files],
    }


def _play(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "hosts": "all", "gather_facts": False, **body}


def _include(tasks_from: str) -> dict[str, Any]:
    return {
        "tasks": [
            {
                "name": f"netnsfix_node: {tasks_from}",
                "ansible.builtin.include_role": {"name": rolemod.ROLE, "tasks_from": tasks_from},
            }
        ]
    }


def _ansible_cfg() -> str:
    return (
        "# Written by netnsfix fleet export.\n"
        "[defaults]\n"
        "roles_path = roles\n"
        "host_key_checking = False\n"
        "retry_files_enabled = False\n"
        f"interpreter_python = {PYTHON}\n"
        "gathering = explicit\n"
        "forks = 10\n"
        "\n"
        "[connection]\n"
        "# pipelining for every connection that has it (the docker connection too)\n"
        "pipelining = True\n"
        "\n"
        "[ssh_connection]\n"
        "# pipelining works with Python 2.7 and roughly halves the time per task\n"
        "pipelining = True\n"
        "ssh_args = -o ControlMaster=auto -o ControlPersist=60s\n"
    )


def _role_readme() -> str:
    return (
        "# netnsfix_node\n\n"
        "Made by `netnsfix fleet export` from netnsfix's host steps; export again instead of editing.\n"
        "Variables: `netnsfix_root` (default `/`: a folder applies the files only), `netnsfix_pkg_backend`\n"
        "(`yum` or `rpm`), `netnsfix_ovs_datapath` (`system` or `netdev`), and per host `netnsfix_steps`.\n"
    )


def _readme(fleet: Fleet, package: FixedPackage, modules: Sequence[str]) -> str:
    inventory = _inventory_name(fleet.inventory)
    nodes = "\n".join(f"| {n.name} | {n.settings.role} |" for n in fleet.nodes)
    used = "\n".join(f"- `{m}`" for m in modules)
    return (
        "# netnsfix fleet project\n\n"
        f"Written by `netnsfix fleet export`: the fixed {package.nevra} and the companion steps\n"
        "(privatetmp, iptables-path, vif-driver, ovs-bridges, quantum-config) for these nodes:\n\n"
        "| node | role |\n| --- | --- |\n"
        f"{nodes}\n\n"
        "Run it by hand with ansible-core 2.16 (the last that manages Python 2.7 nodes):\n\n"
        f"    ansible-playbook -i {inventory} site.yml --check --diff   # what would change\n"
        f"    ansible-playbook -i {inventory} site.yml                  # apply\n"
        f"    ansible-playbook -i {inventory} verify.yml                # prove the fix on each node\n"
        f"    ansible-playbook -i {inventory} undo.yml                  # put every file back\n\n"
        "`netnsfix fleet plan|apply|verify|undo` runs the same playbooks and prints one table.\n\n"
        f"Modules the role uses:\n\n{used}\n"
    )
