"""Stage timing: one clock for every place that reports how long its steps took.

The pipeline and the demo time their stages (the demo prints each as it
starts and ends), publish reports its steps in ``PublishResult.timings`` and
the demo's binary repository records its phases for bench/: all of them
measure wall time the same way, with this timer, and say what to print
themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One timed step: its name, its wall time, and what it said it did."""

    name: str
    seconds: float
    detail: str = ""


class StageTimer:
    """Records named spans of wall time, in the order they end.

    ``stage(name)`` times a block, calling ``started(name)`` before it and
    ``ended(span)`` after it when it succeeds; ``lap(name)`` ends a span that
    began at the previous lap or stage (or when the timer was made).
    """

    def __init__(
        self,
        started: Callable[[str], None] | None = None,
        ended: Callable[[Span], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._started, self._ended, self._clock = started, ended, clock
        self._spans: list[Span] = []
        self._last = clock()

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        """Time the block, which appends what it did to the yielded list.

        The span is recorded even when the block fails (publish's timings
        show where a failure spent its time); ``ended`` hears only of success.
        """
        if self._started:
            self._started(name)
        detail: list[str] = []
        begun = self._clock()
        ok = False
        try:
            yield detail
            ok = True
        finally:
            self._last = self._clock()
            span = Span(name, self._last - begun, "; ".join(detail))
            self._spans.append(span)
            if ok and self._ended:
                self._ended(span)

    def lap(self, name: str) -> Span:
        """End the span that began at the previous lap or stage (or the timer's start)."""
        now = self._clock()
        span = Span(name, now - self._last)
        self._spans.append(span)
        self._last = now
        return span

    @property
    def spans(self) -> tuple[Span, ...]:
        return tuple(self._spans)
