"""The stage timer: spans in the order they end, said when they start and end, kept when a stage fails."""

from __future__ import annotations

import pytest

from netnsfix.util.timing import Span, StageTimer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stages_are_timed_and_said_in_order() -> None:
    clock, said = FakeClock(), []
    timer = StageTimer(
        started=lambda name: said.append(f"== {name}"),
        ended=lambda span: said.append(f"{span.name}: {span.detail} ({span.seconds:.1f} s)"),
        clock=clock,
    )
    with timer.stage("srpm") as detail:
        clock.now += 1.25
        detail.append("made")
        detail.append("kept")
    with timer.stage("build"):
        clock.now += 2.0
    assert timer.spans == (Span("srpm", 1.25, "made; kept"), Span("build", 2.0, ""))
    assert said == ["== srpm", "srpm: made; kept (1.2 s)", "== build", "build:  (2.0 s)"]


def test_a_failed_stage_is_timed_but_not_said_to_have_ended() -> None:
    clock, ended = FakeClock(), []
    timer = StageTimer(ended=ended.append, clock=clock)
    with pytest.raises(RuntimeError), timer.stage("place"):
        clock.now += 0.5
        raise RuntimeError("disk full")
    assert timer.spans == (Span("place", 0.5, ""),) and ended == []


def test_laps_run_from_the_previous_lap_or_stage() -> None:
    clock = FakeClock()
    timer = StageTimer(clock=clock)
    clock.now += 3
    assert timer.lap("plan") == Span("plan", 3)
    with timer.stage("stage"):
        clock.now += 1
    clock.now += 4
    assert timer.lap("rpmbuild") == Span("rpmbuild", 4)
    assert [s.name for s in timer.spans] == ["plan", "stage", "rpmbuild"]
