"""The host steps together on a Fedora 18 root: plan, apply, apply again, undo, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostroot import all_folders, cli, make_fedora18_root, read_only, running_ovsdb, snapshot, vsctl

NODE = """\
role = "network"
public_nic = "em1"
private_nic = "em2"
physnets = ["physnet1", "physnet2:100:199"]
bridge_mappings = {physnet1 = "br-ex", physnet2 = "br-em2"}
iscsi_ip_address = "192.168.1.101"
ovs_wait = false
"""
FILE_STEPS = ["privatetmp", "iptables-path", "vif-driver", "quantum-config"]


@pytest.fixture
def node(tmp_path: Path) -> tuple[Path, Path]:
    root = make_fedora18_root(tmp_path / "root")
    config = tmp_path / "node.toml"
    config.write_text(NODE)
    return root, config


@pytest.fixture
def ovsdb(tmp_path: Path, need_tool):
    need_tool("ovsdb-server", "ovsdb-tool", "ovs-vsctl")
    with running_ovsdb(tmp_path / "ovs") as address:
        yield address


def test_plan_apply_apply_plan_undo(node, ovsdb, capsys) -> None:
    root, config = node
    opts = ["--root", str(root), "--config", str(config), "--ovs-db", ovsdb]
    before = snapshot(root)

    code, out, _ = cli(capsys, "host", "plan", *opts)
    assert code == 1
    assert "plan: 5 of 5 step(s) would change" in out
    assert snapshot(root) == before, "plan changed the root"
    assert vsctl(ovsdb, "list-br") == []

    code, out, _ = cli(capsys, "host", "apply", *opts)
    assert code == 0, out
    assert "apply: verified" in out
    after_first = snapshot(root)
    assert vsctl(ovsdb, "list-br") == ["br-em2", "br-ex", "br-int"]

    code, out, _ = cli(capsys, "host", "apply", *opts)
    assert code == 0
    assert "apply: nothing to change" in out
    assert snapshot(root) == after_first, "a second apply changed something"

    code, out, _ = cli(capsys, "host", "plan", *opts)
    assert code == 0
    assert "plan: nothing to change (5 step(s) ok)" in out

    code, out, _ = cli(capsys, "host", "undo", "--root", str(root))
    assert code == 0
    assert "restored /etc/nova/nova.conf" in out
    assert "removed /etc/systemd/system/quantum-server.service" in out  # systemd 197: the /etc unit
    assert snapshot(root) == before, "undo did not restore the root exactly"
    assert vsctl(ovsdb, "list-br") == [], "undo left bridges behind"

    code, out, _ = cli(capsys, "host", "undo", "--root", str(root))
    assert (code, out.strip()) == (0, "undo: nothing to undo")


def test_backups_hold_the_originals_with_mode(node, capsys) -> None:
    root, config = node
    original = (root / "etc/quantum/quantum.conf").read_bytes()
    code, _, _ = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), "--config", str(config))
    assert code == 0
    store = root / "var/lib/netnsfix/backups"
    assert (store / "files/etc/quantum/quantum.conf").read_bytes() == original
    assert store.stat().st_mode & 0o777 == 0o700, "backups of files with passwords must not be world-readable"
    journal = json.loads((store / "journal.json").read_text())
    entry = next(e for e in journal["files"] if e["path"] == "/etc/quantum/quantum.conf")
    assert entry["existed"] and entry["mode"] == 0o640
    assert (root / "etc/quantum/quantum.conf").stat().st_mode & 0o777 == 0o640
    created = next(e for e in journal["files"] if e["path"] == "/etc/systemd/system/quantum-l3-agent.service")
    assert not created["existed"]


def test_undo_refuses_a_file_edited_since_apply(node, capsys) -> None:
    root, config = node
    cli(capsys, "host", "apply", "vif-driver", "--root", str(root), "--config", str(config))
    nova = root / "etc/nova/nova.conf"
    nova.write_text(nova.read_text() + "debug = True\n")
    edited = snapshot(root)
    code, _, err = cli(capsys, "host", "undo", "--root", str(root))
    assert code == 2
    assert "etc/nova/nova.conf: changed since netnsfix applied it" in err
    assert snapshot(root) == edited
    code, out, _ = cli(capsys, "host", "undo", "--force", "--root", str(root))
    assert code == 0 and "restored /etc/nova/nova.conf" in out
    assert "debug = True" not in nova.read_text()


def test_undo_of_one_step_keeps_the_others(node, capsys) -> None:
    root, config = node
    before = snapshot(root)
    cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), "--config", str(config))
    code, out, _ = cli(capsys, "host", "undo", "vif-driver", "--root", str(root))
    assert code == 0 and "restored /etc/nova/nova.conf" in out
    assert (root / "etc/nova/nova.conf").read_bytes() == before["etc/nova/nova.conf"][1]
    assert (root / "etc/systemd/system/quantum-server.service").exists()
    cli(capsys, "host", "undo", "--root", str(root))
    assert snapshot(root) == before


def test_a_missing_file_is_one_error_and_nothing_changes(node, capsys) -> None:
    root, config = node
    (root / "etc/nova/nova.conf").unlink()
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1
    assert f"{root}/etc/nova/nova.conf: missing (vif-driver edits it)" in err
    assert snapshot(root) == before


def test_a_read_only_root_is_one_error_and_nothing_changes(node, capsys) -> None:
    root, config = node
    before = snapshot(root)
    with read_only(*all_folders(root)):
        code, _, err = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1
    assert "is not writable" in err and "nothing was changed" in err
    assert snapshot(root) == before


def test_one_read_only_folder_stops_the_run_before_anything_changes(node, capsys) -> None:
    root, config = node
    before = snapshot(root)
    with read_only(root / "etc/cinder"):
        code, _, err = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), "--config", str(config))
    assert code == 2
    assert f"{root}/etc/cinder/cinder.conf: cannot write" in err
    assert snapshot(root) == before, "files were changed, or the backup store was left behind"


def test_a_failure_mid_apply_rolls_everything_back(node, ovsdb, capsys) -> None:
    """ovs-vsctl refuses br-em2 (a port of that name exists) after the files were written: all is undone."""
    root, config = node
    vsctl(ovsdb, "add-br", "br-int", "--", "add-port", "br-int", "br-em2")
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", "--root", str(root), "--config", str(config), "--ovs-db", ovsdb)
    assert code == 2
    assert "add-br br-em2" in err
    assert snapshot(root) == before
    assert vsctl(ovsdb, "list-br") == ["br-int"], "the bridges made before the failure were not removed"
    assert vsctl(ovsdb, "list-ports", "br-int") == ["br-em2"]


def test_unknown_step_is_refused(node, capsys) -> None:
    root, config = node
    code, _, err = cli(capsys, "host", "plan", "privatetemp", "--root", str(root), "--config", str(config))
    assert code == 2 and "unknown step 'privatetemp'" in err


def test_list_names_every_step(capsys) -> None:
    code, out, _ = cli(capsys, "host", "list")
    assert code == 0
    for name in ("privatetmp", "iptables-path", "vif-driver", "ovs-bridges", "quantum-config", "topology"):
        assert name in out
