"""The layout the README's Layout section describes, checked on the source itself.

Imports run one way (cli -> demo -> pipeline -> stages -> archive/rpm -> tools -> util -> errors),
the Docker SDK is imported by the engine seam alone, and programs are run through the one command
runner except where the README says why. Each rule is checked against a module that breaks it, so
a rule that cannot fail is caught too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "netnsfix"

# Lower imports nothing higher. Equal layers do not import each other (each stage stands alone).
LAYERS = {
    "errors": 0,
    "collection": 0,  # the node library and the Ansible collection: imports nothing of netnsfix (see below)
    "util": 1,
    "recipe": 2,
    "manifest": 2,
    "tools": 3,
    "archive": 4,
    "rpm": 4,
    "source": 5,
    "build": 5,
    "publish": 5,
    "verify": 5,
    "doctor": 5,
    "fleet": 6,
    "pipeline": 6,
    "demo": 7,
    "cli": 8,
    "__main__": 9,
}
HOST_MAY_IMPORT = {"errors", "util", "host", "collection"}
# Who may import host: the CLI, and the fleet, whose Ansible role is made from the steps' descriptions.
HOST_USERS = {"cli", "fleet"}

# The only modules that may import these (the README's Layout section says the same).
DOCKER_SEAM = {"tools/engine.py"}
SUBPROCESS_ALLOWED = {"util/command.py"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "iproute2-3.6.0" not in p.parts)


def _component(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(source: str) -> set[str]:
    """Top-level names of every module imported, and the first netnsfix component for ours."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "netnsfix":
                names = [f"netnsfix.{alias.name}" for alias in node.names]
        found.update(names)
    return found


def layer_violations(component: str, imports: set[str]) -> list[str]:
    wrong = []
    for name in imports:
        parts = name.split(".")
        if parts[0] != "netnsfix" or len(parts) == 1 or parts[1] == "__version__":
            continue
        target = parts[1]
        if target == component:
            continue
        if component == "host":
            if target not in HOST_MAY_IMPORT:
                wrong.append(name)
        elif target == "host":
            if component not in HOST_USERS:
                wrong.append(name)
        elif target not in LAYERS or component not in LAYERS or LAYERS[target] >= LAYERS[component]:
            wrong.append(name)
    return wrong


COLLECTION = SRC / "collection"
MODULE_UTILS = COLLECTION / "plugins" / "module_utils"
# What the modules may import besides the standard library: Ansible's module API and the collection's library.
MODULE_IMPORTS = ("ansible.module_utils.", "ansible_collections.netnsfix.node.plugins.module_utils.")
# Outside the collection, only the fleet (which drives Ansible) may name Ansible's Python packages.
ANSIBLE_USERS = {"fleet"}


def collection_violations(path: str, source: str) -> list[str]:
    """Imports a collection file may not make (module_utils: the stdlib and each other, relatively; a module:
    also Ansible's module API and the library; nothing of netnsfix, which a node does not have)."""
    wrong = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            if "/module_utils/" not in path:
                wrong.append("." * node.level + (node.module or ""))
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            if "/modules/" in path and name.startswith(MODULE_IMPORTS):
                continue
            wrong.append(name)
    return wrong


@pytest.mark.parametrize("path", sorted(COLLECTION.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_the_collection_imports_only_what_a_node_has(path: Path) -> None:
    assert collection_violations(str(path), path.read_text()) == []


def test_the_collection_rule_catches_what_a_node_lacks() -> None:
    lib = str(MODULE_UTILS / "x.py")
    module = str(COLLECTION / "plugins" / "modules" / "x.py")
    assert collection_violations(lib, "from .rootfs import RootFS\nimport os\n") == []
    assert collection_violations(lib, "import yaml\n") == ["yaml"]
    assert collection_violations(lib, "from netnsfix.errors import HostError\n") == ["netnsfix.errors"]
    assert collection_violations(lib, "from ansible.module_utils.basic import AnsibleModule\n") == [
        "ansible.module_utils.basic"
    ]
    assert collection_violations(module, "from ansible.module_utils.basic import AnsibleModule\n") == []
    assert collection_violations(module, "from ..module_utils import apply\n") == ["..module_utils"]
    assert collection_violations(module, "import requests\n") == ["requests"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_fleet_names_ansible(path: Path) -> None:
    imports = {name.split(".")[0] for name in _imports(path.read_text())}
    assert not imports & {"ansible", "ansible_collections"} or _component(path) in ANSIBLE_USERS | {"collection"}


def test_the_ansible_rule_sees_an_import_of_ansible() -> None:
    assert {"ansible"} <= {name.split(".")[0] for name in _imports("from ansible.module_utils import basic\n")}


def test_top_level_holds_at_most_a_dozen_modules() -> None:
    top = [p.name for p in SRC.glob("*.py")]
    assert len(top) <= 12, top


def test_every_component_has_a_layer() -> None:
    components = {_component(p) for p in _modules()} - {"__init__"}
    assert components <= set(LAYERS) | {"host"}, components - set(LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_one_way(path: Path) -> None:
    assert layer_violations(_component(path), _imports(path.read_text())) == []


def test_the_layer_rule_catches_an_upward_import() -> None:
    assert layer_violations("archive", {"netnsfix.source.srpm"}) == ["netnsfix.source.srpm"]
    assert layer_violations("source", {"netnsfix.build.rebuild"}) == ["netnsfix.build.rebuild"]
    assert layer_violations("host", {"netnsfix.archive.fetch"}) == ["netnsfix.archive.fetch"]
    assert layer_violations("build", {"netnsfix.host.core"}) == ["netnsfix.host.core"]
    assert layer_violations("cli", {"netnsfix.host.core", "netnsfix.errors"}) == []
    assert layer_violations("fleet", {"netnsfix.host.desired", "netnsfix.publish.repofile"}) == []
    assert layer_violations("fleet", {"netnsfix.demo.run"}) == ["netnsfix.demo.run"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_engine_seam_imports_docker(path: Path) -> None:
    rel = str(path.relative_to(SRC))
    imports = {name.split(".")[0] for name in _imports(path.read_text())}
    assert "docker" not in imports or rel in DOCKER_SEAM


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_only_the_command_runner_runs_programs(path: Path) -> None:
    rel = str(path.relative_to(SRC))
    imports = {name.split(".")[0] for name in _imports(path.read_text())}
    assert "subprocess" not in imports or rel in SUBPROCESS_ALLOWED, f"{rel} runs a program itself"


def test_the_import_scan_sees_function_level_imports() -> None:
    source = "def f():\n    import subprocess\n    from docker.errors import NotFound\n"
    assert {"subprocess", "docker.errors"} <= _imports(source)


def test_readme_states_the_seams() -> None:
    readme = (SRC.parents[1] / "README.md").read_text()
    layout = readme[readme.index("## Layout") : readme.index("## Dependencies")]
    for rel in SUBPROCESS_ALLOWED | DOCKER_SEAM:
        assert f"`{rel}`" in layout, f"README's Layout section does not name {rel}"
