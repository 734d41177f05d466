"""ovs-bridges against a real ovsdb-server on a private socket (never the system's Open vSwitch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostroot import cli, make_fedora18_root, running_ovsdb, vsctl


@pytest.fixture
def ovsdb(tmp_path: Path, need_tool):
    need_tool("ovsdb-server", "ovsdb-tool", "ovs-vsctl")
    with running_ovsdb(tmp_path / "ovs") as address:
        yield address


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def opts(root: Path, ovsdb: str, *more: str) -> list[str]:
    return ["ovs-bridges", "--root", str(root), "--ovs-db", ovsdb, "--ovs-no-wait", *more]


NETWORK = ("--public-nic", "em1", "--private-nic", "em2")


def test_the_network_node_gets_three_bridges_and_a_rerun_changes_nothing(root, ovsdb, capsys) -> None:
    code, out, _ = cli(capsys, "host", "plan", *opts(root, ovsdb, *NETWORK))
    assert code == 1
    commands = [line.split("--no-wait ", 1)[1] for line in out.splitlines() if line.startswith("$ ")]
    assert commands == [
        "--may-exist add-br br-int",
        "--may-exist add-br br-ex",
        "--may-exist add-port br-ex em1",
        "--may-exist add-br br-em2",
        "--may-exist add-port br-em2 em2",
    ]
    assert vsctl(ovsdb, "list-br") == [], "plan must not change ovsdb"

    assert cli(capsys, "host", "apply", *opts(root, ovsdb, *NETWORK))[0] == 0
    assert vsctl(ovsdb, "list-br") == ["br-em2", "br-ex", "br-int"]
    assert vsctl(ovsdb, "list-ports", "br-ex") == ["em1"]
    assert vsctl(ovsdb, "list-ports", "br-em2") == ["em2"]
    assert vsctl(ovsdb, "list-ports", "br-int") == []

    code, out, _ = cli(capsys, "host", "plan", *opts(root, ovsdb, *NETWORK))
    assert (code, out.splitlines()[0]) == (0, "ovs-bridges: ok")


def test_a_compute_node_has_no_br_ex_and_a_named_private_bridge(root, ovsdb, capsys) -> None:
    cli(
        capsys,
        "host",
        "apply",
        *opts(root, ovsdb, "--role", "compute", "--private-nic", "eth1", "--private-bridge", "br-priv"),
    )
    assert vsctl(ovsdb, "list-br") == ["br-int", "br-priv"]
    assert vsctl(ovsdb, "list-ports", "br-priv") == ["eth1"]


def test_only_what_is_missing_is_added_and_undo_removes_only_that(root, ovsdb, capsys) -> None:
    vsctl(ovsdb, "add-br", "br-int", "--", "add-port", "br-int", "patch-tun")
    vsctl(ovsdb, "add-br", "br-ex")
    code, out, _ = cli(capsys, "host", "plan", *opts(root, ovsdb, *NETWORK))
    assert "add-br br-int" not in out and "add-br br-ex" not in out
    assert "add-port br-ex em1" in out
    cli(capsys, "host", "apply", *opts(root, ovsdb, *NETWORK))
    code, out, _ = cli(capsys, "host", "undo", "ovs-bridges", "--root", str(root))
    assert code == 0 and "del-port br-ex em1" in out and "del-br br-em2" in out
    assert vsctl(ovsdb, "list-br") == ["br-ex", "br-int"]
    assert vsctl(ovsdb, "list-ports", "br-int") == ["patch-tun"]
    assert vsctl(ovsdb, "list-ports", "br-ex") == []


def test_a_nic_already_on_another_bridge_is_an_error(root, ovsdb, capsys) -> None:
    vsctl(ovsdb, "add-br", "br-old", "--", "add-port", "br-old", "em2")
    code, _, err = cli(capsys, "host", "apply", *opts(root, ovsdb, *NETWORK))
    assert code == 2 and "em2 is already a port of br-old, not br-em2" in err
    assert vsctl(ovsdb, "list-br") == ["br-old"]


def test_missing_nics_are_a_clear_error(root, tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "host", "plan", *opts(root, f"unix:{tmp_path}/none.sock", "--private-nic", "em2"))
    assert code == 2 and "public_nic is not set" in err


def test_a_stopped_ovsdb_is_a_finding_and_the_file_steps_still_run(root, tmp_path, capsys, need_tool) -> None:
    """Fedora starts no service by default: a real ovsdb-server, stopped; the node's file steps still apply."""
    need_tool("ovsdb-server", "ovsdb-tool", "ovs-vsctl")
    folder = tmp_path / "ovs"
    with running_ovsdb(folder) as address:
        pass  # made, then stopped (SIGTERM): what a node where nobody ran 'systemctl start openvswitch' has
    argv = ["--root", str(root), "--ovs-db", address, "--ovs-no-wait", *NETWORK]
    code, out, err = cli(capsys, "host", "apply", *argv)
    assert code == 0, err
    finding = f"ovs-bridges: NOTE ovsdb not running: no ovsdb-server answers at {address} (ovs-vsctl: {address}: "
    assert finding in out and "database connection failed" in out
    assert "ovs-bridges: nothing to change (see NOTE)" in out
    for step in ("privatetmp", "iptables-path", "vif-driver", "quantum-config"):
        assert f"{step}: changed" in out, out
    code, out, _ = cli(capsys, "host", "plan", *argv)
    assert code == 0 and finding in out and "plan: nothing to change" in out
    with running_ovsdb(folder) as again:  # started: the bridges are planned again
        code, out, _ = cli(capsys, "host", "plan", *opts(root, again, *NETWORK))
        assert code == 1 and "NOTE" not in out and "--may-exist add-br br-int" in out


def test_an_ovsdb_that_answers_wrongly_is_still_an_error(root, tmp_path, capsys, need_tool) -> None:
    """Only "nobody answers" is a finding: a running server without the Open_vSwitch database fails the run."""
    need_tool("ovsdb-server", "ovsdb-tool", "ovs-vsctl")
    with running_ovsdb(tmp_path / "ovs", schema="/usr/share/openvswitch/local-config.ovsschema") as address:
        code, _, err = cli(capsys, "host", "plan", *opts(root, address, *NETWORK))
    assert code == 2 and f"cannot read the bridges from ovsdb at {address}" in err


def test_without_ovs_db_a_root_uses_its_own_socket(root, capsys) -> None:
    code, out, _ = cli(capsys, "host", "plan", "ovs-bridges", "--root", str(root), *NETWORK)
    assert code == 0 and f"ovsdb not running: no ovsdb-server answers at unix:{root}/var/run/openvswitch/db.sock" in out
