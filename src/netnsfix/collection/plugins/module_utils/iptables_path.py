"""Bug 877337: quantum 2012.2 calls iptables by absolute path, which rootwrap refuses.

rootwrap's filters match bare command names, so ``IptablesManager.apply``
must run ``iptables``, not ``/sbin/iptables``. Upstream fixed exactly that
one line (commit 425e942, "Call iptables without absolute path", released in
2012.2.1 and unchanged through 2012.2.4).

The step knows the released file, not a guess of it: in quantum 2012.2's
``quantum/agent/linux/iptables_manager.py`` (openstack/neutron tag 2012.2,
installed byte for byte by Fedora 18's openstack-quantum 2012.2-1) line 264 is
``    def apply(self):``, its docstring ends at 271, and line 272 is
``        s = [('/sbin/iptables', self.ipv4)]``. The step recognises lines
264-275 of that file, makes a one-line diff at 272 and checks that diff
itself before anything is written: one file, every hunk's context and
removed lines equal to the file's at fuzz 0, and nothing removed but line
272's command. The 2012.2.1 shape (line 272 ``s = [('iptables', self.ipv4)]``),
and the seed's hand edit (the old line commented out at 272, the fixed one at
273), are "already fixed"; anything else is refused with the first line that
differs.

``ip6tables`` needs nothing: line 274 is already ``s += [('ip6tables',
self.ipv6)]`` in 2012.2 (only iptables carried /sbin/), upstream's fix did not
touch it, and the branch never runs in 2012.2 (the l3 agent, the only user,
leaves ``use_ipv6`` False). Changing it would make a file no release had.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re
import sys

from .errors import NodeError, show
from .plan import CheckedPatch, Desired, FileChange, Node, StepPlan, desired, verify_by_replanning

MODULE = "quantum/agent/linux/iptables_manager.py"
SEARCH = (
    "usr/lib/python2*/site-packages",
    "usr/lib64/python2*/site-packages",
    "usr/lib/python2*/dist-packages",
    "usr/local/lib/python2*/site-packages",
    "usr/local/lib/python2*/dist-packages",
)
LINE = 272  # the line quantum 2012.2 gets wrong
RELEASED = "        s = [('/sbin/iptables', self.ipv4)]"
FIXED = "        s = [('iptables', self.ipv4)]"
# Lines 264-275 of quantum 2012.2's file: what the step recognises before it changes line 272.
_HEAD = (
    "    def apply(self):",
    '        """Apply the current in-memory set of iptables rules.',
    "",
    "        This will blow away any rules left over from previous runs of the",
    "        same component of Nova, and replace them with our current set of",
    "        rules. This happens atomically, thanks to iptables-restore.",
    "",
    '        """',
)
_TAIL = ("        if self.use_ipv6:", "            s += [('ip6tables', self.ipv6)]", "")
FIRST = 264
SHAPES = (
    ("released", _HEAD + (RELEASED,) + _TAIL),  # quantum 2012.2: change line 272
    ("fixed", _HEAD + (FIXED,) + _TAIL),  # 2012.2.1 (and 2012.2.3, 2012.2.4): nothing to do
    ("seed", _HEAD + ("#" + RELEASED, FIXED) + _TAIL),  # the seed's hand edit: nothing to do
)
_SHAPE = dict(SHAPES)
FIXES = ((RELEASED.strip(), FIXED.strip()),)
# The agents that build iptables rules through IptablesManager.
SERVICES = ("quantum-l3-agent",)
PATCH = CheckedPatch(
    MODULE, SEARCH, FIRST, _SHAPE["released"], tuple(v for k, v in SHAPES if k != "released"), LINE, FIXED
)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _text_lines(data):
    # type: (bytes) -> list
    if sys.version_info[0] < 3:
        return data.splitlines(True)
    return data.decode("utf-8", "surrogateescape").splitlines(True)


def _to_bytes(lines):
    # type: (list) -> bytes
    if sys.version_info[0] < 3:
        return "".join(lines)  # type: ignore[return-value]
    return "".join(lines).encode("utf-8", "surrogateescape")


def find_modules(node):
    # type: (Node) -> list[str]
    """Every installed copy of quantum's iptables_manager.py in the root (symlinks followed inside it)."""
    fs = node.fs
    found = []  # type: list[str]
    for pattern in SEARCH:
        for candidate in sorted(fs.glob(pattern + "/" + MODULE)):
            real = fs.resolve(candidate)
            if real not in found:
                found.append(real)
    if not found:
        raise NodeError(
            "quantum's %s is not installed (looked under /%s); is openstack-quantum installed?"
            % (MODULE, ", /".join(SEARCH)),
            path=fs.root,
        )
    return found


def shape_of(lines):
    # type: (list) -> str | None
    """Which known shape lines 264 on are (released, fixed, seed), or None."""
    for name, shape in SHAPES:
        window = lines[FIRST - 1 : FIRST - 1 + len(shape)]
        if [line.rstrip("\n") for line in window] == list(shape) and all(line.endswith("\n") for line in window):
            return name
    return None


def fixed_lines(lines, where):
    # type: (list, str) -> list
    """``lines`` with line 272 fixed (unchanged when already fixed); an error for a file the step does not know."""
    shape = shape_of(lines)
    if shape is None:
        raise NodeError(
            "%s; not quantum 2012.2's iptables_manager.py (nor 2012.2.1's), nothing was changed"
            % _first_difference(lines),
            path=where,
        )
    if shape != "released":
        return list(lines)
    result = list(lines)
    result[LINE - 1] = FIXED + "\n"
    return result


def _first_difference(lines):
    # type: (list) -> str
    """The first line that differs from the released shape (from the fixed one, where line 272 is fixed)."""
    got = lines[LINE - 1].rstrip("\n") if len(lines) >= LINE else None
    shape = _SHAPE["fixed"] if got == FIXED else _SHAPE["released"]
    if got not in (RELEASED, FIXED):  # line 272 itself is what the step is about: name it first
        return "line %d: expected %r (quantum 2012.2) or %r (2012.2.1), found %s" % (
            LINE,
            RELEASED,
            FIXED,
            _found(lines, LINE),
        )
    for offset, wanted in enumerate(shape):
        number = FIRST + offset
        if len(lines) < number or lines[number - 1].rstrip("\n") != wanted or not lines[number - 1].endswith("\n"):
            return "line %d: expected %r, found %s" % (number, wanted, _found(lines, number))
    return "line %d: not a known shape" % LINE  # not reached: a full match is a known shape


def _found(lines, number):
    # type: (list, int) -> str
    if len(lines) < number:
        return "the end of the file (it has %d lines)" % len(lines)
    return show(lines[number - 1].rstrip("\n"))


def make_diff(path, before, after):
    # type: (str, list, list) -> str
    name = path.lstrip("/")
    return "".join(difflib.unified_diff(before, after, "a/" + name, "b/" + name, n=3))


def _hunks(diff, where):
    # type: (str, str) -> list
    """The hunks of a one-file unified diff: [(source_start, [(tag, text, source_line_number)])]."""
    lines = diff.splitlines(True)
    files = sum(1 for line in lines if line.startswith("--- "))
    if files != 1 or len(lines) < 2 or not lines[1].startswith("+++ "):
        raise NodeError("the diff names %d files, expected 1" % files, path=where)
    hunks = []  # type: list
    index = 2
    while index < len(lines):
        match = _HUNK.match(lines[index])
        if not match:
            raise NodeError("the diff netnsfix made does not parse at %s" % show(lines[index]), path=where)
        start = int(match.group(1))
        old = 1 if match.group(2) is None else int(match.group(2))
        new = 1 if match.group(4) is None else int(match.group(4))
        index += 1
        body = []  # type: list[tuple[str, str, int | None]]
        number = start
        while (old > 0 or new > 0) and index < len(lines):
            tag, text = lines[index][:1], lines[index][1:]
            if tag == " ":
                body.append((tag, text, number))
                number += 1
                old -= 1
                new -= 1
            elif tag == "-":
                body.append((tag, text, number))
                number += 1
                old -= 1
            elif tag == "+":
                body.append((tag, text, None))
                new -= 1
            else:
                raise NodeError("the diff netnsfix made does not parse at %s" % show(lines[index]), path=where)
            index += 1
        if old or new:
            raise NodeError("the diff netnsfix made ends inside a hunk", path=where)
        hunks.append((start, body))
    return hunks


def check_and_apply(diff, before, where):
    # type: (str, list, str) -> list
    """Check every hunk of ``diff`` at fuzz 0 and that only line 272's command changes, then apply it."""
    result = []  # type: list
    taken = 0
    allowed = dict(FIXES)
    for source_start, body in _hunks(diff, where):
        start = source_start - 1
        source = [text for tag, text, _ in body if tag in " -"]
        if start < taken or before[start : start + len(source)] != source:
            raise NodeError("hunk at line %d does not match the file at fuzz 0" % source_start, path=where)
        removed = [text.strip() for tag, text, _ in body if tag == "-"]
        added = [text.strip() for tag, text, _ in body if tag == "+"]
        if len(removed) != len(added) or any(allowed.get(old) != new for old, new in zip(removed, added)):
            raise NodeError("the diff changes more than the iptables command names", path=where)
        numbers = [number for tag, _, number in body if tag == "-"]
        if any(number != LINE for number in numbers):
            raise NodeError("the diff changes line %d, expected only line %d" % (numbers[0], LINE), path=where)
        result += before[taken:start]
        result += [text for tag, text, _ in body if tag in " +"]
        taken = start + len(source)
    return result + before[taken:]


class IptablesPath:
    name = "iptables-path"
    summary = "quantum 2012.2's iptables_manager.py line 272 runs 'iptables', not /sbin/iptables (Bug 877337)"
    restarts = SERVICES  # every unit this step may owe a restart

    def desired(self, settings):
        # type: (object) -> Desired
        return desired(self.name, patches=(PATCH,), restart=SERVICES)

    def owned(self, node):
        # type: (Node) -> list[str]
        return find_modules(node)

    def plan(self, node):
        # type: (Node) -> StepPlan
        changes = []
        for path in find_modules(node):
            where = node.fs.show(path)
            before_bytes = node.fs.read(path)
            if before_bytes is None:
                raise NodeError("vanished while netnsfix was reading it", path=where)
            before = _text_lines(before_bytes)
            wanted = fixed_lines(before, where)
            if wanted == before:
                continue
            after = check_and_apply(make_diff(path, before, wanted), before, where)
            if after != wanted:
                raise NodeError("applying the checked diff gave a different file; nothing was changed", path=where)
            changes.append(FileChange(path, before_bytes, _to_bytes(after), 0o644))
        return StepPlan(self.name, tuple(changes), ())

    def verify(self, node):
        # type: (Node) -> None
        verify_by_replanning(self, node)
