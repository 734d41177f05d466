"""The node's proof (proof.verify_node, what netnsfix.node.verify runs) on a real booted systemd.

The harness's systemd container stands for a node: every argv verify_node runs goes through
``docker exec`` (its runner seam), so the same shell scenarios and rules run as on a node, against
systemd as PID 1. A fixed ip (Debian's) passes every rule and leaves the node as found; the 3.6.0-like
ip fails the node with one line naming the mounts rule; an agent whose PrivateTmp is on fails Bug
881741's rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from verifykit import verify_containers

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.verify.harness import staged_as_ip
from netnsfix.verify.systemd import INSIDE, copy_in
from netnsfix.verify.systemd_image import booted

pytestmark = [pytest.mark.engine, pytest.mark.slow]
STATE = "ls -A /run/netns /run/systemd/system 2>&1; systemctl list-units --all --no-legend 'netnsfix*' 2>&1; cat /proc/1/mountinfo"


def node_proof(engine, image: str, binary: Path, setup: str = "") -> tuple[dict, str, str]:
    """verify_node's result, and the node's state before and after."""
    with staged_as_ip(binary) as ip, booted(engine, image, name_prefix="netnsfix-verify") as node:
        copy_in(node, ip, INSIDE)
        # every mount shared, as systemd leaves a real host (it does not in a container; the fleet's nodes do the same)
        assert node.exec(["mount", "--make-rshared", "/"]).exit_code == 0
        if setup:
            assert node.exec(["sh", "-c", setup]).exit_code == 0

        def runner(argv: list) -> tuple:
            result = node.exec(argv)
            return result.exit_code, result.output, ""

        before = node.exec(["sh", "-c", STATE]).output
        result = proof.verify_node(runner, INSIDE, "netnsfix-test-agent.service")
        after = node.exec(["sh", "-c", STATE]).output
    return result, before, after


def test_a_fixed_ip_passes_every_rule_and_leaves_the_node_as_found(
    docker_client, engine, systemd_image: str, debian_ip: Path
) -> None:
    result, before, after = node_proof(engine, systemd_image, debian_ip)
    assert result["failed"] is None, proof.failure_line(result)
    lines = proof.result_lines(result)
    for rule in ("netns-made", "netns-exec", "netns-devices", "mounts", "systemd-start", "agent-netns-exec-restart"):
        assert any(line.startswith(f"PASS {rule}: ") for line in lines), (rule, lines)
    assert after == before
    assert not verify_containers(docker_client)


def test_the_unpatched_ip_fails_the_node_on_its_mounts(
    docker_client, engine, systemd_image: str, variants: dict[str, Path]
) -> None:
    result, _, _ = node_proof(engine, systemd_image, variants["unpatched"])
    line = proof.failure_line(result)
    assert line.startswith("FAIL mounts (netns, Bug 882047): /sys was replaced; "), line
    assert "the probe unit did not start" in line
    assert not verify_containers(docker_client)


def test_an_agent_with_privatetmp_on_fails_bug_881741(
    docker_client, engine, systemd_image: str, debian_ip: Path
) -> None:
    agent = (
        "printf '[Service]\\nType=simple\\nExecStart=/bin/sleep 1000\\nPrivateTmp=true\\n' "
        ">/etc/systemd/system/netnsfix-test-agent.service && systemctl daemon-reload"
    )
    result, _, _ = node_proof(engine, systemd_image, debian_ip, agent)
    line = proof.failure_line(result)
    assert line.startswith("FAIL agent-netns-exec-start (privatetmp, Bug 881741): PrivateTmp=yes: "), line
    assert "Invalid argument" in line
    assert not verify_containers(docker_client)
