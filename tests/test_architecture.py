"""The layout the README's Layout section describes, checked on the source itself.

Imports run one way (cli -> demo -> pipeline -> stages -> archive/rpm -> tools -> util -> errors),
the Docker SDK is imported by the engine seam alone, and programs are run through the one command
runner except where the README says why. No code reads an error's message back (errors carry their facts
as fields; see netnsfix.errors). Each rule is checked against a module that breaks it, so
a rule that cannot fail is caught too.
"""

from __future__ import annotations

import ast
import functools
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

# Files that still parse an error's text, each until the issue that rewrites it lands (issue 16: host/settings.py
# reads the key back from its own HostError, verify/privatetmp.py splits its own problem strings). Nothing else.
PARSES_ERROR_TEXT_UNTIL_ISSUE_16 = {"host/settings.py", "verify/privatetmp.py"}
# str methods that read text back (split() without arguments only folds whitespace, so it is not among them)
READING_METHODS = {
    "split", "rsplit", "replace", "removeprefix", "removesuffix", "partition", "rpartition",
    "startswith", "endswith", "find", "rfind", "index", "rindex", "count",
}  # fmt: skip

# The only modules that may import these (the README's Layout section says the same).
DOCKER_SEAM = {"tools/engine.py"}
SUBPROCESS_ALLOWED = {"util/command.py"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "iproute2-3.6.0" not in p.parts)


def _component(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@functools.cache  # several rules read each module: parsed once
def _tree(source: str) -> ast.Module:
    return ast.parse(source)


@functools.cache
def _imports(source: str) -> frozenset[str]:
    """Top-level names of every module imported, and the first netnsfix component for ours."""
    found: set[str] = set()
    for node in ast.walk(_tree(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "netnsfix":
                names = [f"netnsfix.{alias.name}" for alias in node.names]
        found.update(names)
    return frozenset(found)


def layer_violations(component: str, imports: set[str] | frozenset[str]) -> list[str]:
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
# ...and what every Fedora 18 node with yum has: rpm's Python bindings (rpm-python, which yum 3.4.3 requires;
# module_utils/package.py compares versions with rpm's own labelCompare for the yum backend, imported inside the
# function, behind an ImportError guard).
NODE_PACKAGES = {"rpm"}
# Outside the collection, only the fleet (which drives Ansible) may name Ansible's Python packages.
ANSIBLE_USERS = {"fleet"}


def _inside_functions(tree: ast.AST) -> set[int]:
    """The ids of the import statements inside a function's body (run only when the function is called)."""
    inside = set()
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(node) for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))}
    return inside


def collection_violations(path: str, source: str) -> list[str]:
    """Imports a collection file may not make (module_utils: the stdlib and each other, relatively; a module:
    also Ansible's module API and the library; nothing of netnsfix, which a node does not have). A library
    function that only a module's run calls may import Ansible's module API or rpm inside its body: loading
    the library still takes the stdlib alone (netnsfix host imports it in-process, without Ansible)."""
    wrong = []
    tree = _tree(source)
    lazy = _inside_functions(tree) if "/module_utils/" in path else set()
    for node in ast.walk(tree):
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
            if "/modules/" in path and (name.startswith(MODULE_IMPORTS) or name in NODE_PACKAGES):
                continue
            if id(node) in lazy and (name.startswith("ansible.module_utils.") or name in NODE_PACKAGES):
                continue
            if "/collection/tests/" in path and (name + ".").startswith("plugins.module_utils."):
                continue  # the library's unit tests import it from the collection folder, as a node would
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
    assert collection_violations(module, "import rpm\n") == []  # rpm-python: yum needs it on every node
    assert collection_violations(lib, "import rpm\n") == ["rpm"]  # the library itself stays stdlib only
    # ...when it is loaded: a function only a module's run calls may import them in its body
    assert collection_violations(lib, "def f():\n    import rpm\n") == []
    assert collection_violations(lib, "def f():\n    from ansible.module_utils.urls import fetch_url\n") == []
    assert collection_violations(lib, "def f():\n    import yaml\n") == ["yaml"]
    assert collection_violations(lib, "def f():\n    from netnsfix.errors import HostError\n") == ["netnsfix.errors"]
    unit = str(COLLECTION / "tests" / "unit" / "test_x.py")
    assert collection_violations(unit, "from plugins.module_utils.rootfs import RootFS\n") == []
    assert collection_violations(unit, "import pytest\n") == ["pytest"]


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


def error_text_readings(source: str) -> list[str]:
    """Where ``source`` reads an error's message: ``str(error)`` (or a name holding it) split, replaced,
    sliced, searched with ``in`` or given to ``re``. ``error`` is any name an ``except ... as`` binds;
    each function is read on its own (a ``text`` in one is not another's)."""
    tree = _tree(source)
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    top = [node for node in tree.body if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    found: set[str] = set()
    for scope in [*functions, ast.Module(body=top, type_ignores=[])]:
        found.update(_readings_in(scope))
    return sorted(found, key=lambda line: int(line.split(":")[0].removeprefix("line ")))


def _readings_in(scope: ast.AST) -> list[str]:
    errors = {node.name for node in ast.walk(scope) if isinstance(node, ast.ExceptHandler) and node.name}

    def is_error_text(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "str"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in errors
        )

    texts = {  # names assigned an error's text: text = str(error)
        target.id
        for node in ast.walk(scope)
        if isinstance(node, ast.Assign) and is_error_text(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def text(node: ast.AST) -> bool:
        return is_error_text(node) or (isinstance(node, ast.Name) and node.id in texts)

    found: list[str] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and text(node.func.value):
            if node.func.attr in READING_METHODS and (node.func.attr != "split" or node.args or node.keywords):
                found.append(f"line {node.lineno}: .{node.func.attr}() of an error's text")
        elif isinstance(node, ast.Subscript) and text(node.value):
            found.append(f"line {node.lineno}: a slice of an error's text")
        elif isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) and text(right)
            for op, right in zip(node.ops, node.comparators, strict=True)
        ):
            found.append(f"line {node.lineno}: 'in' an error's text")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and any(text(arg) for arg in node.args)
        ):
            found.append(f"line {node.lineno}: re.{node.func.attr}() over an error's text")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_code_reads_an_errors_message(path: Path) -> None:
    rel = str(path.relative_to(SRC))
    if rel in PARSES_ERROR_TEXT_UNTIL_ISSUE_16:
        return
    assert error_text_readings(path.read_text()) == [], f"{rel} reads an error's message; give the error a field"


def test_the_error_text_rule_catches_each_way_of_reading_it() -> None:
    cases = {
        "try:\n    f()\nexcept OSError as error:\n    key = str(error).split(':')[0]\n": ".split()",
        "try:\n    f()\nexcept E as error:\n    g(str(error).replace('/tmp/', 'x:'))\n": ".replace()",
        "try:\n    f()\nexcept E as e:\n    g(str(e).removeprefix('p: '))\n": ".removeprefix()",
        "try:\n    f()\nexcept E as e:\n    g(str(e)[4:])\n": "a slice",
        "try:\n    f()\nexcept E as e:\n    if 'HTTP 404' in str(e):\n        g()\n": "'in'",
        "try:\n    f()\nexcept E as e:\n    text = str(e)\n    if 'denied' in text:\n        g()\n": "'in'",
        "import re\ntry:\n    f()\nexcept E as e:\n    key = re.match('[a-z_]*', str(e))\n": "re.match()",
    }
    for source, what in cases.items():
        assert any(what in line for line in error_text_readings(source)), source
    fine = "try:\n    f()\nexcept E as e:\n    raise G(e.subject, f'{e.problem} ({e})') from e\n"
    assert error_text_readings(fine) == []
    assert error_text_readings("try:\n    f()\nexcept E as e:\n    g(' '.join(str(e).split()))\n") == []
    assert error_text_readings("x = str(value).split(':')\n") == []  # not an error
    other_function = "def f():\n    try:\n        g()\n    except E as e:\n        text = str(e)\n"
    assert error_text_readings(other_function + "def h(text):\n    return text[:9]\n") == []
