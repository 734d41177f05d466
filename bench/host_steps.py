#!/usr/bin/env python3
"""Time `netnsfix host` plan/apply/apply/undo on the tests' Fedora 18 root (with a private ovsdb-server).

Prints one line per phase (median of N runs, milliseconds). Usage: .venv/bin/python bench/host_steps.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hostroot import make_fedora18_root, running_ovsdb

from netnsfix.cli import main


def timed(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    with redirect_stdout(StringIO()):
        code = main(argv)
    return (time.perf_counter() - start) * 1000, code


def main_bench(runs: int) -> None:
    phases: dict[str, list[float]] = {
        "plan (all would change)": [],
        "apply": [],
        "apply again (no-op)": [],
        "plan (nothing to change)": [],
        "undo": [],
    }
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = make_fedora18_root(Path(tmp) / "root")
            with running_ovsdb(Path(tmp) / "ovs") as db:
                opts = [
                    "--root",
                    str(root),
                    "--ovs-db",
                    db,
                    "--ovs-no-wait",
                    "--public-nic",
                    "em1",
                    "--private-nic",
                    "em2",
                    "--iscsi-ip-address",
                    "192.168.1.101",
                ]
                for phase, argv in zip(  # noqa: B905 - as many phases as argvs, by construction
                    phases,
                    (
                        ["plan", *opts],
                        ["apply", *opts],
                        ["apply", *opts],
                        ["plan", *opts],
                        ["undo", "--root", str(root)],
                    ),
                ):
                    ms, _ = timed(["host", *argv])
                    phases[phase].append(ms)
    for phase, values in phases.items():
        print(f"{phase:28} {statistics.median(values):8.1f} ms  (median of {runs})")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
