"""netnsfix.node.verify under Ansible, on a fleet node (Python 2.7, booted systemd), through the role's tasks file.

A playbook of one play includes ``netnsfix.node.node`` with ``tasks_from: verify`` (what 16B's verify.yml
playbook does), over the docker connection with /usr/bin/python2.7: the module ships proof.py to the node
(AnsiballZ) and runs it there. A fixed ip passes every rule, in check mode too, and leaves the node as
found; the 3.6.0-like ip at /usr/sbin/ip fails the node with one line naming the mounts rule.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from processkit import finish

from netnsfix.fleet.results import read_results

pytestmark = [pytest.mark.engine, pytest.mark.slow]
COLLECTION = Path(__file__).resolve().parents[2] / "src" / "netnsfix" / "collection"
PLAY = """\
- name: netnsfix verify
  hosts: all
  gather_facts: false
  tasks:
    - name: the proof
      ansible.builtin.include_role:
        name: netnsfix.node.node
        tasks_from: verify
"""
STATE = "ls -A /run/netns /run/systemd/system 2>&1; systemctl list-units --all --no-legend 'netnsfix*' 2>&1; cat /proc/1/mountinfo"


@pytest.fixture(scope="module")
def node_image(engine, tmp_path_factory) -> str:
    for tool in ("rpmbuild", "createrepo_c", "debootstrap"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            pytest.fail(f"{tool} is needed to make the fleet node image")
    from netnsfix.demo.fleetnodes import ensure_node_image, published_repo
    from netnsfix.recipe import find_recipe

    published = published_repo(find_recipe("iproute-3.6.0-fc18"), tmp_path_factory.mktemp("demo"))
    return ensure_node_image(engine, published.glibc_rpm)


def playbook(tmp_path: Path, container: str, *extra: str) -> dict:
    (tmp_path / "ansible_collections" / "netnsfix").mkdir(parents=True, exist_ok=True)
    link = tmp_path / "ansible_collections" / "netnsfix" / "node"
    if not link.exists():
        link.symlink_to(COLLECTION)
    (tmp_path / "play.yml").write_text(PLAY)
    inventory = f"n1 ansible_connection=community.docker.docker ansible_host={container} "
    inventory += "ansible_python_interpreter=/usr/bin/python2.7\n"
    (tmp_path / "inventory.ini").write_text(inventory)
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(tmp_path), "ANSIBLE_STDOUT_CALLBACK": "json"}
    command = [str(Path(os.sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.ini")]
    process = subprocess.Popen(
        [*command, str(tmp_path / "play.yml"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out, err = finish(process, timeout=300)
    assert out.strip().startswith("{"), out + err
    return json.loads(out)


def test_a_fixed_node_passes_in_check_mode_and_not_and_is_left_as_found(
    engine, node_image: str, tmp_path: Path
) -> None:
    from netnsfix.demo.fleetnodes import booted_nodes

    with booted_nodes(engine, node_image, ("n1",), "netnsfix-verifymodule") as nodes:
        node = nodes["n1"].container
        before = node.exec(["sh", "-c", STATE]).output
        for extra in ((), ("--check",)):
            (result,) = read_results(playbook(tmp_path, node.name, *extra), ["n1"])
            assert result.success and result.changed == 0, result
            assert result.checks and all(line.startswith(("PASS ", "INFO ")) for line in result.checks), result.checks
            for rule in ("netns-made", "netns-exec", "mounts", "systemd-start", "agent-netns-exec-restart"):
                assert any(line.startswith(f"PASS {rule}: ") for line in result.checks), (rule, result.checks)
            assert node.exec(["sh", "-c", STATE]).output == before


def test_the_unpatched_ip_fails_the_node_in_one_line(engine, node_image: str, variants, tmp_path: Path) -> None:
    from netnsfix.demo.fleetnodes import booted_nodes
    from netnsfix.verify.systemd import copy_in

    with booted_nodes(engine, node_image, ("n1",), "netnsfix-verifymodule") as nodes:
        node = nodes["n1"].container
        copy_in(node, variants["unpatched"], "/usr/sbin/ip")
        (result,) = read_results(playbook(tmp_path, node.name), ["n1"])
    assert result.verdict == "FAIL", result
    assert result.message.startswith(
        "verify: the fix on this node (Fedora 18's own tools only): FAIL mounts (netns, Bug 882047): /sys was replaced; "
    ), result.message
    assert any(line.startswith("FAIL mounts: /sys was replaced") for line in result.checks), result.checks
