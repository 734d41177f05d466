"""The role's yum backend on a node with Fedora 18's yum 3.4.3 and rpm 4.10, as recorded (no kit needed).

``tests/fixtures/fedora18-tools/yum-role.txt`` was recorded by ``scripts/fidelity/record-yum-role``:
``netnsfix fleet`` over SSH to a booted node whose rpm, yum and python2.7 are the fidelity kit's (rpm
4.10.3.1, yum 3.4.3, Python 2.7.3, built from their released tags by scripts/fidelity/pkgtools),
against the fixture repository createrepo 0.9.9 made and the published demo repository, each served by
``netnsfix serve``; then the must-fail cases. ``yumrole.problems`` judges it; where the kit is built,
tests/fidelity/test_kit.py records a new one and judges it the same way. Each check is shown failing on
a copy of the transcript altered where it looks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from yumrole import problems, read_steps

TRANSCRIPT = Path(__file__).parent / "fixtures" / "fedora18-tools" / "yum-role.txt"


def test_the_recorded_run_passes_every_check() -> None:
    text = TRANSCRIPT.read_text()
    assert problems(text) == []
    sections = {step.section for step in read_steps(text)}
    assert {"demo: plan / apply / plan / verify / undo", "fixture: plan / apply / plan / verify / undo"} <= sections


def _altered(section: str, old: str, new: str) -> str:
    """The transcript with ``old`` replaced by ``new`` in the first step of ``section`` that has it."""
    text = TRANSCRIPT.read_text()
    start = text.index(f"## {section}")
    at = text.index(old, start)
    return text[:at] + new + text[at + len(old) :]


@pytest.mark.parametrize(
    ("section", "old", "new", "said"),
    [
        ("", "RPM version 4.10.3.1", "RPM version 4.18.0", "rpm --version"),
        ("demo:", "\nComplete!\n", "\n", "no Complete!"),
        ("demo:", "From  : /etc/pki/rpm-gpg/", "From  : http://HOST:PORT/demo/", "key not from the node's file"),
        (
            "fixture:",
            "rpm -V nfxfix-1.0-2.fc18.x86_64\nexit 0",
            "rpm -V nfxfix-1.0-2.fc18.x86_64\nS.5....T.    /usr/bin/nfxfix\nexit 1",
            "rpm -V not clean",
        ),
        ("demo:", "y1    up to date", "y1    would change", "$ netnsfix fleet plan"),
        (
            "must fail: a newer",
            "is already installed; nothing was installed (the steps'",
            "(the steps'",
            "no named failure",
        ),
        (
            "must fail: the server's",
            "package iproute is not installed",
            "iproute-3.6.0-2.netnsfix1.fc18.x86_64",
            "iproute got installed",
        ),
        (
            "demo:",
            "\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix\nexit 0",
            "\ngpgkey=http://HOST:PORT/demo\nexit 0",
            "gpgkey",
        ),
    ],
)
def test_each_check_fails_on_a_transcript_that_breaks_it(section: str, old: str, new: str, said: str) -> None:
    found = problems(_altered(section, old, new) if section else TRANSCRIPT.read_text().replace(old, new, 1))
    assert found, (section, old)
    assert any(said in problem for problem in found), found
