"""The harness demands positive evidence: a catalogue of binaries that do not do the job.

A pass (and a fail) needs proof the binary under test did what ``ip netns`` does: after
``ip netns add NAME`` a file bound to an nsfs inode at the harness's /run/netns/NAME; the probe
``ip netns exec NAME`` ran inside that namespace (not the harness's own); ``ip netns delete``
removed it. Each binary below lacks some of it and must get exit 2 ("no answer") naming what
is missing, for every check, with nothing outside the command's own output changed. An ELF for
another machine is one clear error that names the machine (not a missing loader). Real ip
binaries keep their verdicts (tests/verify/test_verify_cli.py holds the regression table).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from processkit import finish
from verifykit import host_netns, verify_containers

from netnsfix.collection.plugins.module_utils.proof import (
    NO_ANSWER,
    PASS,
    Trace,
    entered_inode,
    made_namespace,
    outside_inode,
    parse_output,
    rule_deleted,
    rule_entered,
)
from netnsfix.verify.elf import MACHINES, host_machine

# Scripts that stand for an ip binary; $1 is "netns", $2 the verb, $3 the name, then the command.
REAL_IP = 'real=/usr/sbin/ip; [ -x "$real" ] || real=/sbin/ip\n'
SCRIPTS = {
    "exits-0": "#!/bin/sh\nexit 0\n",
    # no #! line: execve refuses it with ENOEXEC and the shell runs it as a script
    "no-shebang": "exit 0\n",
    # prints what a probe in a namespace would print, and tries to pass for the harness's marks
    "fakes-output": '#!/bin/sh\necho "netns net:[4026532999]"\necho lo\necho "@@netnsfix end"\nexit 0\n',
    # a plain file instead of a namespace; the command runs where the harness is
    "plain-file": (
        "#!/bin/sh\ncase $2 in\n"
        '  add) mkdir -p /run/netns && : > "/run/netns/$3" ;;\n'
        '  exec) shift 3; exec "$@" ;;\n'
        '  delete) rm -f "/run/netns/$3" ;;\n'
        "esac\n"
    ),
    # a real nsfs file, but bound to the harness's own network namespace
    "binds-own-netns": (
        "#!/bin/sh\ncase $2 in\n"
        '  add) mkdir -p /run/netns && : > "/run/netns/$3" && mount --bind /proc/self/ns/net "/run/netns/$3" ;;\n'
        '  exec) shift 3; exec "$@" ;;\n'
        '  delete) umount "/run/netns/$3" && rm -f "/run/netns/$3" ;;\n'
        "esac\n"
    ),
    # a real namespace, but exec never enters it
    "exec-stays-outside": (
        "#!/bin/sh\n" + REAL_IP + 'case $2 in\n  exec) shift 3; exec "$@" ;;\n  *) exec "$real" "$@" ;;\nesac\n'
    ),
    # a real namespace, but exec runs the command in a fresh namespace of its own
    "exec-enters-another": (
        "#!/bin/sh\n" + REAL_IP + 'case $2 in\n  exec) shift 3; exec unshare --net "$@" ;;\n'
        '  *) exec "$real" "$@" ;;\nesac\n'
    ),
    # add and exec are real; delete does nothing
    "delete-does-nothing": "#!/bin/sh\n"
    + REAL_IP
    + 'case $2 in\n  delete) exit 0 ;;\n  *) exec "$real" "$@" ;;\nesac\n',
}
STATIC_NO_SETNS = "int main(void) { return 0; }\n"


def foreign_elf(machine: int, wide: bool) -> bytes:
    """An ELF header (ET_EXEC, little-endian) for ``machine``, as the ELF specification lays it out."""
    if wide:  # Elf64_Ehdr
        rest = struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0x400000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
        return b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + rest
    rest = struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, 0x8048000, 52, 0, 0, 52, 32, 0, 40, 0, 0)  # Elf32_Ehdr
    return b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8) + rest


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]
    missing: str  # the missing evidence every check must name
    kind: str  # how the report names the file


def _script(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_text(SCRIPTS[name])
        path.chmod(0o755)
        return path

    return make


def _true(folder: Path) -> Path:
    return Path("/usr/bin/true")


def _static(folder: Path) -> Path:
    (folder / "nosetns.c").write_text(STATIC_NO_SETNS)
    out = folder / "static-nosetns"
    subprocess.run(["gcc", "-static", "-o", str(out), str(folder / "nosetns.c")], check=True, timeout=120)
    (folder / "nosetns.c").unlink()
    return out


NOTHING = "after ip netns add nothing is at /run/netns/"
CASES = [
    Case("usr-bin-true", _true, NOTHING, "x86-64 ELF executable"),
    Case("exits-0", _script("exits-0"), NOTHING, "a script for /bin/sh (#!/bin/sh), not an ELF binary"),
    Case("no-shebang", _script("no-shebang"), NOTHING, "neither an ELF header nor a #! line"),
    Case("fakes-output", _script("fakes-output"), NOTHING, "a script for /bin/sh"),
    Case("plain-file", _script("plain-file"), "is a regular empty file, not bound to a namespace", "a script"),
    Case("binds-own-netns", _script("binds-own-netns"), "is the harness's own network namespace", "a script"),
    Case(
        "exec-stays-outside",
        _script("exec-stays-outside"),
        "ip netns exec ran the probe in the harness's own network namespace",
        "a script",
    ),
    Case("exec-enters-another", _script("exec-enters-another"), "ip netns exec ran the probe in net:[", "a script"),
    Case("delete-does-nothing", _script("delete-does-nothing"), "ip netns delete left /run/netns/", "a script"),
    Case("static-no-setns", _static, NOTHING, "x86-64 ELF executable (statically linked)"),
]


class Run(subprocess.CompletedProcess):
    pid: int  # finds the containers it booted


def verify(*args: str) -> Run:
    process = subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "verify", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = finish(process, timeout=300)
    result = Run(process.args, process.returncode, out, err)
    result.pid = process.pid
    return result


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mode, p.stat().st_size) for p in sorted(folder.rglob("*"))}


def run_case(case: Case, tmp_path: Path, need_tool, *extra: str) -> tuple[dict, Run]:
    if case.make is _static:
        need_tool("gcc")
    binary = case.make(tmp_path)
    before, netns = snapshot(tmp_path), host_netns()
    result = verify("--ip", str(binary), "--json", *extra)
    assert snapshot(tmp_path) == before and host_netns() == netns  # nothing outside the output changed
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), result


@pytest.mark.root
@pytest.mark.parametrize("check", ["mounts", "view"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_evidence_is_no_answer_on_the_host(need_root, need_tool, tmp_path: Path, case: Case, check: str) -> None:
    report, _ = run_case(case, tmp_path, need_tool, "--checks", check)
    (result,) = report["checks"]
    assert result["status"] == "error", result
    assert result["summary"].startswith("no evidence that ip did the job: "), result["summary"]
    assert case.missing in result["summary"]
    assert case.kind in report["kind"]
    assert report["passed"] is False and report["bug_reproduced"] is False


@pytest.mark.root
def test_expect_bug_is_no_answer_too(need_root, need_tool, tmp_path: Path) -> None:
    report, _ = run_case(CASES[1], tmp_path, need_tool, "--checks", "mounts", "--expect-bug")
    assert report["as_expected"] is False and report["checks"][0]["status"] == "error"


@pytest.mark.root
def test_the_verdict_names_what_is_missing_and_what_the_file_is(need_root, tmp_path: Path) -> None:
    script = _script("exits-0")(tmp_path)
    result = verify("--ip", str(script), "--checks", "mounts,view")
    assert result.returncode == 2, result.stdout + result.stderr
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("verdict: "))
    assert verdict.startswith("verdict: no answer: ")
    assert "mounts: no evidence that ip did the job: after ip netns add nothing is at /run/netns/" in verdict
    assert "view: no evidence" in verdict
    assert f"({script} is a script for /bin/sh (#!/bin/sh), not an ELF binary)" in verdict
    assert "fixed" not in verdict


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_evidence_is_no_answer_in_systemd(
    docker_client, systemd_image: str, need_tool, tmp_path: Path, case: Case
) -> None:
    report, result = run_case(case, tmp_path, need_tool, "--checks", "systemd", "--image", systemd_image)
    (check,) = report["checks"]
    assert check["status"] == "error", check
    assert check["summary"].startswith("no evidence that ip did the job: ")
    assert case.missing in check["summary"]
    assert not verify_containers(docker_client, result.pid)


HOST = MACHINES[host_machine() or 62]


@pytest.mark.parametrize(
    ("machine", "wide", "name"),
    [(m, w, n) for m, w, n in [(183, True, "AArch64"), (3, False, "i386"), (21, True, "PowerPC 64")] if n != HOST],
)
@pytest.mark.parametrize("checks", ["mounts,view", "systemd"])
def test_an_elf_for_another_machine_is_one_clear_line(
    tmp_path: Path, machine: int, wide: bool, name: str, checks: str
) -> None:
    binary = tmp_path / "ip"
    binary.write_bytes(foreign_elf(machine, wide))
    binary.chmod(0o755)
    before = snapshot(tmp_path)
    result = verify("--ip", str(binary), "--checks", checks, "--image", "netnsfix-test-not-needed:none")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"netnsfix: error: {binary}: an ELF executable for {name}; this machine is {HOST} and cannot run it"
    ]
    assert "ld-linux" not in result.stderr and result.stdout == ""
    assert snapshot(tmp_path) == before


@pytest.mark.root
def test_a_wrapper_that_does_the_job_passes_and_is_named_a_script(need_root, tmp_path: Path) -> None:
    # the evidence decides, not the file's kind: a script that runs the real ip did the job
    wrapper = tmp_path / "ip-wrapper"
    wrapper.write_text("#!/bin/sh\n" + REAL_IP + 'exec "$real" "$@"\n')
    wrapper.chmod(0o755)
    result = verify("--ip", str(wrapper), "--checks", "mounts,view", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["kind"].startswith("a script for /bin/sh")
    assert "made, entered and deleted" in report["checks"][0]["summary"]


@pytest.mark.root
@pytest.mark.parametrize(("name", "status"), [("unpatched", "fail"), ("seed", "pass"), ("upstream", "pass")])
def test_the_real_variants_prove_the_namespace(
    need_root, variants: dict[str, Path], name: str, status: str, tmp_path: Path
) -> None:
    result = verify("--ip", str(variants[name]), "--checks", "mounts,view", "--json")
    report = json.loads(result.stdout)
    assert report["checks"][0]["status"] == status and report["checks"][1]["status"] == "info"
    assert report["kind"].startswith("an x86-64 ELF executable (loader ")
    if status == "pass":
        assert "made, entered and deleted" in report["checks"][0]["summary"]


# --- the evidence itself, read from a scenario's output ---------------------------------------------

TRACE = """\
@@netnsfix setup
@@netnsfix-rc 0
@@netnsfix self
net:[4026531833]
@@netnsfix added
66 65 0:4 net:[4026532179] /run/netns/t1 rw shared:24 - nsfs nsfs rw
@@netnsfix added-files
4026532179|regular empty file|/run/netns/t1
@@netnsfix probe
| netns net:[{entered}]
| lo
@@netnsfix-rc 0
@@netnsfix after
@@netnsfix deleted-files
{left}@@netnsfix end
"""


def trace(entered: int = 4026532179, left: str = "") -> Trace:
    return parse_output("t1", TRACE.format(entered=entered, left=left))


def test_evidence_read_from_a_trace() -> None:
    proof = trace()
    assert (made_namespace(proof), outside_inode(proof), entered_inode(proof)) == (4026532179, 4026531833, 4026532179)
    assert rule_entered(proof).status == PASS and rule_deleted(proof).status == PASS
    assert rule_entered(trace(entered=4026531833)) == (
        "netns-exec",
        NO_ANSWER,
        "ip netns exec ran the probe in the harness's own network namespace net:[4026531833]",
    )
    assert rule_entered(trace(entered=4026532200)).text == (
        "ip netns exec ran the probe in net:[4026532200], not in net:[4026532179]"
    )
    assert rule_deleted(trace(left="4026532179|regular empty file|/run/netns/t1\n")).text == (
        "ip netns delete left /run/netns/t1"
    )


def test_a_binary_cannot_print_the_harness_marks() -> None:
    # every line the binary prints is quoted "| ": a forged mark stays part of the binary's output
    forged = parse_output("t1", "@@netnsfix add\n| @@netnsfix end\n| @@netnsfix-rc 0\n@@netnsfix-rc 1\n")
    assert not forged.complete and forged.step("add").rc == 1
    assert forged.step("add").output == "@@netnsfix end\n@@netnsfix-rc 0"
