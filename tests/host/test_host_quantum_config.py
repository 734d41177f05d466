"""quantum-config: plugin.ini [OVS], quantum.conf overlapping IPs, cinder's iSCSI address; node settings.

The files follow the released shapes (tests/hostroot.py says where each was
read): ovs_quantum_plugin.ini with no option in [OVS] (only ``# Default:`` /
``# Example:`` comments) and sample ``# [OVS]`` lines inside [AGENT];
quantum.conf with ``# allow_overlapping_ips = False``; Fedora's cinder.conf
with no iscsi_ip_address and no comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostroot import CINDER_CONF, cli, make_fedora18_root, make_node_root, ovs_plugin_ini, snapshot

PLUGIN = "etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini"
SETTINGS = ["--private-nic", "em2", "--iscsi-ip-address", "192.168.1.101"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def test_the_seeds_values_land_and_every_comment_survives(root, capsys) -> None:
    originals = {
        name: (root / name).read_text() for name in (PLUGIN, "etc/quantum/quantum.conf", "etc/cinder/cinder.conf")
    }
    code, _, _ = cli(capsys, "host", "apply", "quantum-config", "--root", str(root), *SETTINGS)
    assert code == 0
    plugin = (root / PLUGIN).read_text()
    assert "tenant_network_type = vlan\n" in plugin
    assert "network_vlan_ranges = physnet1,physnet2:100:199\n" in plugin
    assert "bridge_mappings = physnet1:br-ex,physnet2:br-em2\n" in plugin
    assert "allow_overlapping_ips = True\n" in (root / "etc/quantum/quantum.conf").read_text()
    assert "iscsi_ip_address = 192.168.1.101\n" in (root / "etc/cinder/cinder.conf").read_text()
    for name, before in originals.items():
        after = (root / name).read_text().splitlines()
        for line in before.splitlines():
            if line.startswith("#") or not line.strip() or line.startswith("["):
                assert line in after, f"{name}: lost {line!r}"
        assert [s for s in after if s.startswith("[")] == [s for s in before.splitlines() if s.startswith("[")]
    assert (root / "etc/quantum/plugin.ini").is_symlink(), "plugin.ini must stay Fedora's symlink"
    assert (root / PLUGIN).stat().st_mode & 0o777 == 0o640
    assert cli(capsys, "host", "apply", "quantum-config", "--root", str(root), *SETTINGS)[1].startswith(
        "quantum-config: ok"
    )


def test_the_config_file_sets_physnets_and_mappings(root, tmp_path, capsys) -> None:
    config = tmp_path / "compute.toml"
    config.write_text('role = "compute"\nprivate_nic = "eth1"\nphysnets = ["physnet2:200:299"]\n')
    cli(capsys, "host", "apply", "quantum-config", "--root", str(root), "--config", str(config))
    plugin = (root / PLUGIN).read_text()
    assert "network_vlan_ranges = physnet2:200:299\n" in plugin
    assert "bridge_mappings = physnet2:br-eth1\n" in plugin
    assert (root / "etc/cinder/cinder.conf").read_text() == CINDER_CONF, "no address set: cinder.conf untouched"


@pytest.mark.parametrize("name", ["node1.example.com", "node1", "192.168.1"])
def test_a_host_name_for_iscsi_ip_address_is_refused(root, tmp_path, capsys, name) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'iscsi_ip_address = "{name}"\n')
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", "--root", str(root), "--config", str(config))
    assert code == 2
    assert (
        err
        == f"netnsfix: error: {config}: iscsi_ip_address {name!r} is not an IP address; cinder needs the address itself (a host name, even one in /etc/hosts, fails)\n"
    )
    assert snapshot(root) == before


def test_an_ipv6_address_is_accepted(root, capsys) -> None:
    assert cli(capsys, "host", "apply", "quantum-config", "--root", str(root), "--iscsi-ip-address", "fd00::65")[0] == 0
    assert "iscsi_ip_address = fd00::65\n" in (root / "etc/cinder/cinder.conf").read_text()


def test_a_mapping_to_an_unknown_physnet_is_refused(root, tmp_path, capsys) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        'physnets = ["physnet1", "physnet2:100:199"]\nbridge_mappings = {physnet1 = "br-ex", physnet3 = "br-em3"}\n'
    )
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", "--root", str(root), "--config", str(config))
    assert code == 2
    assert (
        f"{config}: bridge_mappings: physnet3:br-em3 maps an unknown physnet 'physnet3' (physnets: physnet1, physnet2)"
        in err
    )
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('physnets = ["physnet2:300:100"]\n', "VLAN range must lie within 1-4094"),
        ('role = "storage"\n', "role 'storage' is not one of network, compute, controller"),
        ('public_nic = "a-name-much-too-long"\n', "is not an interface name"),
        ('iscsi_ip = "1.2.3.4"\n', "unknown setting 'iscsi_ip'"),
        ("role = \n", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_file(root, tmp_path, capsys, text, message) -> None:
    config = tmp_path / "node.toml"
    config.write_text(text)
    code, _, err = cli(capsys, "host", "plan", "--root", str(root), "--config", str(config))
    assert code == 2 and str(config) in err and message in err and err.count("\n") == 1


def test_a_missing_config_file_is_one_error(root, tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "host", "plan", "--root", str(root), "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and err == f"netnsfix: error: {tmp_path / 'nope.toml'}: missing\n"


def test_no_mapping_at_all_is_an_error_not_an_empty_value(root, capsys) -> None:
    code, _, err = cli(capsys, "host", "plan", "quantum-config", "--root", str(root), "--role", "compute")
    assert code == 2 and "command line: no bridge_mappings for plugin.ini: set private_nic" in err


def test_the_shipped_node_example_gives_the_seeds_plugin_ini(root, capsys) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "network-node.toml"
    assert cli(capsys, "host", "apply", "quantum-config", "--root", str(root), "--config", str(example))[0] == 0
    plugin = (root / PLUGIN).read_text()
    for line in (
        "tenant_network_type = vlan",
        "network_vlan_ranges = physnet1,physnet2:100:199",
        "bridge_mappings = physnet1:br-ex,physnet2:br-em2",
    ):
        assert line + "\n" in plugin


def test_each_key_goes_beside_its_example_in_ovs_and_the_agent_samples_stay(root, capsys) -> None:
    assert cli(capsys, "host", "apply", "quantum-config", "--root", str(root), *SETTINGS)[0] == 0
    plugin = (root / PLUGIN).read_text()
    assert "# Example: tenant_network_type = gre\ntenant_network_type = vlan\n\n" in plugin
    assert (
        "# Example: network_vlan_ranges = physnet1:1000:2999\nnetwork_vlan_ranges = physnet1,physnet2:100:199\n\n"
        in plugin
    )
    assert (
        "# Example: bridge_mappings = physnet1:br-eth1\nbridge_mappings = physnet1:br-ex,physnet2:br-em2\n\n[AGENT]\n"
        in plugin
    )
    agent = plugin[plugin.index("[AGENT]") :]
    assert agent == ovs_plugin_ini()[ovs_plugin_ini().index("[AGENT]") :], "[AGENT] and its sample lines unchanged"
    quantum = (root / "etc/quantum/quantum.conf").read_text()
    assert "# allow_overlapping_ips = False\nallow_overlapping_ips = True\n\n# RPC configuration options" in quantum
    cinder = (root / "etc/cinder/cinder.conf").read_text()
    assert cinder == CINDER_CONF.replace(
        "rootwrap_config = /etc/cinder/rootwrap.conf\n",
        "rootwrap_config = /etc/cinder/rootwrap.conf\niscsi_ip_address = 192.168.1.101\n",
    )


def test_a_compute_node_without_plugin_ini_gets_the_ovs_plugins_own_ini(tmp_path, capsys) -> None:
    """quantum-node-setup makes no /etc/quantum/plugin.ini; the OVS agent's unit reads ovs_quantum_plugin.ini."""
    root = make_node_root(tmp_path / "root", plugin_ini=False)
    code, out, _ = cli(capsys, "host", "apply", "quantum-config", "--root", str(root), *SETTINGS)
    assert code == 0, out
    assert "bridge_mappings = physnet1:br-ex,physnet2:br-em2\n" in (root / PLUGIN).read_text()
    assert not (root / "etc/quantum/plugin.ini").exists() and not (root / "etc/quantum/plugin.ini").is_symlink()
