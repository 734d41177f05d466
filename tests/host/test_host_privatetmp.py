"""privatetmp: one drop-in per quantum unit with PrivateTmp=false (Bug 881741)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostroot import cli, make_fedora18_root, snapshot

from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN, UNITS

DROPINS = [f"etc/systemd/system/{unit}.service.d/netnsfix-privatetmp.conf" for unit in UNITS]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def test_apply_writes_four_dropins_and_leaves_the_units_alone(root, capsys) -> None:
    units = {p: p.read_bytes() for p in (root / "usr/lib/systemd/system").iterdir()}
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 1
    assert out.count("+PrivateTmp=false") == 4
    assert f"$ systemctl daemon-reload    # not run: systemd does not run {root}" in out

    code, out, _ = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert code == 0
    assert "skipped systemctl daemon-reload" in out
    for dropin in DROPINS:
        text = (root / dropin).read_text()
        assert text.endswith("[Service]\nPrivateTmp=false\n")
        assert (root / dropin).stat().st_mode & 0o777 == 0o644
    assert {p: p.read_bytes() for p in (root / "usr/lib/systemd/system").iterdir()} == units

    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "privatetmp: ok")


def test_an_edited_dropin_is_put_right_and_undo_brings_the_edit_back(root, capsys) -> None:
    dropin = root / DROPINS[1]
    dropin.parent.mkdir(parents=True)
    dropin.write_bytes(b"[Service]\nPrivateTmp=true\n")
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "privatetmp", "--root", str(root))
    assert code == 1 and "-PrivateTmp=true" in out
    cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert dropin.read_bytes() == DROPIN
    code, out, _ = cli(capsys, "host", "undo", "privatetmp", "--root", str(root))
    assert code == 0 and f"restored /{DROPINS[1]}" in out
    assert snapshot(root) == before, "undo must restore the edited drop-in and remove only what apply created"


def test_a_folder_where_a_dropin_belongs_is_an_error(root, capsys) -> None:
    (root / DROPINS[0]).mkdir(parents=True)
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", "privatetmp", "--root", str(root))
    assert code == 2 and f"{root / DROPINS[0]}: exists and is not a file" in err
    assert snapshot(root) == before


def test_an_absolute_symlink_in_the_root_does_not_lead_outside_it(root, tmp_path, capsys) -> None:
    """/etc/systemd/system -> /srv/units inside the root means ROOT/srv/units, never the machine's /srv."""
    (root / "srv/units").mkdir(parents=True)
    (root / "etc/systemd/system").rmdir()
    (root / "etc/systemd/system").symlink_to("/srv/units")
    assert cli(capsys, "host", "apply", "privatetmp", "--root", str(root))[0] == 0
    assert (root / "srv/units/quantum-l3-agent.service.d/netnsfix-privatetmp.conf").is_file()
    assert not Path("/srv/units").exists()
