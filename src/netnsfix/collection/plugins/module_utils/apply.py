"""Plan, apply with rollback, undo: the drivers every caller uses (modules and ``netnsfix host``).

All plans are made before anything changes, so bad input stops the run
early. Apply holds the root's lock, owes the restarts first (when asked),
backs every file up (journal first), writes it, runs the commands, then each
step's verify; anything that fails on the way is rolled back, so a node is
never left half-changed. When its own ``systemctl daemon-reload`` ran after the
last unit file it wrote, the restart marker says so (the restart need not
reload again).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from . import restart_marker
from .journal import BackupStore
from .plan import Node, changed, run_checked
from .privatetmp import DAEMON_RELOAD

UNIT_FOLDERS = ("/etc/systemd/", "/usr/lib/systemd/", "/lib/systemd/")


def plan_steps(steps, node):
    # type: (tuple, Node) -> tuple
    """Every step's plan."""
    node.fs.check()
    return tuple(step.plan(node) for step in steps)


def apply_steps(steps, node, owe_restarts=False):
    # type: (tuple, Node, bool) -> tuple
    """:func:`apply_unlocked` holding the root's lock (one apply or undo at a time per root)."""
    with node.fs.lock():
        return apply_unlocked(steps, node, owe_restarts)


def restarts_of(steps, plans, node):
    # type: (tuple, tuple, Node) -> list[str]
    """The units the changed steps restart, each once, in step order."""
    units = []  # type: list[str]
    for step, plan in zip(steps, plans):
        if changed(plan):
            for unit in step.desired(node.settings).restart:
                if unit not in units:
                    units.append(unit)
    return units


def apply_unlocked(steps, node, owe_restarts=False):
    # type: (tuple, Node, bool) -> tuple
    """Make the node match: back up, write, run, verify; roll everything back if any part fails."""
    plans = plan_steps(steps, node)
    todo = [plan for plan in plans if changed(plan)]
    if not todo:
        return plans
    store = BackupStore(node.fs)
    store.check_writable([change.path for plan in todo for change in plan.files])
    if owe_restarts:
        restart_marker.owe(node.fs, restarts_of(steps, plans, node))
    reloaded = None  # True: a daemon-reload ran after the last unit file written here; False: a unit file since
    with store.transaction(node.runner) as journal:
        for plan in todo:
            for change in plan.files:
                journal.write(plan.step, change)
                if change.path.startswith(UNIT_FOLDERS):
                    reloaded = False
            for cmd in plan.commands:
                if cmd.run:
                    run_checked(node.runner, cmd.argv)
                    journal.ran(plan.step, cmd.argv, cmd.undo)
                    if tuple(cmd.argv) == DAEMON_RELOAD:
                        reloaded = True
        for step in steps:
            step.verify(node)
    if owe_restarts and reloaded:
        restart_marker.reloaded(node.fs)
    return plans


def undo_steps(steps, node, force=False, owe_restarts=False):
    # type: (tuple, Node, bool, bool) -> tuple
    """Put back what :func:`apply_steps` changed for these steps, byte for byte, newest first."""
    with node.fs.lock():
        results = BackupStore(node.fs).undo(steps, node, force)
        if owe_restarts and results:
            units = []  # type: list[str]
            for step in steps:
                if any(result.step == step.name for result in results):
                    units += [unit for unit in step.restarts if unit not in units]
            restart_marker.owe(node.fs, units)
        return results
