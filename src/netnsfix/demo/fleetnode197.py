"""A fleet node that boots Fedora 18's own systemd (197) as PID 1, for running ``netnsfix fleet`` against it.

The fleet node image (demo.fleetnodes: Debian 12, Python 2.7, sshd, OVS, rpm db) with Debian's
systemd 252 purged and systemd v197 as scripts/fidelity/systemd197 built it from its tag laid over it
(its ``make install`` tree; nothing downloaded, nothing run on the host). Debian 12's libudev stays
(its programs need its symbols; a container runs no udev). Four of Debian 12's units use what 197
does not know and are adapted in the image, each said in ADAPT. The node then boots as every fleet
node does (DESIGN.md section 3: private cgroup namespace, tmpfs on /run and /sys/fs/cgroup, no host
cgroup fs). Only docker runs the built binaries, inside the image's containers.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from netnsfix.demo.fleetnodes import ensure_node_image, prepare_image
from netnsfix.errors import EngineError
from netnsfix.tools.engine import Engine
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.paths import cache_dir
from netnsfix.verify.systemd_image import ENVIRONMENT, INIT

REPOSITORY = "netnsfix-fleetnode-sd197"
TREE_IN_PREP = "/tmp/systemd197"
# Run once in a container of the fleet node image (no network, not booted).
ADAPT = r"""
set -eu
# Debian's systemd 252 out (its units, binaries, /sbin/init), v197's install tree in
dpkg --purge --force-depends --force-remove-essential systemd-sysv systemd >/dev/null
tar -C /tmp/systemd197 -cf - . | tar -C / -xf -
rm -rf /tmp/systemd197
ln -sf ../lib/systemd/systemd /usr/sbin/init
# ssh.service: RuntimeDirectory= came in v211; 197 ignores it and sshd -t stops at the missing /run/sshd
sed -i '/^RuntimeDirectory/d; s|^ExecStartPre=/usr/sbin/sshd -t|ExecStartPre=/bin/mkdir -p -m 0755 /run/sshd\n&|' \
    /lib/systemd/system/ssh.service
# OOMScoreAdjust=-900: 197 fails the unit (206/OOM_ADJUST) when lowering it is refused, and the node
# boots without CAP_SYS_RESOURCE (DESIGN.md section 3); 252 lets it go
sed -i '/^OOMScoreAdjust=/d' /lib/systemd/system/dbus.service /lib/systemd/system/ovsdb-server.service \
    /lib/systemd/system/ovs-vswitchd.service
# network-online.target is newer than 197; ovs-record-hostname.service requires it
printf '[Unit]\nDescription=Network is Online\n' > /etc/systemd/system/network-online.target
"""


def systemd197_tree() -> Path:
    """Where scripts/fidelity/systemd197 installs v197 (``make install DESTDIR``), in the shared cache."""
    return cache_dir() / "systemd-fidelity" / "v197" / "dest"


def tree_present(tree: Path | None = None) -> bool:
    return ((tree or systemd197_tree()) / "usr" / "lib" / "systemd" / "systemd").is_file()


def ensure_node_image_197(engine: Engine, glibc_rpm: Path, tree: Path | None = None) -> str:
    """The v197 fleet node image's tag, made from the fleet node image and the built tree the first time."""
    tree = tree or systemd197_tree()
    if not tree_present(tree):
        raise EngineError(f"{tree}: no systemd v197 install tree there (run scripts/fidelity/systemd197)")
    base = ensure_node_image(engine, glibc_rpm)
    systemd = sha256_file(tree / "usr" / "lib" / "systemd" / "systemd")
    version = f"{hashlib.sha256(ADAPT.encode()).hexdigest()[:8]}-{systemd[:8]}"
    tag = f"{REPOSITORY}:{base.partition(':')[2]}-{version}"
    if engine.image_exists(tag):
        return tag
    conf = {"Cmd": INIT, "Env": [f"{k}={v}" for k, v in ENVIRONMENT.items()]}
    what = "netnsfix fleet node with systemd 197"
    prepare_image(engine, base, ADAPT, _tree_tar(tree), tag, "netnsfix-fleetprep197", what, conf)
    return tag


def _tree_tar(tree: Path) -> bytes:
    """The install tree under systemd197/, without libudev (Debian 12's stays: its programs need its symbols)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(tree, arcname="systemd197", filter=_keep)
    return buffer.getvalue()


def _keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if Path(info.name).name.startswith("libudev.so"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
