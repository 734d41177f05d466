"""What a transcript of scripts/fidelity/record-yum-role must show: the role's yum backend on a node with
Fedora 18's yum 3.4.3 and rpm 4.10.3.1, step by step, with its must-fail cases.

The transcript is ``$ COMMAND``, its output, ``exit N``; ``## TITLE`` lines open its sections. Both the
committed fixture (tests/test_yum_role.py, in CI) and a fresh recording (tests/fidelity/test_kit.py, where
the kit is built) are judged by ``problems``; an empty list is a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NODE_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix"


@dataclass(frozen=True)
class Step:
    section: str  # the first line of its ## block ("" before the first)
    command: str
    output: str
    code: int


def read_steps(text: str) -> list[Step]:
    steps: list[Step] = []
    section, previous = "", ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("## ") and not previous.startswith("## "):
            section = line[3:]
        previous = line
        if not line.startswith("$ "):
            continue
        output: list[str] = []
        while index < len(lines) and not re.fullmatch(r"exit \d+", lines[index]):
            output.append(lines[index])
            index += 1
        code = int(lines[index].split()[1]) if index < len(lines) else -1
        index += 1
        steps.append(Step(section, line[2:], "\n".join(output), code))
        previous = ""
    return steps


class Judge:
    def __init__(self, text: str) -> None:
        self.steps = read_steps(text)
        self.text = text
        self.problems: list[str] = []

    def step(self, section: str, command: str, nth: int = 0) -> Step | None:
        found = [s for s in self.steps if s.section.startswith(section) and s.command.startswith(command)]
        if len(found) <= nth:
            self.problems.append(f"[{section}] no step '{command}' (#{nth + 1})")
            return None
        return found[nth]

    def want(self, step: Step | None, ok: bool, what: str) -> None:
        if step is not None and not ok:
            self.problems.append(f"[{step.section}] $ {step.command}: {what}")


def problems(text: str) -> list[str]:
    j = Judge(text)
    versions = (
        ("rpm --version", "RPM version 4.10.3.1"),
        ("yum --version", "3.4.3"),
        ("python2.7 -c", "2.7.3 4.10.3.1 3.4.3"),
    )
    for command, said in versions:
        step = j.step("", command)
        j.want(step, step is not None and step.output == said and step.code == 0, f"not {said!r}")
    every = j.step("", "yum -y install iproute")
    j.want(every, every is not None and every.code != 0 and "fedora" in every.output, "the unreachable fedora repo")

    export = j.step("the published demo repository", "netnsfix fleet export")
    found = re.search(r"package (\S+) from", export.output) if export else None
    j.want(export, export is not None and export.code == 0 and found is not None, "export failed")
    demo = found[1] if found else "iproute-?"
    fixture = re.search(r"name='nfxfix'\) -> (\S+)", text)
    j.want(export, fixture is not None, "no fixture package named")
    for section, name, nevra in (("demo:", "iproute", demo), ("fixture:", "nfxfix", fixture[1] if fixture else "")):
        round_trip(j, section, name, nevra)

    newer = j.step("must fail: a newer iproute", "netnsfix fleet apply")
    said = f"(which is newer than {demo}) is already installed; nothing was installed"
    j.want(newer, newer is not None and newer.code == 1 and said in newer.output, "no named failure")

    other = j.step("must fail: the server's packages re-signed", "netnsfix fleet apply")
    j.want(
        other,
        other is not None and other.code == 1 and "Complete!" not in other.output and "Public key for" in other.output,
        "yum did not refuse the package signed by another key",
    )
    left = j.step("must fail: the server's packages re-signed", "rpm -q iproute")
    j.want(left, left is not None and left.output == "package iproute is not installed", "iproute got installed")

    hole = j.step("why the nodes' repository file", "yum -y")
    j.want(
        hole,
        hole is not None and re.search(r"From\s+: http://HOST:PORT/demo/RPM-GPG-KEY-netnsfix", hole.output) is not None,
        "yum did not take the server's key",
    )
    return j.problems


def round_trip(j: Judge, section: str, name: str, nevra: str) -> None:
    """plan (would change) / apply (yum installs, key from the node's file) / plan (nothing) / verify / undo."""
    plan = j.step(section, "netnsfix fleet plan")
    j.want(plan, plan is not None and plan.code == 1 and "would change" in plan.output, "first plan: no changes")
    j.want(plan, plan is not None and f"yum install {nevra}" in plan.output, "first plan: no yum install")
    apply = j.step(section, "netnsfix fleet apply")
    j.want(apply, apply is not None and apply.code == 0 and re.search(r"^y1\s+changed", apply.output, re.M), "apply")
    yum = j.step(section, "# the role's yum task")
    checks = (
        (r"Importing GPG key 0x[0-9A-F]{8}:", "no key imported"),
        (rf"From\s+: {NODE_KEY}", "key not from the node's file"),
        (rf"Installing : {re.escape(nevra)}\s", "not installed"),
        (r"^Complete!$", "no Complete!"),
    )
    for pattern, what in checks:
        j.want(yum, yum is not None and yum.code == 0 and re.search(pattern, yum.output, re.M) is not None, what)
    again = j.step(section, "netnsfix fleet plan", 1)
    j.want(again, again is not None and again.code == 0 and re.search(r"^y1\s+up to date", again.output, re.M), "plan")
    verify = j.step(section, "netnsfix fleet verify")
    j.want(verify, verify is not None and verify.code == 0 and re.search(r"^y1\s+PASS", verify.output, re.M), "verify")
    query = j.step(section, f"rpm -q {name}")
    j.want(query, query is not None and query.output == nevra, f"not {nevra}")
    check = j.step(section, "rpm -V")
    j.want(check, check is not None and check.code == 0 and check.output == "", "rpm -V not clean")
    repo = j.step(section, "grep -v '^#' /etc/yum.repos.d/netnsfix.repo")
    j.want(repo, repo is not None and f"gpgkey=file://{NODE_KEY}" in repo.output.splitlines(), "gpgkey")
    undo = j.step(section, "netnsfix fleet undo")
    j.want(undo, undo is not None and undo.code == 0, "undo failed")
