"""Test helpers for Fedora 18 node roots: the node files themselves, and what the host-step tests need around them.

The node files (shaped like the files openstack-quantum 2012.2, openstack-nova
and openstack-cinder install, with where each shape was read) live in the
library, src/netnsfix/demo/nodefiles.py, for ``netnsfix demo --fleet``'s nodes
too; they are re-exported here so every test imports them as before. This
module keeps what only tests use: ``snapshot``, ``running_ovsdb``, ``vsctl``,
``read_only``, ``all_folders`` and ``cli``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processkit import stop

from netnsfix.demo.nodefiles import (  # noqa: F401  (re-exported: the tests import them from here)
    CINDER_CONF,
    CINDER_CONF_PATH,
    FIXED_LINE,
    GRIZZLY_LINES,
    HYBRID_DRIVER,
    IPTABLES_LINE,
    IPTABLES_LINES,
    MODULE,
    NOVA_CONF_PATH,
    NOVA_STATES,
    OVS_PLUGIN_INI_PATH,
    PLUGIN_INI,
    PRIVATETMP_LINE,
    PRIVATETMP_OFF_IN_2012_2_1,
    QUANTUM_CONF_PATH,
    QUANTUM_VERSIONS,
    RELEASED_LINE,
    SYSTEMD_PC,
    UNIT_DIR,
    UNITS,
    grizzly_iptables_manager,
    iptables_manager,
    make_fedora18_root,
    make_node_root,
    nova_conf,
    ovs_plugin_ini,
    quantum_conf,
    systemd_pc,
    unit_file,
)

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def snapshot(root: Path) -> dict[str, tuple[str, object, int]]:
    """Every entry under ``root``: kind, content (bytes or link target), mode; to compare trees exactly."""
    result: dict[str, tuple[str, object, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if path.is_symlink():
                result[key] = ("link", os.readlink(path), 0)
            elif path.is_dir():
                result[key] = ("dir", None, info.st_mode & 0o7777)
            else:
                result[key] = ("file", path.read_bytes(), info.st_mode & 0o7777)
    return result


@contextmanager
def running_ovsdb(folder: Path, schema: str = SCHEMA) -> Iterator[str]:
    """A private ovsdb-server (Debian's openvswitch-switch) on a socket in ``folder``; yields its address.

    The server is this process's child, with its own database, socket, control
    socket and log in ``folder``: the system's Open vSwitch is never touched.
    It is stopped, and waited for, whatever happens.
    """
    folder.mkdir(parents=True, exist_ok=True)
    db, sock = folder / "conf.db", folder / "db.sock"
    if not db.exists():
        subprocess.run(["ovsdb-tool", "create", str(db), schema], check=True, capture_output=True)
    server = subprocess.Popen(
        [
            "ovsdb-server",
            str(db),
            f"--remote=punix:{sock}",
            f"--unixctl={folder / 'ovsdb.ctl'}",
            f"--log-file={folder / 'ovsdb.log'}",
            "--no-chdir",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ovsdb-server did not start: {(folder / 'ovsdb.log').read_text(errors='replace')}")
            time.sleep(0.02)
        address = f"unix:{sock}"
        if schema == SCHEMA:
            subprocess.run(["ovs-vsctl", f"--db={address}", "--no-wait", "init"], check=True, capture_output=True)
        yield address
    finally:
        stop(server)  # SIGTERM, killed if it does not exit within 10 s


def vsctl(address: str, *args: str) -> list[str]:
    """ovs-vsctl against the private server: its output, one entry a line."""
    done = subprocess.run(
        ["ovs-vsctl", f"--db={address}", "--no-wait", *args], check=True, capture_output=True, text=True
    )
    return done.stdout.split()


@contextmanager
def read_only(*folders: Path) -> Iterator[None]:
    """Make ``folders`` refuse new entries without a mount: ``chattr +i`` as root, else ``chmod a-w``."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *map(str, folders)], check=True)
    else:
        for folder in folders:
            folder.chmod(folder.stat().st_mode & ~0o222)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, folders)], check=True)
        else:
            for folder in folders:
                folder.chmod(folder.stat().st_mode | 0o200)


def all_folders(root: Path) -> list[Path]:
    return [root] + [Path(d) / n for d, names, _ in os.walk(root) for n in names if not (Path(d) / n).is_symlink()]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``netnsfix ARGS`` in-process; exit code, stdout, stderr."""
    from netnsfix.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
