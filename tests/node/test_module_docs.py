"""Every module's DOCUMENTATION, EXAMPLES and RETURN (and the doc fragments) are YAML that parses.

ansible-doc and ansible-lint read them as YAML; a description with ``word: word`` in a plain
scalar makes ansible-doc fail for that module while the module itself still runs, so nothing else
would notice (ansible-lint only logs it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from testkit import ROOT

PLUGINS = ROOT / "src" / "netnsfix" / "collection" / "plugins"
DOC_NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")
FILES = sorted((PLUGINS / "modules").glob("*.py")) + sorted((PLUGINS / "doc_fragments").glob("*.py"))


def doc_blocks(source: str) -> dict[str, str]:
    """The documentation strings of a module (top-level or in a doc fragment's class), by name."""
    blocks: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in DOC_NAMES and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                blocks[name] = node.value.value
    return blocks


def parse_errors(source: str) -> list[str]:
    errors = []
    for name, text in doc_blocks(source).items():
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as error:
            errors.append(f"{name}: {' '.join(str(error).split())}")
    return errors


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_documentation_parses(path: Path) -> None:
    source = path.read_text()
    if path.parent.name == "modules":
        assert set(doc_blocks(source)) == set(DOC_NAMES), f"{path.name} lacks one of {DOC_NAMES}"
    assert parse_errors(source) == []


def test_a_colon_in_a_plain_description_is_caught() -> None:
    # what privatetmp.py said once: a plain scalar over two lines with ": " in it
    broken = (
        'DOCUMENTATION = r"""\nmodule: x\ndescription:\n'
        "  - restarts (one C(systemctl show U1 U2\n    ...): one block per unit)\n"
        '"""\n'
    )
    errors = parse_errors(broken)
    assert len(errors) == 1 and errors[0].startswith("DOCUMENTATION: mapping values are not allowed"), errors
