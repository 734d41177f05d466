"""The collection's modules run by real Ansible (ansible-core 2.16, localhost) on a Fedora 18 root folder.

``netnsfix.node.steps`` in check mode with diffs changes nothing and reports
one diff per file; applied, it makes what ``netnsfix host apply`` makes and
owes the restarts; run again it changes nothing but still returns the owed
restarts; ``state: absent`` puts the root back byte for byte. A hostile root
fails the module with the library's one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostroot import make_fedora18_root, snapshot
from testkit import unavailable

COLLECTION = Path(__file__).resolve().parents[2] / "src" / "netnsfix" / "collection"
FILE_STEPS = ["privatetmp", "iptables_path", "vif_driver", "quantum_config"]
SETTINGS = {"public_nic": "em1", "private_nic": "em2", "iscsi_ip_address": "192.168.1.101"}


@pytest.fixture
def ansible(tmp_path: Path):
    program = Path(sys.executable).parent / "ansible"
    if not program.exists():
        unavailable("ansible is not installed (the fleet extra)")
    collections = tmp_path / "collections" / "ansible_collections" / "netnsfix"
    collections.mkdir(parents=True)
    shutil.copytree(COLLECTION, collections / "node", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )

    def run(args: dict, *options: str) -> dict:
        done = subprocess.run(
            [str(program), "localhost", "-c", "local", "-m", "netnsfix.node.steps", "-a", json.dumps(args), *options],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        document = json.loads(done.stdout)
        return document["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return run


def test_check_apply_noop_absent(ansible, tmp_path: Path) -> None:
    root = make_fedora18_root(tmp_path / "root")
    before = snapshot(root)
    args = {"root": str(root), "steps": FILE_STEPS, "settings": SETTINGS}

    checked = ansible(args, "--check", "--diff")
    assert checked["changed"] is True, checked
    assert snapshot(root) == before, "check mode changed the root"
    assert len(checked["diff"]) == len(checked["files"]) == 9  # 4 drop-ins, iptables_manager, 4 INI files
    assert {"path": "/etc/nova/nova.conf", "action": "edited"} in checked["files"]

    applied = ansible(args)
    assert applied["changed"] is True, applied
    assert "diff" not in applied, "file contents returned without diff mode"
    assert applied["steps"] == {"privatetmp": True, "iptables-path": True, "vif-driver": True, "quantum-config": True}
    owed = json.loads((root / "var/lib/netnsfix/restart-owed.json").read_text())["units"]
    assert "openstack-nova-compute" in owed and applied["restart"] == owed

    again = ansible(args)
    assert again["changed"] is False and again["files"] == []
    assert again["restart"] == owed, "a no-op run must still return the restarts owed"

    undone = ansible(dict(args, state="absent"))
    assert undone["changed"] is True
    assert {"path": "/etc/nova/nova.conf", "action": "restored"} in undone["files"]
    after = snapshot(root)
    marker = "var/lib/netnsfix/restart-owed.json"
    assert {k: v for k, v in after.items() if not k.startswith("var/lib/netnsfix")} == before
    assert marker in after, "undo changed files back: their units are owed a restart too"


def test_a_hostile_root_fails_the_module_with_one_line(ansible, tmp_path: Path) -> None:
    root = make_fedora18_root(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.rename(root / "var/lib", root / "var/lib.real")
    os.symlink(outside, root / "var/lib")
    result = ansible({"root": str(root), "steps": ["vif_driver"], "settings": SETTINGS})
    assert result.get("failed") is True, result
    assert (
        result["msg"]
        == f"{root}/var/lib: a symbolic link; netnsfix keeps its own files only in real folders inside the root, nothing was changed"
    )
    assert list(outside.iterdir()) == []
