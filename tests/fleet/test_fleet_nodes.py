"""netnsfix fleet on three booted nodes: one network node and two compute nodes.

fn1 (network) and fn2 (compute) are reached with the community.docker
connection, fn3 (compute) over real SSH (sshd in the container, key auth, to
its address on the engine's bridge). Each node is a systemd container whose only
Python is 2.7 (src/netnsfix/demo/fleetnodes.py says why it is Debian 12 with
bullseye's 2.7), with Open vSwitch on the userspace datapath, rpm with the demo
archive's glibc registered, and the Fedora 18 files of tests/hostroot.py
(shaped like openstack-quantum 2012.2, openstack-nova and openstack-cinder as
released; that module says where each shape was read). The network node has
plugin.ini (quantum-server-setup made it), the compute nodes only the OVS
plugin's ini (quantum-node-setup). The published repository is the project's
own: the demo archive's iproute 3.6.0 rebuilt with the seed's patch and
published; each node gets a copy and reaches it with a file:// URL.

The tests run in file order on the same booted nodes (one boot per module);
each says what state it leaves.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fleetkit import REPO_IN_NODE, prepare_node, read, sh
from fleetkit import site as site_file
from hostroot import make_node_root

from netnsfix.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.engine]

NAMES = ("fn1", "fn2", "fn3")
STEP_FILES = (
    "/etc/systemd/system/quantum-dhcp-agent.service.d/netnsfix-privatetmp.conf",
    "/etc/systemd/system/quantum-l3-agent.service.d/netnsfix-privatetmp.conf",
    "/etc/systemd/system/quantum-openvswitch-agent.service.d/netnsfix-privatetmp.conf",
    "/etc/systemd/system/quantum-server.service.d/netnsfix-privatetmp.conf",
    "/usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py",
    "/etc/nova/nova.conf",
    "/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini",
    "/etc/quantum/quantum.conf",
    "/etc/cinder/cinder.conf",
)


def node_root(folder: Path, name: str) -> Path:
    return make_node_root(folder, plugin_ini=(name == "fn1"))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, engine, need_tool_module):
    from netnsfix.demo.fleetnodes import (
        authorize_key,
        booted_nodes,
        ensure_node_image,
        make_key,
        published_repo,
    )
    from netnsfix.recipe import find_recipe

    base = tmp_path_factory.mktemp("fleet")
    published = published_repo(find_recipe("iproute-3.6.0-fc18"), base / "demo")
    image = ensure_node_image(engine, published.glibc_rpm)
    key = make_key(base)
    with booted_nodes(engine, image, NAMES, "netnsfix-fleettest") as nodes:
        for name, node in nodes.items():
            prepare_node(node.container, node_root(base / "roots" / name, name), published.repo)
        authorize_key(nodes["fn3"].container, (base / "id_ed25519.pub").read_bytes())
        sh(nodes["fn3"].container, "systemctl restart ssh")
        inventory = base / "inventory.ini"
        inventory.write_text(
            "[network]\n"
            f"fn1 ansible_connection=community.docker.docker ansible_host={nodes['fn1'].container.name}\n"
            "[compute]\n"
            f"fn2 ansible_connection=community.docker.docker ansible_host={nodes['fn2'].container.name}\n"
            f"fn3 ansible_host={nodes['fn3'].address} ansible_user=root ansible_ssh_private_key_file={key} "
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
        )
        site = base / "site.toml"
        site.write_text(site_file("fn1"))
        yield {
            "nodes": nodes,
            "inventory": inventory,
            "site": site,
            "repo": published.repo,
            "base": base,
            "args": [
                "-i",
                str(inventory),
                "--site",
                str(site),
                "--repo",
                str(published.repo),
                "--repo-url",
                f"file://{REPO_IN_NODE}",
            ],
        }
    names = {node.container.name for node in nodes.values()}
    left = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    assert not names & set(left.split()), "a fleet node container was left behind"


@pytest.fixture(scope="module")
def need_tool_module():
    for tool in ("rpmbuild", "createrepo_c", "ssh", "ssh-keygen", "docker", "debootstrap"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def fleet_cli(capsys, action: str, fleet, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["fleet", action, *fleet["args"], *extra])
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by node: result, ok, changed, failed, unreachable, what changed."""
    table = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"^(fn\d)\s+(would change|up to date|\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$", line)
        if match:
            table[match[1]] = list(match.groups())
    return table


def test_bad_input_is_one_line_and_touches_no_node(fleet, capsys, tmp_path) -> None:
    cases = []
    missing = tmp_path / "missing.ini"
    cases.append((["-i", str(missing)], f"{missing}: inventory missing"))
    broken = tmp_path / "broken.yml"
    broken.write_text("all:\n  hosts: [\n")
    cases.append((["-i", str(broken)], f"{broken}: not an inventory Ansible can read"))
    noroles = tmp_path / "noroles.ini"
    noroles.write_text("fn9 ansible_connection=community.docker.docker\n")
    cases.append((["-i", str(noroles)], f"{noroles}: host fn9 has no role"))
    badsite = tmp_path / "site.toml"
    badsite.write_text('[nodes.fn1]\niscsi_ip_address = "node1.example.com"\n')
    cases.append(
        (["-i", str(fleet["inventory"]), "--site", str(badsite)], "iscsi_ip_address 'node1.example.com' is not an IP")
    )
    for args, expected in cases:
        capsys.readouterr()
        code = main(["fleet", "apply", *args, "--repo", str(fleet["repo"])])
        out, err = capsys.readouterr()
        assert code == 2, (args, out, err)
        assert err.count("\n") == 1 and expected in err, err
        assert "Traceback" not in err and out == ""
    for node in fleet["nodes"].values():  # nothing was changed on any node
        assert read(node.container, "/etc/yum.repos.d/netnsfix.repo") is None
        assert read(node.container, "/var/lib/netnsfix") is None  # no journal, no marker, no package record


def test_plan_apply_plan_and_a_second_apply_changes_nothing(fleet, capsys) -> None:
    code, out, _ = fleet_cli(capsys, "plan", fleet)
    assert code == 1, out
    table = rows(out)
    assert set(table) == set(NAMES) and all(row[1] == "would change" for row in table.values()), out
    assert "+libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver" in out  # plan shows diffs
    assert "+PrivateTmp=false" in out
    code, out, _ = fleet_cli(capsys, "apply", fleet)
    assert code == 0, out
    assert all(int(row[3]) > 0 for row in rows(out).values()), out
    assert 2 <= most_module_runs(out) <= 8, out  # steps, package (rpm -U inside), restart handler
    code, out, _ = fleet_cli(capsys, "plan", fleet)
    assert code == 0, out
    assert all(row[1] == "up to date" for row in rows(out).values()), out
    code, out, _ = fleet_cli(capsys, "apply", fleet)
    assert code == 0, out
    assert {name: row[3] for name, row in rows(out).items()} == dict.fromkeys(NAMES, "0"), out
    assert 1 <= most_module_runs(out) <= 5, out


def most_module_runs(out: str) -> int:
    """The most module runs any node had, from the table's last line ("..., 2-3 module runs per node")."""
    found = re.search(r"nodes in [\d.]+ s, (?:\d+-)?(\d+) module runs per node$", out, re.M)
    assert found, out
    return int(found[1])


def test_the_node_runs_the_published_build_and_its_files_match_host_apply(fleet, capsys, tmp_path) -> None:
    nevra = next((fleet["repo"] / "Packages").glob("*/iproute-*.rpm")).name.removesuffix(".rpm")
    for name, node in fleet["nodes"].items():
        owner = sh(node.container, "rpm -qf $(command -v ip)").strip()
        assert owner == nevra, (name, owner)
        # the same node files, changed by netnsfix host apply --root on this machine
        copy = node_root(tmp_path / name, name)
        options = ["--private-nic", "eth2", "--iscsi-ip-address", "192.168.1.101"]
        options += ["--role", "network", "--public-nic", "eth1"] if name == "fn1" else ["--role", "compute"]
        # the node's own systemd (Debian 12's 252: drop-ins); the copy's files alone would say 197
        options += ["--systemd-version", sh(node.container, "systemctl --version").split()[1]]
        steps = ["privatetmp", "iptables-path", "vif-driver", "quantum-config"]
        assert main(["host", "apply", *steps, "--root", str(copy), *options]) == 0
        for path in STEP_FILES:
            assert read(node.container, path) == (copy / path.lstrip("/")).read_bytes(), (name, path)
        bridges = sh(node.container, "ovs-vsctl list-br").split()
        assert set(bridges) == ({"br-int", "br-eth2", "br-ex"} if name == "fn1" else {"br-int", "br-eth2"})
        assert sh(node.container, "ovs-vsctl list-ports br-eth2").split() == ["eth2"]


def test_verify_passes_on_every_node(fleet, capsys) -> None:
    code, out, _ = fleet_cli(capsys, "verify", fleet)
    assert code == 0, out
    assert all(row[1] == "PASS" for row in rows(out).values()), out
    for name in NAMES:
        for check in ("netns-exec: ", "netns-devices: inside, /proc/net/dev lists only lo", "mounts: /sys kept"):
            assert f"{name}: PASS {check}" in out, (name, check, out)
        assert f"{name}: PASS agent-netns-exec-restart" in out
        assert "FAIL" not in out


def test_undo_restores_every_file_and_removes_the_bridges(fleet, capsys, tmp_path) -> None:
    code, out, _ = fleet_cli(capsys, "undo", fleet)
    assert code == 0, out
    for name, node in fleet["nodes"].items():
        fresh = node_root(tmp_path / name, name)
        for path in STEP_FILES:
            expected = (fresh / path.lstrip("/")).read_bytes() if (fresh / path.lstrip("/")).exists() else None
            assert read(node.container, path) == expected, (name, path)
        assert read(node.container, "/etc/yum.repos.d/netnsfix.repo") is None
        assert sh(node.container, "ovs-vsctl list-br").split() == []


def test_a_hand_edited_node_fails_clearly_and_an_unreachable_one_is_named(fleet, capsys, tmp_path) -> None:
    module = "/usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"
    sh(fleet["nodes"]["fn2"].container, f"sed -i '268s/.*/        # edited by hand/' {module}")
    inventory = tmp_path / "inventory.ini"
    # fn4: sshd's address with a port nothing listens on: the connection is refused at once
    inventory.write_text(
        fleet["inventory"].read_text()
        + f"fn4 ansible_host={fleet['nodes']['fn3'].address} ansible_port=1 ansible_user=root\n"
    )
    args = ["-i", str(inventory), *fleet["args"][2:]]
    address = re.escape(fleet["nodes"]["fn3"].address)
    capsys.readouterr()
    code = main(["fleet", "apply", *args])
    out, _ = capsys.readouterr()
    assert code == 1, out
    table = rows(out)
    assert table["fn2"][1] == "FAIL" and table["fn4"][1] == "UNREACHABLE", out
    assert table["fn1"][1] == "changed" and table["fn3"][1] == "changed", out
    assert (
        f"fn2: Steps | the companion steps and the package, in one module run: {module}: line 268: expected" in out
    ), out
    assert "nothing was changed" in out, out
    # ssh's "port 1: Connection refused", or with pipelining the closed pipe first: either names the address
    assert re.search(rf"^fn4: unreachable: .*{address}", out, re.M), out
    assert read(fleet["nodes"]["fn2"].container, "/etc/yum.repos.d/netnsfix.repo") is None  # fn2 changed nothing


def test_verify_fails_with_evidence_on_privatetmp_true_and_on_the_unpatched_ip(fleet, capsys, variants) -> None:
    fn1, fn3 = fleet["nodes"]["fn1"].container, fleet["nodes"]["fn3"].container
    sh(
        fn1,
        "mkdir -p /etc/systemd/system/quantum-l3-agent.service.d && printf '[Service]\\nPrivateTmp=true\\n' "
        "> /etc/systemd/system/quantum-l3-agent.service.d/zz-test.conf && systemctl daemon-reload",
    )
    fn3.put_archive("/usr/sbin", _single("ip", variants["unpatched"].read_bytes()))
    code, out, _ = fleet_cli(capsys, "verify", fleet, "--limit", "fn1,fn3")
    assert code == 1, out
    table = rows(out)
    assert table["fn1"][1] == "FAIL" and table["fn3"][1] == "FAIL", out
    assert "fn1: FAIL agent-netns-exec-start: after start: ip netns exec" in out and "Invalid argument" in out, out
    assert "fn1: PASS mounts: /sys kept" in out
    # Bug 882047 on fn3: the unpatched ip's remount reached the node; /sys/fs/cgroup went, and systemd with it
    assert "fn3: FAIL mounts: /sys was replaced" in out, out
    assert "fn3: FAIL systemd-start: the probe unit did not start" in out, out


def _single(name: str, data: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
