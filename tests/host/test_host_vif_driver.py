"""vif-driver: nova.conf [DEFAULT] libvirt_vif_driver for OVS (Bug 885932)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hostroot import cli, make_fedora18_root

from netnsfix.host.vif_driver import DRIVER

NOVA = "etc/nova/nova.conf"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_the_empty_value_is_replaced_in_place(root, capsys) -> None:
    before = (root / NOVA).read_text()
    assert cli(capsys, "host", "apply", "vif-driver", "--root", str(root))[0] == 0
    after = (root / NOVA).read_text()
    assert changed_lines(before, after) == ["- libvirt_vif_driver =", f"+ libvirt_vif_driver = {DRIVER}"]
    assert "# quantum-node-setup --plugin openvswitch leaves this empty (Bug 885932)" in after
    assert (root / NOVA).stat().st_mode & 0o777 == 0o640
    assert cli(capsys, "host", "plan", "vif-driver", "--root", str(root))[0] == 0


def test_a_missing_key_goes_after_the_last_option_of_default(root, capsys) -> None:
    text = (root / NOVA).read_text().replace("libvirt_vif_driver =\n", "")
    (root / NOVA).write_text(text)
    cli(capsys, "host", "apply", "vif-driver", "--root", str(root))
    after = (root / NOVA).read_text()
    assert changed_lines(text, after) == [f"+ libvirt_vif_driver = {DRIVER}"]
    assert f"libvirt_use_virtio_for_bridges = True\nlibvirt_vif_driver = {DRIVER}\n\n[keystone_authtoken]" in after


def test_a_commented_key_gets_the_new_line_beside_it(root, capsys) -> None:
    text = (
        (root / NOVA)
        .read_text()
        .replace("libvirt_vif_driver =\n", "# libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtBridgeDriver\n")
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
