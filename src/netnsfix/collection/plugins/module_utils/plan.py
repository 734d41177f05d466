"""What every step shares: what it wants (as data), the plan it makes, the node it works on.

A step's ``desired(settings)`` answers from the settings alone (the drop-in
bytes, the INI keys and values, the checked patch, the bridges) and
``plan(node)`` reads the node and returns a :class:`StepPlan` of file changes
and commands; :mod:`apply` carries plans out. Records are namedtuples: frozen,
and the same on Python 2.7 and 3.11.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import sys
from collections import namedtuple

from .errors import NodeError
from .inifile import set_options

WantedFile = namedtuple("WantedFile", ["path", "content", "mode"])  # a whole file the step owns
# ``key = value`` in ``[section]``; ``fallback``: the file to edit when ``path`` does not exist.
IniSetting = namedtuple("IniSetting", ["path", "section", "key", "value", "fallback"])
# One line of an installed module changed only where lines ``first`` on are ``released`` (see iptables_path).
CheckedPatch = namedtuple("CheckedPatch", ["module", "search", "first", "released", "already", "line", "new"])
Bridge = namedtuple("Bridge", ["name", "port"])  # an OVS bridge and the NIC that becomes its port (None: none)
# Everything one step wants; ``restart``: the units (without .service) to restart when it changed the node.
Desired = namedtuple("Desired", ["step", "files", "ini", "patches", "bridges", "daemon_reload", "restart"])
# One file as it is (``before``: None when missing) and as the step wants it; ``path`` is resolved in the root.
FileChange = namedtuple("FileChange", ["path", "before", "after", "mode"])
# A command a step needs; ``undo`` reverses it; ``run`` False where it cannot apply (``note`` says why).
Command = namedtuple("Command", ["argv", "undo", "run", "note"])


class StepPlan(namedtuple("StepPlan", ["step", "files", "commands", "findings"])):
    """One step's plan; ``findings``: lines the operator must read that no change of this step answers
    (an ovsdb that is not running, a vendor unit that changed under an override)."""

    __slots__ = ()

    def __new__(cls, step, files, commands, findings=()):
        # type: (str, tuple, tuple, tuple) -> StepPlan
        return super(StepPlan, cls).__new__(cls, step, tuple(files), tuple(commands), tuple(findings))


# The node the steps work on: its confined root (rootfs.RootFS), its settings, the runner (argv -> rc, out, err).
Node = namedtuple("Node", ["fs", "settings", "runner"])


def desired(step, files=(), ini=(), patches=(), bridges=(), daemon_reload=False, restart=()):
    # type: (str, tuple, tuple, tuple, tuple, bool, tuple) -> Desired
    return Desired(step, tuple(files), tuple(ini), tuple(patches), tuple(bridges), daemon_reload, tuple(restart))


def command(argv, undo=None, run=True, note=""):
    # type: (tuple, tuple | None, bool, str) -> Command
    return Command(tuple(argv), None if undo is None else tuple(undo), run, note)


def changed(plan):
    # type: (StepPlan) -> bool
    return bool(plan.files or plan.commands)


def command_text(cmd):
    # type: (Command) -> str
    return " ".join(cmd.argv)


def _lines(data):
    # type: (bytes) -> list
    if sys.version_info[0] < 3:
        return data.splitlines(True)  # Python 2.7: bytes are text
    return data.decode("utf-8", "surrogateescape").splitlines(True)


def diff(change):
    # type: (FileChange) -> str
    """A unified diff, ``a/``/``b/`` relative to the root (``patch -p1 -d ROOT`` applies it)."""
    old = [] if change.before is None else _lines(change.before)
    new = _lines(change.after)
    name = change.path.lstrip("/")
    lines = difflib.unified_diff(old, new, "/dev/null" if change.before is None else "a/" + name, "b/" + name, n=3)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def run_checked(runner, argv):
    # type: (object, tuple) -> str
    """Run ``argv`` through the node's runner; its stdout, or a NodeError with its stderr in one line."""
    rc, out, err = runner(list(argv))  # type: ignore[operator]
    if rc != 0:
        detail = " ".join(str(err).split()) or "exit status %d" % rc
        raise NodeError("%s: %s" % (" ".join(argv), detail))
    return out


def show_units(runner, properties, units):
    # type: (object, tuple, list) -> list[dict]
    """``properties`` of each UNIT.service, in the order asked, from one ``systemctl show -p P1 -p P2 ...
    U1.service U2.service ...``: systemd 197's systemctl.c prints one block per unit in that order, an empty
    line between, and with -p an asked property even when it is empty; a NodeError when the count differs."""
    argv = ("systemctl", "show")  # type: tuple
    for name in properties:
        argv += ("-p", name)
    argv += tuple(unit + ".service" for unit in units)
    blocks = [block for block in run_checked(runner, argv).split("\n\n") if block.strip()]
    if len(blocks) != len(units):
        raise NodeError("systemctl show: %d units asked, %d answered" % (len(units), len(blocks)))
    answers = []
    for block in blocks:
        pairs = (line.partition("=") for line in block.splitlines())
        answers.append(dict((key, value.strip()) for key, _, value in pairs if key in properties))
    return answers


def verify_by_replanning(step, node):
    # type: (object, Node) -> None
    """The check most steps need: planning again finds nothing left to change."""
    again = step.plan(node)  # type: ignore[attr-defined]
    if changed(again):
        what = ", ".join([c.path for c in again.files] + [command_text(c) for c in again.commands])
        raise NodeError("%s: still differs after apply: %s" % (again.step, what))


def ini_values(settings, path):
    # type: (tuple, str) -> list
    """The settings for one file as [(section, [(key, value)])], in first-seen order."""
    sections = []  # type: list
    for setting in settings:
        if setting.path != path:
            continue
        entry = next((e for e in sections if e[0] == setting.section), None)  # type: tuple | None
        if entry is None:
            entry = (setting.section, [])
            sections.append(entry)
        keys = [k for k, _ in entry[1]]
        if setting.key in keys:
            entry[1][keys.index(setting.key)] = (setting.key, setting.value)
        else:
            entry[1].append((setting.key, setting.value))
    return sections


def ini_files(settings):
    # type: (tuple) -> tuple
    """The files ``settings`` touch, each once, in first-seen order."""
    seen = []  # type: list
    for setting in settings:
        if setting.path not in seen:
            seen.append(setting.path)
    return tuple(seen)


def ini_changes(node, step, settings):
    # type: (Node, str, tuple) -> tuple
    """The changes that make every file in ``settings`` hold its values, one per file that differs.

    A setting whose file is missing while its ``fallback`` is there goes to
    the fallback; a file's symlinks are followed inside the root.
    """
    fs = node.fs
    placed = tuple(
        s._replace(path=s.fallback) if s.fallback is not None and not fs.exists(s.path) else s for s in settings
    )
    changes = []
    for path in ini_files(placed):
        real = fs.resolve(path)
        before = fs.read(real)
        if before is None:
            raise NodeError("missing (%s edits it)" % step, path=fs.show(path))
        after = set_options(before, fs.show(real), ini_values(placed, path))
        if after != before:
            changes.append(FileChange(real, before, after, 0o644))
    return tuple(changes)
