"""``netnsfix fleet export``: an Ansible project that uses the collection netnsfix.node.

The collection (src/netnsfix/collection: the role, the modules, the library)
is copied verbatim into ``collections/ansible_collections/netnsfix/node/``;
everything else the project holds comes from the inventory, the site file and
the published repository: each node's settings (``host_vars``), the package
(``group_vars/all.yml``), the repository file and key (``files/``),
``ansible.cfg`` and three short playbooks that use the role. Nothing of the
role is generated, so an operator can read, lint and extend it.

The project is written aside and renamed into place, so a failed export
leaves nothing half-written; an earlier export in the same folder (it carries
a marker file) is replaced, any other non-empty folder is refused.

No text from the inputs is ever Jinja: every string that came from the
inventory, the site file, the repository or the command line is written as
``!unsafe '...'`` (Ansible never templates it, a ``{{ lookup(...) }}`` in it
reaches the node as those characters); only the project's own references
(``{{ playbook_dir }}``) are live. Every file is written below the project
through the path policy (util/confined.py), and the project may neither lie
inside nor hold the repository, the cache or a build folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from netnsfix.errors import FleetError
from netnsfix.fleet import MARKER
from netnsfix.fleet.package import FixedPackage
from netnsfix.fleet.site import Fleet, FleetNode, node_settings
from netnsfix.manifest import MANIFEST_NAME, is_stage_folder
from netnsfix.util.confined import enclosing, open_below, overlap
from netnsfix.util.paths import cache_dir

PLAYBOOKS = ("site.yml", "verify.yml", "undo.yml")
PYTHON = "/usr/bin/python2.7"
COLLECTION = "collections/ansible_collections/netnsfix/node"
ROLE = "netnsfix.node.node"
SKIPPED = ("__pycache__",)
MIN_FORKS = 10


@dataclass(frozen=True)
class Exported:
    path: Path
    inventory: Path
    nodes: tuple[str, ...]


class Unsafe(str):
    """Text from an input: written as ``!unsafe '...'``, so Ansible never templates it."""


class _Dumper(yaml.SafeDumper):
    pass


def _unsafe(dumper: yaml.SafeDumper, data: Unsafe) -> yaml.ScalarNode:
    return dumper.represent_scalar("!unsafe", str(data), style="'")


_Dumper.add_representer(Unsafe, _unsafe)


def unsafe(value: Any) -> Any:
    """``value`` with every string in it (keys apart) marked :class:`Unsafe`."""
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, dict):
        return {key: unsafe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [unsafe(item) for item in value]
    return value


def dump(data: Any) -> bytes:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True
    ).encode()


def check_apart(dest: Path, repo: Path | None) -> None:
    """The project may not be, hold or lie inside the repository (``serve`` would publish the inventory),
    the cache or a stage's build folder."""
    others = [(cache_dir(), "netnsfix's cache")]
    if repo is not None:
        others.insert(0, (repo, "the repository"))
    clash = overlap(dest, others)
    repository = enclosing(dest, "repodata/repomd.xml")
    if clash is None and repository is not None:
        clash = f"is inside a repository {repository}"
    stage = enclosing(dest, MANIFEST_NAME)
    if clash is None and stage is not None and is_stage_folder(stage):
        clash = f"is inside a stage's output folder {stage}"
    if clash is not None:
        raise FleetError(f"-o {dest}: {clash}; write the project into a folder of its own")


def collection_files() -> Iterator[tuple[str, bytes]]:
    """Every file of the collection as installed with netnsfix, by path inside it (no __pycache__, no .pyc)."""
    yield from _walk(resources.files("netnsfix.collection"), "")


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in SKIPPED or entry.name.endswith(".pyc"):
            continue
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry.read_bytes()


def export_project(fleet: Fleet, package: FixedPackage, dest: Path, repo: Path | None = None) -> Exported:
    """Write the project for ``fleet`` into ``dest`` (apart from ``repo``, the repository it was read from)."""
    check_apart(dest, repo)
    if dest.exists() and not dest.is_dir():
        raise FleetError(f"{dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise FleetError(f"{dest}: not empty and not a netnsfix fleet export; choose another folder")
    files = _project_files(fleet, package)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for relative, data in sorted(files.items()):
            fd = open_below(work, relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, make_folders=True)
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            os.chmod(work / relative, 0o644)
        work.chmod(0o755)
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
        work.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except (OSError, ValueError) as error:
        shutil.rmtree(work, ignore_errors=True)
        raise FleetError(f"{dest}: cannot write the project: {error}") from None
    return Exported(dest, dest / _inventory_name(fleet.inventory), tuple(n.name for n in fleet.nodes))


def _inventory_name(inventory: Path) -> str:
    return "inventory" + "".join(inventory.suffixes[-1:])


def _project_files(fleet: Fleet, package: FixedPackage) -> dict[str, bytes]:
    files = {f"{COLLECTION}/{name}": data for name, data in collection_files()}
    signed = package.gpg_key is not None
    files["files/netnsfix.repo"] = package.repo_file
    if package.gpg_key is not None:
        files["files/RPM-GPG-KEY-netnsfix"] = package.gpg_key
    files["group_vars/all.yml"] = dump(_group_vars(fleet, package, signed))
    for node in fleet.nodes:
        files[f"host_vars/{node.name}.yml"] = dump(_host_vars(node))
    files["site.yml"] = dump([_play("netnsfix: the fixed iproute and the companion steps", "main", handlers=True)])
    files["verify.yml"] = dump([_play("netnsfix: prove the fix on each node", "verify")])
    files["undo.yml"] = dump([_play("netnsfix: undo what site.yml changed", "undo", handlers=True)])
    files["ansible.cfg"] = _ansible_cfg(len(fleet.nodes)).encode()
    files[_inventory_name(fleet.inventory)] = fleet.inventory.read_bytes()
    files["README.md"] = _readme(fleet, package).encode()
    files[MARKER] = b"netnsfix fleet export\n"
    return files


def _group_vars(fleet: Fleet, package: FixedPackage, signed: bool) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ansible_python_interpreter": PYTHON,
        "netnsfix_pkg_backend": fleet.options.pkg_backend,
        "netnsfix_package": unsafe(
            {
                "name": package.name,
                "nevra": package.nevra,
                "url": package.url,
                "sha256": package.sha256,
            }
        ),
    }
    if signed:
        variables["netnsfix_gpg_key_file"] = "{{ playbook_dir }}/files/RPM-GPG-KEY-netnsfix"
    return variables


def _host_vars(node: FleetNode) -> dict[str, Any]:
    """The node's settings as the operator gave them (site file and group), checked, for the role."""
    return {"netnsfix_settings": unsafe(node_settings(node))}


def _play(name: str, entry: str, handlers: bool = False) -> dict[str, Any]:
    play: dict[str, Any] = {"name": name, "hosts": "all", "gather_facts": False}
    if handlers:
        # a failed node still restarts what its earlier steps changed (the marker covers a killed controller)
        play["force_handlers"] = True
    if entry == "main":
        play["roles"] = [{"role": ROLE}]
    else:
        play["tasks"] = [
            {
                "name": f"netnsfix: the role's {entry} tasks",
                "ansible.builtin.include_role": {"name": ROLE, "tasks_from": entry},
            }
        ]
    return play


def _ansible_cfg(nodes: int) -> str:
    return (
        "# Written by netnsfix fleet export.\n"
        "[defaults]\n"
        "collections_path = ./collections\n"
        "host_key_checking = False\n"
        "retry_files_enabled = False\n"
        f"interpreter_python = {PYTHON}\n"
        "gathering = explicit\n"
        "# every node at once: a task waits for its slowest node, not for a queue\n"
        f"forks = {max(MIN_FORKS, nodes)}\n"
        "force_handlers = True\n"
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


def _readme(fleet: Fleet, package: FixedPackage) -> str:
    inventory = _inventory_name(fleet.inventory)
    nodes = "\n".join(f"| {n.name} | {node_settings(n)['role']} |" for n in fleet.nodes)
    return (
        "# netnsfix fleet project\n\n"
        f"Written by `netnsfix fleet export`: the fixed {package.nevra} and the companion steps\n"
        "(privatetmp, iptables_path, vif_driver, quantum_config, ovs_bridges) for these nodes:\n\n"
        "| node | role |\n| --- | --- |\n"
        f"{nodes}\n\n"
        f"The role is `{ROLE}` from the collection in `{COLLECTION}` (a verbatim copy of the one\n"
        "netnsfix ships). Each node's settings are in `host_vars/NODE.yml` (`netnsfix_settings`), the\n"
        "package in `group_vars/all.yml`; the role's variables are described in its\n"
        "`meta/argument_specs.yml`, which Ansible checks before the first task.\n\n"
        "Run it by hand with ansible-core 2.16 (the last that manages Python 2.7 nodes):\n\n"
        f"    ansible-playbook -i {inventory} site.yml --check --diff   # what would change\n"
        f"    ansible-playbook -i {inventory} site.yml                  # apply\n"
        f"    ansible-playbook -i {inventory} site.yml --tags vif_driver   # one step (tags: package and each step)\n"
        f"    ansible-playbook -i {inventory} verify.yml                # prove the fix on each node\n"
        f"    ansible-playbook -i {inventory} undo.yml                  # put every file back\n\n"
        "`netnsfix fleet plan|apply|verify|undo` runs the same playbooks and prints one table.\n"
    )
