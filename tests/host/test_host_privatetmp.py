"""privatetmp: PrivateTmp=false for the four quantum units (Bug 881741), in the form the node's systemd reads.

A root that says nothing about its systemd is Fedora 18's 197: an /etc/systemd/system unit that
``.include``s the packaged one (197 reads no drop-ins: tests/fixtures/systemd197, recorded from v197
itself); a root whose usr/share/pkgconfig/systemd.pc says 198 or later gets the drop-ins.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostroot import SYSTEMD_PC, cli, make_fedora18_root, make_node_root, snapshot, systemd_pc

from netnsfix.collection.plugins.module_utils.plan import Node
from netnsfix.collection.plugins.module_utils.privatetmp import (
    DROPIN,
    UNITS,
    PrivateTmp,
    override,
    systemd_version,
)
from netnsfix.collection.plugins.module_utils.rootfs import RootFS
from netnsfix.collection.plugins.module_utils.settings import validate

DROPINS = [f"etc/systemd/system/{unit}.service.d/netnsfix-privatetmp.conf" for unit in UNITS]
OVERRIDES = [f"etc/systemd/system/{unit}.service" for unit in UNITS]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "systemd197" / "cases"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


@pytest.fixture
def root198(tmp_path: Path) -> Path:
    return make_node_root(tmp_path / "root", systemd=198)


def test_a_fedora18_root_gets_units_that_include_the_packaged_ones(root, capsys) -> None:
    units = {p: p.read_bytes() for p in (root / "usr/lib/systemd/system").iterdir()}
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 1
    assert out.count("+PrivateTmp=false") == 4 and out.count("+.include /usr/lib/systemd/system/quantum-") == 4
    assert f"$ systemctl daemon-reload    # not run: systemd does not run {root}" in out

    code, out, _ = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert code == 0
    for unit, path in zip(UNITS, OVERRIDES, strict=True):
        assert (root / path).read_bytes() == override(unit)
        # the very bytes systemd v197 itself loaded as PrivateTmp: no (tests/fidelity, case c-include)
        assert (root / path).read_bytes() == (FIXTURES / "c-include" / "etc" / f"{unit}.service").read_bytes()
        assert (root / path).stat().st_mode & 0o777 == 0o644
    assert not any((root / "etc/systemd/system").glob("*.service.d")), "no drop-in: 197 would ignore it"
    assert {p: p.read_bytes() for p in (root / "usr/lib/systemd/system").iterdir()} == units

    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "privatetmp: ok")


def test_undo_removes_exactly_what_apply_added(root, capsys) -> None:
    before = snapshot(root)
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    code, out, _ = cli(capsys, "host", "undo", "privatetmp", "--root", str(root))
    assert code == 0 and out.count("privatetmp: removed /etc/systemd/system/quantum-") == 4
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("var/lib/netnsfix")} == before


def test_a_root_with_systemd_198_gets_the_dropins(root198, capsys) -> None:
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root198))[0] == 0
    for dropin in DROPINS:
        assert (root198 / dropin).read_bytes() == DROPIN
        assert (root198 / dropin).read_bytes() == (FIXTURES / "b-dropin" / "etc" / dropin.split("/", 3)[3]).read_bytes()
    assert not any((root198 / path).exists() for path in OVERRIDES)


@pytest.mark.parametrize(
    ("pc", "setting", "expected"),
    [(None, None, 197), (197, None, 197), (198, None, 198), (201, None, 201), (201, 197, 197), (None, 204, 204)],
)
def test_the_version_comes_from_the_setting_else_the_roots_systemd_pc_else_197(
    tmp_path, pc: int | None, setting: int | None, expected: int
) -> None:
    root = make_node_root(tmp_path / "root", systemd=pc)
    settings = validate({} if setting is None else {"systemd_version": setting})
    node = Node(RootFS(str(root)), settings, lambda argv: (127, "", "no runner here"))
    assert systemd_version(node) == expected


def test_the_root_is_read_for_the_version_not_the_host(root, tmp_path) -> None:
    """systemctl --version is asked only where systemd runs the root; a --root's own file decides."""
    asked = []

    def runner(argv):
        asked.append(argv)
        return 0, "systemd 252\n+PAM\n", ""

    node = Node(RootFS(str(root)), validate({}), runner)
    assert systemd_version(node) == 197 and asked == []


def test_a_systemd_pc_without_a_version_is_one_error_and_nothing_changes(root, capsys) -> None:
    pc = root / SYSTEMD_PC.lstrip("/")
    pc.parent.mkdir(parents=True)
    pc.write_text(systemd_pc(198).replace("Version: 198", "Version: next"))
    before = snapshot(root)
    code, out, err = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert (code, out) == (2, "")
    assert err == f"netnsfix: error: {pc}: no 'Version: N' line (the systemd package's own pkg-config file)\n"
    assert snapshot(root) == before


def test_a_wrong_systemd_version_setting_names_the_option(root, capsys) -> None:
    code, _, err = cli(capsys, "host", "plan", "privatetmp", "--root", str(root), "--systemd-version", "0")
    assert code == 2 and "--systemd-version: systemd_version 0 is not a systemd version" in err


def test_the_setting_overrides_the_root(root, capsys) -> None:
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root), "--systemd-version", "204")
    assert all((root / dropin).read_bytes() == DROPIN for dropin in DROPINS)


def test_a_packaged_unit_gone_after_the_override_was_written_is_reported(root, capsys) -> None:
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    (root / "usr/lib/systemd/system/quantum-server.service").unlink()
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 0
    assert (
        f"privatetmp: NOTE {root}/etc/systemd/system/quantum-server.service includes "
        "/usr/lib/systemd/system/quantum-server.service, which is gone (package removed or the unit moved): "
        "systemd cannot load quantum-server.service; 'netnsfix host undo privatetmp' removes the override"
    ) in out
    assert "privatetmp: nothing to change (see NOTE)" in out
    assert snapshot(root) == before


def test_a_packaged_unit_that_no_longer_sets_privatetmp_is_reported(root, capsys) -> None:
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    unit = root / "usr/lib/systemd/system/quantum-l3-agent.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=true\n", ""))
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 0
    assert "quantum-l3-agent.service: the packaged /usr/lib/systemd/system/quantum-l3-agent.service sets no " in out
    assert "PrivateTmp: the override is no longer needed (undo removes it)" in out
    assert out.count("privatetmp: NOTE") == 1


def test_a_missing_packaged_unit_gets_no_override(root, capsys) -> None:
    """A compute node without quantum-server: an override would .include a file that is not there."""
    (root / "usr/lib/systemd/system/quantum-server.service").unlink()
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root))[0] == 0
    assert not (root / "etc/systemd/system/quantum-server.service").exists()
    assert (root / "etc/systemd/system/quantum-l3-agent.service").is_file()


def test_an_etc_unit_of_the_admins_is_reported_not_replaced(root, capsys) -> None:
    mine = root / "etc/systemd/system/quantum-l3-agent.service"
    mine.write_text("[Service]\nExecStart=/bin/true\n")
    code, out, _ = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert code == 0 and mine.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert f"privatetmp: NOTE {mine}: not written by netnsfix; it replaces the packaged unit" in out


def test_an_edited_override_is_put_right_and_undo_brings_the_edit_back(root, capsys) -> None:
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    cli(capsys, "host", "undo", "privatetmp", "--root", str(root))
    path = root / OVERRIDES[1]
    edited = override(UNITS[1]).replace(b"PrivateTmp=false", b"PrivateTmp=true")
    path.write_bytes(edited)
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 1 and "-PrivateTmp=true" in out
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert path.read_bytes() == override(UNITS[1])
    code, out, _ = cli(capsys, "host", "undo", "privatetmp", "--root", str(root))
    assert code == 0 and f"restored /{OVERRIDES[1]}" in out
    after = snapshot(root)
    assert {k: v for k, v in after.items() if not k.startswith("var/lib/netnsfix")} == {
        k: v for k, v in before.items() if not k.startswith("var/lib/netnsfix")
    }


def test_a_folder_where_a_dropin_belongs_is_an_error(root198, capsys) -> None:
    (root198 / DROPINS[0]).mkdir(parents=True)
    before = snapshot(root198)
    code, _, err = cli(capsys, "host", "apply", "privatetmp", "--root", str(root198))
    assert code == 2 and f"{root198 / DROPINS[0]}: exists and is not a file" in err
    assert snapshot(root198) == before


def test_an_absolute_symlink_in_the_root_does_not_lead_outside_it(root, tmp_path, capsys) -> None:
    """/etc/systemd/system -> /srv/units inside the root means ROOT/srv/units, never the machine's /srv."""
    (root / "srv/units").mkdir(parents=True)
    (root / "etc/systemd/system").rmdir()
    (root / "etc/systemd/system").symlink_to("/srv/units")
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root))[0] == 0
    assert (root / "srv/units/quantum-l3-agent.service").is_file()
    assert not Path("/srv/units").exists()


def test_the_step_verifies_with_systemds_own_answer_where_systemd_runs(root, monkeypatch) -> None:
    """Where systemd runs the root, apply's verify needs ``systemctl show -p PrivateTmp`` to say no."""
    answers = {"PrivateTmp": "PrivateTmp=yes"}

    def runner(argv):
        if argv[:2] == ["systemctl", "--version"]:
            return 0, "systemd 197\n+PAM +LIBWRAP\n", ""
        if argv[:3] == ["systemctl", "show", "-p"]:  # one block per unit asked, as systemctl prints them
            return 0, "\n\n".join(answers["PrivateTmp"] for arg in argv if arg.endswith(".service")) + "\n", ""
        return 0, "", ""

    monkeypatch.setattr(RootFS, "systemd_runs", lambda self: True)
    node = Node(RootFS(str(root)), validate({}), runner)
    step = PrivateTmp()
    from netnsfix.collection.plugins.module_utils.apply import apply_steps

    with pytest.raises(
        Exception, match=r"quantum-dhcp-agent.service: systemd shows 'PrivateTmp=yes', not PrivateTmp=no"
    ):
        apply_steps((step,), node)
    assert not (root / OVERRIDES[0]).exists(), "a failed verify rolls the apply back"
    answers["PrivateTmp"] = "PrivateTmp=no"
    apply_steps((step,), node)
    assert (root / OVERRIDES[0]).read_bytes() == override(UNITS[0])


def test_a_systemd_pc_link_is_read_inside_the_root(root, tmp_path, capsys) -> None:
    """A hostile root's systemd.pc -> /somewhere is read as ROOT/somewhere, never the machine's file."""
    outside = tmp_path / "outside.pc"
    outside.write_text("Version: 250\n")
    pc = root / SYSTEMD_PC.lstrip("/")
    pc.parent.mkdir(parents=True)
    pc.symlink_to(outside)  # absolute: restarts at the root, where nothing is
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root))[0] == 0
    assert (root / OVERRIDES[0]).read_bytes() == override(UNITS[0]), "197 (the root says nothing), not 250"


def test_a_fifo_for_systemd_pc_is_refused_without_hanging(root, capsys) -> None:
    import os

    pc = root / SYSTEMD_PC.lstrip("/")
    pc.parent.mkdir(parents=True)
    os.mkfifo(pc)  # (snapshot() would block reading it: nothing here reads it but the step)
    code, out, err = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert code == 2 and out == "" and str(pc) in err and len(err.splitlines()) == 1, err
    assert not (root / OVERRIDES[0]).exists()


def test_an_apply_whose_own_reload_ran_leaves_no_reload_owed(root, monkeypatch) -> None:
    """The restart marker owes a daemon-reload until the apply's own reload has run after its unit files; an
    apply that fails before it (the reload itself failing here) leaves the reload owed with the restarts."""
    from netnsfix.collection.plugins.module_utils import restart_marker
    from netnsfix.collection.plugins.module_utils.apply import apply_steps

    reload_rc = {"rc": 1}

    def runner(argv):
        if argv[:2] == ["systemctl", "--version"]:
            return 0, "systemd 197\n+PAM +LIBWRAP\n", ""
        if argv[:2] == ["systemctl", "daemon-reload"]:
            return reload_rc["rc"], "", "reload failed\n" if reload_rc["rc"] else ""
        if argv[:3] == ["systemctl", "show", "-p"]:
            return 0, "\n\n".join("PrivateTmp=no" for arg in argv if arg.endswith(".service")) + "\n", ""
        return 0, "", ""

    monkeypatch.setattr(RootFS, "systemd_runs", lambda self: True)
    fs = RootFS(str(root))
    node = Node(fs, validate({}), runner)
    with pytest.raises(Exception, match="daemon-reload"):
        apply_steps((PrivateTmp(),), node, owe_restarts=True)
    assert not (root / OVERRIDES[0]).exists(), "rolled back"
    assert restart_marker.owed(fs) == list(UNITS) and restart_marker.reload_owed(fs) is True
    reload_rc["rc"] = 0
    apply_steps((PrivateTmp(),), node, owe_restarts=True)
    assert restart_marker.owed(fs) == list(UNITS) and restart_marker.reload_owed(fs) is False
    # owing more restarts again (the next apply's write-ahead) owes the reload again
    restart_marker.owe(fs, ["openstack-nova-compute"])
    assert restart_marker.reload_owed(fs) is True
