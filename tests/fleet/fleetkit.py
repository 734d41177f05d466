"""What the fleet's node tests share: reading a node's files, running a shell line there, preparing a node.

A node is a booted container of src/netnsfix/demo/fleetnodes.py; preparing it puts the Fedora 18 files
of a node root (tests/hostroot.py) into it, a copy of the published repository at REPO_IN_NODE (the
inventory reaches it with a file:// URL), and the two NICs (veth pairs) the site file names.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

REPO_IN_NODE = "/srv/netnsfix-repo"


def site(network_node: str) -> str:
    """The site file: rpm as on Fedora 18 (no yum on these nodes), eth2 private everywhere, eth1 public on the
    network node, cinder's iSCSI address."""
    return (
        '[fleet]\npkg_backend = "rpm"\n\n[defaults]\nprivate_nic = "eth2"\niscsi_ip_address = "192.168.1.101"\n\n'
        f'[nodes.{network_node}]\npublic_nic = "eth1"\n'
    )


def read(container, path: str) -> bytes | None:
    """A file's bytes in the node, None when it is not there."""
    result = container.exec(["sh", "-c", f"test -e {path} && base64 -w0 {path}"])
    return base64.b64decode(result.output) if result.exit_code == 0 else None


def sh(container, script: str) -> str:
    """``sh -c SCRIPT`` in the node; its output (the test fails when it fails)."""
    result = container.exec(["sh", "-c", script])
    assert result.exit_code == 0, f"{script}: {result.output}"
    return result.output


def prepare_node(container, root: Path, repo: Path) -> None:
    from netnsfix.demo.fleetnodes import put_files

    put_files(container, root)
    tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", "."], check=True, capture_output=True).stdout
    sh(container, f"mkdir -p {REPO_IN_NODE}")
    container.put_archive(REPO_IN_NODE, tar)
    for nic in ("eth1", "eth2"):
        sh(container, f"/usr/bin/ip link add {nic} type veth peer name {nic}-peer")
