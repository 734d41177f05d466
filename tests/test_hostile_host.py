"""Hostile inputs to the host steps, run as a user runs them: a --root that is not a node's root,
two applies at once, settings that name the wrong thing. One stderr line, exit 2 (HostError),
no traceback, and nothing outside the command's own output changed."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostilekit import Case, both, run_case, write
from hostroot import make_fedora18_root, snapshot
from testkit import ROOT, changed_paths, tree_state

FILE_STEPS = ("privatetmp", "iptables-path", "vif-driver", "quantum-config")
NODE = "{world}/node"


def node_root(world: Path) -> None:
    make_fedora18_root(world / "node")


CASES = [
    Case("root-missing", ("host", "apply", "--root", "{world}/none"), 2, r"/none: no such folder \(the node's root\)"),
    Case(
        "root-missing-privatetmp-alone",
        ("host", "apply", "privatetmp", "--root", "{world}/none"),
        2,
        r"/none: no such folder \(the node's root\)",
    ),
    Case(
        "root-missing-plan",
        ("host", "plan", "iptables-path", "--root", "{world}/none"),
        2,
        r"/none: no such folder \(the node's root\)",
    ),
    Case(
        "root-is-a-file",
        ("host", "apply", "privatetmp", "--root", "{world}/afile"),
        2,
        r"/afile: not a folder \(the node's root\)",
        write("afile", b"x"),
    ),
    Case(
        "root-empty-folder",
        ("host", "apply", "privatetmp", "--root", "{work}"),
        2,
        r"/work: does not look like a node's root: no etc/ or usr/ in it",
    ),
    Case(
        "root-without-usr",
        ("host", "undo", "--root", "{world}/half"),
        2,
        r"/half: does not look like a node's root: no usr/ in it",
        write("half/etc/hostname", b"node1\n"),
    ),
    Case(
        "iscsi-host-name-option-with-config",
        (
            "host",
            "plan",
            "quantum-config",
            "--root",
            NODE,
            "--config",
            "{work}/node.toml",
            "--iscsi-ip-address",
            "node1",
        ),
        2,
        r"^netnsfix: error: --iscsi-ip-address: iscsi_ip_address 'node1' is not an IP address",
        both(node_root, write("work/node.toml", b'role = "network"\n')),
    ),
    Case(
        "physnets-a-string",
        ("host", "plan", "quantum-config", "--root", NODE, "--config", "{work}/node.toml"),
        2,
        r"node\.toml: physnets must be a list of strings \(physnets = \['physnet1'\]\), not a string",
        both(node_root, write("work/node.toml", b'physnets = "physnet1"\n')),
    ),
    Case(
        "physnet-option-bad",
        ("host", "plan", "quantum-config", "--root", NODE, "--physnet", "a b"),
        2,
        r"^netnsfix: error: --physnet: physnets: 'a b' is neither NAME nor NAME:FIRST_VLAN:LAST_VLAN",
        node_root,
    ),
    Case(
        "config-is-a-folder",
        ("host", "plan", "--root", NODE, "--config", "{work}"),
        2,
        r"/work: cannot read: ",
        node_root,
    ),
    Case(
        "config-not-utf8",
        ("host", "plan", "--root", NODE, "--config", "{work}/node.toml"),
        2,
        r"node\.toml: not UTF-8 text \(invalid continuation byte at byte 9\)$",
        both(node_root, write("work/node.toml", b'role = "n\xe9twork"\n')),
    ),
    Case(
        "journal-garbage",
        ("host", "undo", "--root", NODE),
        2,
        r"backups/journal\.json: unreadable journal",
        both(node_root, write("node/var/lib/netnsfix/backups/journal.json", b"{nope")),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_host(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


def test_a_second_apply_says_who_holds_the_root(tmp_path: Path) -> None:
    """While one apply holds the root, another fails at once naming the holder's pid; nothing changes."""
    root = make_fedora18_root(tmp_path / "node")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running apply holds
        before = tree_state(tmp_path)
        done = _host(root, "apply", *FILE_STEPS)
        assert changed_paths(before, tree_state(tmp_path)) == []
    finally:
        os.close(fd)
    assert done.returncode == 2
    assert done.stderr == (
        f"netnsfix: error: {root}: another netnsfix host apply or undo is running on this root "
        f"(process {os.getpid()} holds its lock); nothing was changed\n"
    )
    # released: the same command now runs
    assert _host(root, "apply", *FILE_STEPS).returncode == 0


def test_applies_and_undoes_at_once_never_trip_over_each_other(tmp_path: Path) -> None:
    """Rounds of two concurrent `host apply`, then two concurrent `host undo`: each one runs or is
    refused with the lock's line; no traceback; after the undo the root is exactly as it was (no
    stray var/lib/netnsfix)."""
    root = make_fedora18_root(tmp_path / "node")
    original = snapshot(root)
    for _ in range(4):
        for action in ("apply", "undo"):
            args = (action, *FILE_STEPS) if action == "apply" else (action,)
            runs = [_start(root, *args) for _ in range(2)]
            results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in runs]
            for code, err in results:
                assert "Traceback" not in err
                assert code == 0 or (code == 2 and "holds its lock" in err), err
            assert any(code == 0 for code, _ in results)
        assert snapshot(root) == original


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _host(root: Path, action: str, *steps: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netnsfix", "host", action, *steps, "--root", str(root)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


def _start(root: Path, action: str, *steps: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "host", action, *steps, "--root", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
