#!/usr/bin/env python3
"""Record what ``netnsfix host plan/apply --root`` produces on every released node shape (golden files).

First recorded with main's code at 931a53a (the configupdater/unidiff implementation,
before the node library replaced it); re-recorded (issue 18) with the node library
when the privatetmp step learnt systemd 197: the recorded roots say nothing about
their systemd, so they are Fedora 18's 197 and get /etc/systemd/system units that
``.include`` the packaged ones instead of drop-ins; every other file and line of
output was compared equal to the 931a53a recording before it was replaced. The
``-systemd198`` shapes have a usr/share/pkgconfig/systemd.pc saying 198 and keep
the drop-ins. Run: ``.venv/bin/python tests/node/golden/record.py``.
For each shape tests/hostroot.py can make (quantum 2012.2 / 2012.2.1, plugin.ini
made by quantum-server-setup or not, nova.conf packaged / node-setup /
server-setup, cinder's iscsi_ip_address set or not, network or compute role)
it writes SHAPE.json: the plan's and apply's output (the root's path replaced
by ROOT) and, for every file under the root after apply, its kind, mode and
sha256. tests/node/test_golden.py runs the node library on the same shapes
and compares byte for byte. The four file steps only: ovs-bridges changes
no file (its commands are tested against a real ovsdb-server in tests/host).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import tempfile
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for hostroot
from hostroot import NOVA_STATES, QUANTUM_VERSIONS, make_node_root  # noqa: E402

from netnsfix.cli import main  # noqa: E402

FILE_STEPS = ["privatetmp", "iptables-path", "vif-driver", "quantum-config"]
ISCSI = "192.168.1.101"


def shapes() -> list[dict[str, object]]:
    released = [
        {"quantum": q, "plugin_ini": p, "nova": n, "iscsi": i, "role": r, "systemd": None}
        for q, p, n, i, r in itertools.product(
            QUANTUM_VERSIONS, (True, False), NOVA_STATES, (None, ISCSI), ("network", "compute")
        )
    ]
    updated = [  # a node whose systemd was updated past 197: drop-ins
        {"quantum": q, "plugin_ini": True, "nova": "node-setup", "iscsi": None, "role": r, "systemd": 198}
        for q, r in itertools.product(QUANTUM_VERSIONS, ("network", "compute"))
    ]
    return released + updated


def shape_name(shape: dict[str, object]) -> str:
    return "q{quantum}-{ini}-nova_{nova}-{iscsi}-{role}".format(
        quantum=shape["quantum"],
        ini="plugin_ini" if shape["plugin_ini"] else "no_plugin_ini",
        nova=shape["nova"],
        iscsi="iscsi" if shape["iscsi"] else "no_iscsi",
        role=shape["role"],
    ) + (f"-systemd{shape['systemd']}" if shape.get("systemd") else "")


def options(root: Path, shape: dict[str, object]) -> list[str]:
    argv = ["--root", str(root), "--role", str(shape["role"]), "--private-nic", "em2"]
    if shape["role"] == "network":
        argv += ["--public-nic", "em1"]
    if shape["iscsi"]:
        argv += ["--iscsi-ip-address", str(shape["iscsi"])]
    return argv


def make_root(folder: Path, shape: dict[str, object]) -> Path:
    systemd = shape.get("systemd")
    return make_node_root(
        folder / "root",
        quantum=str(shape["quantum"]),
        plugin_ini=bool(shape["plugin_ini"]),
        nova=str(shape["nova"]),
        systemd=None if systemd is None else int(str(systemd)),
    )


def run(argv: list[str], root: Path) -> tuple[int, str]:
    out = StringIO()
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue().replace(str(root), "ROOT")


def tree(root: Path, skip: str = "var/lib/netnsfix") -> dict[str, list[object]]:
    """Every entry under ``root`` but the backup store: kind, mode, sha256 or link target."""
    result: dict[str, list[object]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            key = str(path.relative_to(root))
            if key == skip or key.startswith(skip + "/"):
                continue
            info = path.lstat()
            if path.is_symlink():
                result[key] = ["link", 0, os.readlink(path)]
            elif path.is_dir():
                result[key] = ["dir", info.st_mode & 0o7777, None]
            else:
                result[key] = ["file", info.st_mode & 0o7777, hashlib.sha256(path.read_bytes()).hexdigest()]
    return dict(sorted(result.items()))


def record(shape: dict[str, object]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp), shape)
        opts = options(root, shape)
        plan_code, plan_out = run(["host", "plan", *FILE_STEPS, *opts], root)
        apply_code, apply_out = run(["host", "apply", *FILE_STEPS, *opts], root)
        return {
            "shape": shape,
            "plan": {"code": plan_code, "out": plan_out},
            "apply": {"code": apply_code, "out": apply_out},
            "after": tree(root),
        }


def main_record() -> None:
    for shape in shapes():
        path = HERE / (shape_name(shape) + ".json")
        path.write_text(json.dumps(record(shape), indent=1, sort_keys=True) + "\n")
        print(path.name)


if __name__ == "__main__":
    main_record()
