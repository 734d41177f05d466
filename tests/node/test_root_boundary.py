"""``--root`` is a boundary: every escape a hostile node root can try is refused with one line, exit 2.

Each case builds a Fedora 18 root (tests/hostroot.py) next to an ``outside``
folder, makes the root hostile (a symlink leading out, a hand-made journal, a
FIFO, a device, a folder swapped mid-apply), runs ``netnsfix host`` on it, and
checks: exit 2, one line naming what is wrong, and every file outside the
root byte for byte (sha256, mode) as before. Where the command must change
nothing inside the root either, the root is compared too.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostroot import cli, make_fedora18_root, running_ovsdb, snapshot, vsctl

from netnsfix.collection.plugins.module_utils import rootfs

FILE_STEPS = ("privatetmp", "iptables-path", "vif-driver", "quantum-config")
SETTINGS = ("--public-nic", "em1", "--private-nic", "em2")
NOVA = "etc/nova/nova.conf"
JOURNAL = "var/lib/netnsfix/backups/journal.json"


def sums(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under ``folder``: sha256 (or link target, or kind) and mode."""
    result: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                what = "-> " + os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir" if stat.S_ISDIR(info.st_mode) else "other"
            result[str(path.relative_to(folder))] = (what, info.st_mode)
    return result


@pytest.fixture
def node(tmp_path: Path) -> tuple[Path, Path]:
    """A node root and, beside it, an outside folder holding what an escape would touch."""
    root = make_fedora18_root(tmp_path / "root")
    outside = tmp_path / "outside"
    for folder in ("var/lib/netnsfix/backups", "lib/netnsfix", "netnsfix", "etc/nova", "run/openvswitch"):
        (outside / folder).mkdir(parents=True, exist_ok=True)
    (outside / "etc/nova/nova.conf").write_bytes((root / NOVA).read_bytes())
    (outside / "secret").write_text("the operator's file\n")
    (outside / "secret").chmod(0o600)
    return root, outside


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netnsfix: error: "), err
    assert "Traceback" not in err
    return lines[0]


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a FIFO opened without O_NONBLOCK would block for ever)."""

    def expired(*_: object) -> None:
        raise AssertionError(f"no answer within {seconds} s: the command hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(capsys, root: Path, outside: Path, *args: str, root_unchanged: bool = True) -> str:
    """Run ``netnsfix host ARGS --root ROOT``: exit 2, one line, nothing outside (nor, by default, inside) changed."""
    before_out, before_root = sums(outside), sums(root)
    with deadline(30):
        code, _, err = cli(capsys, "host", *args, "--root", str(root))
    assert code == 2, err
    line = one_line(err)
    assert sums(outside) == before_out, "a file outside the root changed"
    if root_unchanged:
        assert sums(root) == before_root, "the root changed"
    return line


# -- the store's folders leading out ------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["var", "var/lib", "var/lib/netnsfix"])
def test_a_store_folder_leading_out_is_refused_by_apply(node, capsys, link: str) -> None:
    root, outside = node
    target = {"var": outside, "var/lib": outside / "lib", "var/lib/netnsfix": outside / "netnsfix"}[link]
    if link == "var":
        (root / "var/lib").rename(root / "var.lib.real")
        os.rename(root / "var", root / "var.real")
    elif link == "var/lib":
        os.rename(root / "var/lib", root / "var/lib.real")
    os.symlink(target, root / link)
    line = refused(capsys, root, outside, "apply", *FILE_STEPS, *SETTINGS)
    assert f"{root}/" in line and "a symbolic link" in line, line


def test_a_store_folder_leading_out_is_refused_by_undo(node, capsys) -> None:
    """undo reads the journal only from real folders: a var/lib/netnsfix link to a journal outside is refused."""
    root, outside = node
    code, _, err = cli(capsys, "host", "apply", "vif-driver", "--root", str(root), *SETTINGS)
    assert code == 0, err
    store = root / "var/lib/netnsfix"
    os.rename(store, outside / "moved")
    os.symlink(outside / "moved", store)
    line = refused(capsys, root, outside, "undo")
    assert f"{store}: a symbolic link" in line, line


def test_the_refusal_is_not_vacuous(node, capsys) -> None:
    """The same root without the link: apply writes the store inside the root (so the refusals above are the link's)."""
    root, outside = node
    code, _, err = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), *SETTINGS)
    assert code == 0, err
    assert (root / JOURNAL).is_file()
    assert not any(outside.rglob("journal.json"))


def test_var_run_leading_out_does_not_reach_an_outside_ovsdb(node, capsys, need_tool) -> None:
    """The bridge step's socket is the root's own: a var/run link to an outside ovsdb's folder is followed inside."""
    need_tool("ovsdb-server", "ovsdb-tool", "ovs-vsctl")
    root, outside = node
    with running_ovsdb(outside / "run" / "openvswitch") as address:
        os.rename(root / "var/run", root / "var/run.real")
        os.symlink(outside / "run", root / "var/run")
        before = sums(outside / "run" / "openvswitch")
        code, out, err = cli(capsys, "host", "apply", "ovs-bridges", "--root", str(root), *SETTINGS)
        # the root's own socket (followed inside the root) has no server: a finding, the outside one untouched
        assert code == 0, err
        assert f"ovs-bridges: NOTE ovsdb not running: no ovsdb-server answers at unix:{root}{outside}/run/" in out
        assert vsctl(address, "list-br") == [], "the outside ovsdb got bridges"
        assert "conf.db" in before


# -- a hostile journal -------------------------------------------------------------------------------------------


def applied(capsys, root: Path) -> dict:
    code, _, err = cli(capsys, "host", "apply", *FILE_STEPS, "--root", str(root), *SETTINGS)
    assert code == 0, err
    return json.loads((root / JOURNAL).read_text())


def rewrite(root: Path, journal: dict) -> None:
    (root / JOURNAL).write_text(json.dumps(journal))


def nova_entry(journal: dict) -> dict:
    return next(e for e in journal["files"] if e["path"] == "/etc/nova/nova.conf")


def test_a_journal_entry_with_an_outside_path_is_refused(node, capsys) -> None:
    root, outside = node
    journal = applied(capsys, root)
    nova_entry(journal)["path"] = f"/../../../../../../..{outside}/etc/nova/nova.conf"
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert f"{root}/{JOURNAL}: file entry" in line and "nothing was changed" in line, line


def test_a_journal_entry_naming_a_file_no_step_writes_is_refused(node, capsys) -> None:
    """Inside the root but not the step's file (an outside path seen through a link would be this too)."""
    root, outside = node
    journal = applied(capsys, root)
    nova_entry(journal)["path"] = "/etc/shadow"
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert "not a file the vif-driver step writes" in line, line


def test_a_journal_entry_with_an_outside_backup_is_refused(node, capsys) -> None:
    root, outside = node
    journal = applied(capsys, root)
    entry = nova_entry(journal)
    entry["backup"] = f"../../../../../../..{outside}/secret"
    entry["sha256_before"] = hashlib.sha256((outside / "secret").read_bytes()).hexdigest()
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert "the backup is not this file's place in the store" in line, line


def test_a_journal_entry_with_a_setuid_mode_is_refused(node, capsys) -> None:
    root, outside = node
    journal = applied(capsys, root)
    nova_entry(journal)["mode"] = 0o4755
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert "mode 4755 is wider than the file's 0640" in line, line


def test_a_journal_entry_that_says_an_edited_file_did_not_exist_is_refused(node, capsys) -> None:
    """existed: false would make undo delete nova.conf; the vif-driver step only edits files that exist."""
    root, outside = node
    journal = applied(capsys, root)
    entry = nova_entry(journal)
    entry.update(existed=False, backup=None)
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert "existed: false, but the vif-driver step only edits files that exist" in line, line


def test_a_journal_command_that_netnsfix_never_records_is_refused(node, capsys) -> None:
    root, outside = node
    journal = applied(capsys, root)
    journal["commands"].append({"step": "privatetmp", "argv": ["true"], "undo": ["rm", "-rf", str(outside)]})
    rewrite(root, journal)
    line = refused(capsys, root, outside, "undo")
    assert "is not a command netnsfix runs to undo a step" in line, line


def test_a_journal_left_as_apply_wrote_it_is_undone(node, capsys) -> None:
    """The checks pass an honest journal: undo puts the root back exactly."""
    root, _ = node
    before = snapshot(root)
    applied(capsys, root)
    code, _, err = cli(capsys, "host", "undo", "--root", str(root))
    assert code == 0, err
    assert snapshot(root) == before


# -- a folder swapped for a symlink during apply --------------------------------------------------------------------


def test_a_folder_swapped_for_a_symlink_during_apply_cannot_send_a_write_out(node, capsys, monkeypatch) -> None:
    """Between plan and write, etc/nova becomes a link to an outside folder holding a nova.conf: it stays untouched."""
    root, outside = node
    real_locate = rootfs.RootFS.locate

    def swapping(self, node_path, follow=True, links=True, create=None, mode=0o755):
        if node_path == "/etc/nova/nova.conf" and not follow and not (root / "etc/nova.real").exists():
            os.rename(root / "etc/nova", root / "etc/nova.real")
            os.symlink(outside / "etc/nova", root / "etc/nova")
        return real_locate(self, node_path, follow, links, create, mode)

    monkeypatch.setattr(rootfs.RootFS, "locate", swapping)
    line = refused(capsys, root, outside, "apply", "vif-driver", *SETTINGS, root_unchanged=False)
    assert "rolled back" in line, line
    assert (root / "etc/nova.real/nova.conf").read_bytes() == (outside / "etc/nova/nova.conf").read_bytes()


def test_a_swap_after_the_folder_is_held_writes_into_the_held_folder(node, tmp_path) -> None:
    """Once the walk holds etc/nova open, renaming it away and linking it out changes nothing: the write goes
    through the held descriptor, into the folder that was checked."""
    root, outside = node
    fs = rootfs.RootFS(str(root))
    with fs.locate("/etc/nova/nova.conf", follow=False) as where:
        os.rename(root / "etc/nova", root / "etc/nova.real")
        os.symlink(outside / "etc/nova", root / "etc/nova")
        before = sums(outside)
        assert where.fd is not None
        descriptor = os.open(rootfs.at(where.fd, where.name), os.O_WRONLY | os.O_APPEND)
        os.write(descriptor, b"# written through the held folder\n")
        os.close(descriptor)
    assert sums(outside) == before
    assert (root / "etc/nova.real/nova.conf").read_bytes().endswith(b"# written through the held folder\n")


# -- FIFO and device ---------------------------------------------------------------------------------------------


def test_a_fifo_does_not_hang_plan(node, capsys) -> None:
    root, outside = node
    (root / NOVA).unlink()
    os.mkfifo(root / NOVA)
    line = refused(capsys, root, outside, "plan", "vif-driver", *SETTINGS)
    assert f"{root / NOVA}: exists and is not a file (a FIFO)" in line, line


def test_a_fifo_as_the_journal_does_not_hang_undo(node, capsys) -> None:
    root, outside = node
    (root / JOURNAL).parent.mkdir(parents=True)
    os.mkfifo(root / JOURNAL)
    line = refused(capsys, root, outside, "undo")
    assert f"{root / JOURNAL}: exists and is not a file (a FIFO)" in line, line


def test_a_device_is_neither_read_nor_replaced(node, capsys) -> None:
    root, outside = node
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")  # conftest's rule: under CI this is a failure
    (root / NOVA).unlink()
    os.mknod(root / NOVA, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers: endless zeros
    for action in ("plan", "apply"):
        line = refused(capsys, root, outside, action, "vif-driver", *SETTINGS)
        assert f"{root / NOVA}: exists and is not a file (a character device)" in line, line
    assert stat.S_ISCHR((root / NOVA).lstat().st_mode)


def test_an_oversized_file_is_not_read(node, capsys) -> None:
    root, outside = node
    with (root / NOVA).open("r+b") as stream:
        stream.truncate(rootfs.MAX_BYTES + 1)
    line = refused(capsys, root, outside, "plan", "vif-driver", *SETTINGS)
    assert f"more than the {rootfs.MAX_BYTES} netnsfix reads" in line, line
