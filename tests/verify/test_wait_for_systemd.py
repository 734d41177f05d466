"""wait_for_systemd on systemd 197, with the answers the booted v197 fleet node gave.

systemd 197 has neither ``is-system-running`` nor ``--wait``; booted means no job is left in
``systemctl list-jobs``. The answers are the ones recorded in tests/fixtures/systemd197/v197/fleet.txt
(scripts/fidelity/record-fleet197, systemd 197 as PID 1); the container here replays them (CI has no 197;
tests/fidelity/test_fleet_systemd197_live.py boots the real one where it is built).
"""

from __future__ import annotations

import pytest
from testkit import ROOT
from unitdump import answers, sections

from netnsfix.errors import EngineError
from netnsfix.tools.engine import ExecResult
from netnsfix.verify.systemd_image import wait_for_systemd

RECORDED = answers(sections((ROOT / "tests/fixtures/systemd197/v197/fleet.txt").read_text())["PID 1 and sshd"])


class Replayed:
    """A container whose systemctl answers as the booted systemd 197 did (``jobs``: list-jobs' lines)."""

    name = "replayed-197"

    def __init__(self, jobs: list[str] | None = None) -> None:
        self.jobs = jobs

    def status(self) -> str:
        return "running"

    def exec(self, argv: list[str]) -> ExecResult:
        lines, code = RECORDED[" ".join(argv)]
        if argv[1] == "list-jobs" and self.jobs is not None:
            lines = self.jobs
        return ExecResult(code, "".join(line + "\n" for line in lines))


def test_197_answers_as_recorded() -> None:
    assert RECORDED["systemctl is-system-running --wait"] == (["systemctl: unrecognized option '--wait'"], 1)
    assert RECORDED["systemctl list-jobs"] == ([], 0)  # booted: no job left, and 197 prints nothing then


def test_a_booted_197_is_seen_by_its_empty_job_list() -> None:
    assert wait_for_systemd(Replayed(), timeout=5) == "jobs done"  # type: ignore[arg-type]


def test_a_197_with_a_job_left_is_not_booted() -> None:
    job = [" 42 ssh.service                    start running"]
    with pytest.raises(EngineError, match=r"did not finish booting within 1 s .*unrecognized option '--wait'"):
        wait_for_systemd(Replayed(jobs=job), timeout=1)  # type: ignore[arg-type]
