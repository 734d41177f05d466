"""vif-driver: nova.conf [DEFAULT] libvirt_vif_driver for OVS (Bug 885932).

nova.conf is Fedora's own (rdo-packages/nova-distgit 79e2ac5, openstack-nova
2012.2-1: no comments, no libvirt_vif_driver) after quantum-node-setup
(neutron-distgit 31d4016 lines 160-167) appended the quantum keys: the key is
absent, as on a real compute node; see tests/hostroot.py.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hostroot import cli, make_fedora18_root, make_node_root, snapshot

from netnsfix.collection.plugins.module_utils.vif_driver import DRIVER

NOVA = "etc/nova/nova.conf"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_the_empty_value_is_replaced_in_place(root, capsys) -> None:
    """Not what Fedora 18 leaves (the key is absent there), but a hand edit an operator may have made."""
    text = (
        (root / NOVA)
        .read_text()
        .replace(
            "rootwrap_config = /etc/nova/rootwrap.conf\n",
            "rootwrap_config = /etc/nova/rootwrap.conf\n"
            "# quantum-node-setup --plugin openvswitch leaves this empty (Bug 885932)\nlibvirt_vif_driver =\n",
        )
    )
    (root / NOVA).write_text(text)
    before = (root / NOVA).read_text()
    assert cli(capsys, "host", "apply", "vif-driver", "--root", str(root))[0] == 0
    after = (root / NOVA).read_text()
    assert changed_lines(before, after) == ["- libvirt_vif_driver =", f"+ libvirt_vif_driver = {DRIVER}"]
    assert "# quantum-node-setup --plugin openvswitch leaves this empty (Bug 885932)" in after
    assert (root / NOVA).stat().st_mode & 0o777 == 0o640
    assert cli(capsys, "host", "plan", "vif-driver", "--root", str(root))[0] == 0


def test_a_missing_key_goes_after_the_last_option_of_default(root, capsys) -> None:
    """Fedora 18's compute node: quantum-node-setup wrote no libvirt_vif_driver; it goes after quantum_url."""
    text = (root / NOVA).read_text()
    assert "libvirt_vif_driver" not in text
    cli(capsys, "host", "apply", "vif-driver", "--root", str(root))
    after = (root / NOVA).read_text()
    assert changed_lines(text, after) == [f"+ libvirt_vif_driver = {DRIVER}"]
    assert f"quantum_url = http://192.168.1.101:9696/\nlibvirt_vif_driver = {DRIVER}\n\n[keystone_authtoken]" in after
    assert after.endswith("signing_dirname = /tmp/keystone-signing-nova\n\n"), "the blank last line stays"
    assert (root / NOVA).stat().st_mode & 0o777 == 0o640


def test_nova_conf_as_fedora_installs_it_gets_the_key_after_rootwrap_config(tmp_path, capsys) -> None:
    root = make_node_root(tmp_path / "root", nova="packaged")
    text = (root / NOVA).read_text()
    cli(capsys, "host", "apply", "vif-driver", "--root", str(root))
    after = (root / NOVA).read_text()
    assert changed_lines(text, after) == [f"+ libvirt_vif_driver = {DRIVER}"]
    assert f"rootwrap_config = /etc/nova/rootwrap.conf\nlibvirt_vif_driver = {DRIVER}\n\n[keystone_authtoken]" in after


def test_a_node_where_quantum_server_setup_set_the_driver_is_left_alone(tmp_path, capsys) -> None:
    root = make_node_root(tmp_path / "root", nova="server-setup")
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "vif-driver", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "vif-driver: ok")
    assert cli(capsys, "host", "apply", "vif-driver", "--root", str(root))[0] == 0
    assert snapshot(root) == before


def test_a_commented_key_gets_the_new_line_beside_it(root, capsys) -> None:
    """As nova 2012.2's nova.conf.sample writes it (commented, the default value), e.g. copied in by hand."""
    text = (
        (root / NOVA)
        .read_text()
        .replace(
            "network_api_class", "# libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtBridgeDriver\nnetwork_api_class"
        )
    )
    (root / NOVA).write_text(text)
    cli(capsys, "host", "apply", "vif-driver", "--root", str(root))
    assert (
        f"# libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtBridgeDriver\nlibvirt_vif_driver = {DRIVER}\n"
        in (root / NOVA).read_text()
    )


def test_a_broken_nova_conf_is_one_error(root, capsys) -> None:
    (root / NOVA).write_text("libvirt_vif_driver = x\n[DEFAULT]\n")
    code, _, err = cli(capsys, "host", "plan", "vif-driver", "--root", str(root))
    assert code == 2 and f"{root / NOVA}: not an INI file netnsfix can edit" in err
