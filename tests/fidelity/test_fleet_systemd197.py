"""netnsfix fleet on a node whose PID 1 is systemd 197 (Fedora 18's), over real SSH: what it showed.

tests/fixtures/systemd197/v197/fleet.txt is the transcript scripts/fidelity/record-fleet197 recorded: the
fleet node image with systemd v197 (built from its tag by scripts/fidelity/systemd197) laid over it
(demo/fleetnode197.py), booted as every fleet node boots; plan, apply, plan, verify, undo over SSH; two
cases that must fail verify. CI reads the recording (it cannot build systemd 197 in time); where the v197
build is present, test_fleet_systemd197_live.py records afresh and checks the same claims.
"""

from __future__ import annotations

import pytest
from fleet197 import check_fleet197
from testkit import ROOT

FLEET = ROOT / "tests" / "fixtures" / "systemd197" / "v197" / "fleet.txt"


def test_the_recorded_run_shows_every_claim() -> None:
    check_fleet197(FLEET.read_text())


DOCTORED = {
    # systemd 197 still saying yes after the apply (e.g. the drop-in form, which 197 ignores)
    "after apply": (
        "LoadState=loaded\nActiveState=active\nPrivateTmp=no",
        "LoadState=loaded\nActiveState=active\nPrivateTmp=yes",
    ),
    # a verify that passes on PrivateTmp=true
    "must fail: the override set back to PrivateTmp=true": (
        "f18node  FAIL    1   0        1",
        "f18node  PASS    1   0        1",
    ),
    # the handler restarting a unit systemd does not have (what try-restart's exit 6 would have stopped)
    "fleet plan, apply, plan": ("not loaded here: quantum-server, ", "restarted quantum-server; not loaded here: "),
    # the unpatched ip's /sys remount not seen
    "must fail: the unpatched ip": ("FAIL mounts: /sys was replaced", "PASS mounts: /sys kept"),
    # a missing unit that systemd 197 answered differently
    "a unit the node lacks": ("LoadState=error", "LoadState=not-found"),
}


@pytest.mark.parametrize("part", sorted(DOCTORED))
def test_a_transcript_that_does_not_show_a_claim_fails(part: str) -> None:
    text = FLEET.read_text()
    old, new = DOCTORED[part]
    head, marker, rest = text.partition(f"## {part}\n")
    body, sep, tail = rest.partition("\n## ")
    assert marker and old in body, part
    with pytest.raises(AssertionError):
        check_fleet197(head + marker + body.replace(old, new, 1) + sep + tail)
