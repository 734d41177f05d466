"""What every step shares: the records a plan is made of, and the drivers.

A step only *plans*: it reads the node and returns a frozen :class:`StepPlan`
of file changes and commands. :func:`apply_steps` is the one short function
that carries plans out (backups first, then files, then commands, then each
step's verify), through the injected runner and backup store; anything that
fails on the way is rolled back, so a node is never left half-changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from netnsfix.errors import HostError
from netnsfix.host.backups import BackupStore, UndoResult
from netnsfix.host.commands import Runner
from netnsfix.host.desired import Desired
from netnsfix.host.noderoot import check_root, locked_root
from netnsfix.host.settings import HostSettings


@dataclass(frozen=True)
class FileChange:
    """One file as it is (``before``; None when it does not exist) and as the step wants it."""

    path: PurePosixPath
    before: bytes | None
    after: bytes
    mode: int = 0o644

    def diff(self) -> str:
        """A unified diff, ``a/``/``b/`` relative to the root (``patch -p1 -d ROOT`` applies it)."""
        old = [] if self.before is None else self.before.decode("utf-8", "surrogateescape").splitlines(True)
        new = self.after.decode("utf-8", "surrogateescape").splitlines(True)
        name = str(self.path).lstrip("/")
        lines = difflib.unified_diff(old, new, "/dev/null" if self.before is None else f"a/{name}", f"b/{name}", n=3)
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True)
class Command:
    """A command a step needs; ``undo`` reverses it; ``run`` is False where it cannot apply (``note`` says why)."""

    argv: tuple[str, ...]
    undo: tuple[str, ...] | None = None
    run: bool = True
    note: str = ""

    def __str__(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class StepPlan:
    step: str
    files: tuple[FileChange, ...] = ()
    commands: tuple[Command, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.files or self.commands)


@dataclass(frozen=True)
class Node:
    """The node the steps work on: its root folder, its settings, and how commands run."""

    root: Path
    settings: HostSettings
    runner: Runner


class Step(Protocol):
    name: str
    summary: str

    def desired(self, settings: HostSettings) -> Desired: ...

    def plan(self, node: Node) -> StepPlan: ...

    def verify(self, node: Node) -> None: ...


def verify_by_replanning(step: Step, node: Node) -> None:
    """The check most steps need: planning again finds nothing left to change."""
    again = step.plan(node)
    if again.changed:
        what = ", ".join([str(f.path) for f in again.files] + [str(c) for c in again.commands])
        raise HostError(f"{step.name}: still differs after apply: {what}")


def plan_steps(steps: Sequence[Step], node: Node) -> tuple[StepPlan, ...]:
    """Every step's plan; all are made before anything changes, so bad input stops the run early."""
    check_root(node.root)
    return tuple(step.plan(node) for step in steps)


def apply_steps(steps: Sequence[Step], node: Node, store: BackupStore) -> tuple[StepPlan, ...]:
    """:func:`apply_unlocked` holding the root's lock (one apply or undo at a time per root)."""
    with locked_root(node.root):
        return apply_unlocked(steps, node, store)


def apply_unlocked(steps: Sequence[Step], node: Node, store: BackupStore) -> tuple[StepPlan, ...]:
    """Make the node match: back up, write, run, verify; roll everything back if any part fails."""
    plans = plan_steps(steps, node)
    todo = [plan for plan in plans if plan.changed]
    if not todo:
        return plans
    store.check_writable([change.path for plan in todo for change in plan.files])
    with store.transaction(node.runner) as journal:
        for plan in todo:
            for change in plan.files:
                journal.write(plan.step, change)
            for command in plan.commands:
                if command.run:
                    node.runner.run(command.argv)
                    journal.ran(plan.step, command.argv, command.undo)
        for step in steps:
            step.verify(node)
    return plans


def undo_steps(steps: Sequence[Step], node: Node, store: BackupStore, force: bool = False) -> tuple[UndoResult, ...]:
    """Put back what :func:`apply_steps` changed for these steps, byte for byte, newest first."""
    with locked_root(node.root):
        return store.undo([step.name for step in steps], node.runner, force)
