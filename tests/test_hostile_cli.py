"""Hostile inputs at the command line itself: options out of range, files where folders belong and
the reverse, corrupt RPMs for verify, a port in use, -v. One stderr line naming the option or file,
exit 2 (every error), no traceback (only -v shows one), nothing outside the command's own output changed."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hostilekit import Case, netnsfix, prepare, run_case, write
from testkit import ROOT

PATCH = str(ROOT / "patches" / "iproute-3.6.0-netns-keep-sys.patch")
TREE = str(ROOT / "src" / "netnsfix" / "demo" / "iproute2-3.6.0")


CASES = [
    Case("unknown-command", ("bogus",), 2, r"^netnsfix: error: argument COMMAND: invalid choice: 'bogus'"),
    Case("retries-not-a-number", ("resolve", "--retries", "many"), 2, r"argument --retries: 'many' is not a whole"),
    Case("serve-port-too-big", ("serve", "{work}", "--port", "99999"), 2, r"argument --port: '99999' is not a port"),
    Case("serve-port-negative", ("serve", "{work}", "--port", "-5"), 2, r"argument --port: '-5' is not a port"),
    Case("serve-dir-missing", ("serve", "{work}/none"), 2, r"/work/none: no such folder"),
    Case(
        "serve-address-not-here",
        ("serve", "{work}", "--bind", "192.0.2.1", "--port", "0"),
        2,
        r"192\.0\.2\.1 port 0: cannot serve there: Cannot assign requested address",
    ),
    Case(
        "demo-archive-dir-is-a-file",
        ("demo-archive", "{work}/afile"),
        2,
        r"DIR .*/work/afile: not a folder",
        write("work/afile", b"x"),
    ),
    Case(
        "patch-import-output-is-a-folder",
        ("patch", "import", PATCH, "--source", TREE, "-o", "{work}/outdir"),
        2,
        r"-o .*/work/outdir: is a folder; name the patch file to write",
        write("work/outdir", None),
    ),
    Case(
        "patch-check-patch-is-a-folder",
        ("patch", "check", "{work}", "--source", TREE),
        2,
        r"work: cannot read the patch",
    ),
    Case(
        "patch-check-binary-garbage",
        ("patch", "check", "{work}/x.patch", "--source", TREE),
        2,
        r"x\.patch: holds no unified diff",
        write("work/x.patch", os.urandom(2000)),
    ),
    Case(
        "patch-check-source-a-file",
        ("patch", "check", PATCH, "--source", "{work}/x.rpm"),
        2,
        r"x\.rpm: not a folder or a tarball",
        write("work/x.rpm", b"x"),
    ),
    Case(
        "verify-rpm-corrupt",
        ("verify", "--rpm", "{work}/c.rpm", "--checks", "mounts"),
        2,
        r"c\.rpm: cannot read the RPM: not an RPM \(no RPM lead\)",
        write("work/c.rpm", os.urandom(4000)),
    ),
    Case(
        "verify-rpm-truncated-header",
        ("verify", "--rpm", "{work}/t.rpm", "--checks", "mounts"),
        2,
        r"t\.rpm: cannot read the RPM: truncated header: the file ends inside the RPM's signature header",
        write("work/t.rpm", b"\xed\xab\xee\xdb\x03\x00" + b"\x00" * 90),
    ),
    Case(
        "verify-ip-missing",
        ("verify", "--ip", "{work}/none", "--checks", "mounts"),
        2,
        r"/work/none: no such file \(give the path of an ip binary\)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_cli(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


def test_serve_on_a_port_in_use_names_the_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        case = Case(
            "serve-port-in-use",
            ("serve", "{work}", "--port", str(port)),
            2,
            rf"^netnsfix: error: 127\.0\.0\.1 port {port}: cannot serve there: Address already in use$",
        )
        run_case(case, tmp_path)


def test_a_traceback_only_under_verbose(tmp_path: Path) -> None:
    """Without -v one line; with -v the traceback first, then the same line."""
    case = Case("root-missing", ("host", "apply", "--root", "{world}/none"), 2, r"no such folder")
    quiet = run_case(case, tmp_path / "quiet")
    prepare(case, tmp_path / "loud")
    loud = netnsfix(["-v", "host", "apply", "--root", str(tmp_path / "loud" / "none")], tmp_path / "loud")
    assert loud.returncode == 2
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.splitlines()[-1] == quiet.stderr.splitlines()[-1].replace("/quiet/", "/loud/")
