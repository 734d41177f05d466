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
264-275 of that file, makes a one-line diff at 272 and checks it with unidiff
at fuzz 0 against the file before anything is written. The 2012.2.1 shape
(line 272 ``s = [('iptables', self.ipv4)]``), and the seed's hand edit (the
old line commented out at 272, the fixed one at 273), are "already fixed";
anything else is refused with the first line that differs.

``ip6tables`` needs nothing: line 274 is already ``s += [('ip6tables',
self.ipv6)]`` in 2012.2 (only iptables carried /sbin/), upstream's fix did not
touch it, and the branch never runs in 2012.2 (the l3 agent, the only user,
leaves ``use_ipv6`` False). Changing it would make a file no release had.
"""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from netnsfix.errors import HostError
from netnsfix.host.core import FileChange, Node, StepPlan, verify_by_replanning
from netnsfix.host.desired import CheckedPatch, Desired
from netnsfix.host.noderoot import host_path, resolve
from netnsfix.host.settings import HostSettings

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
SHAPES = {
    "released": (*_HEAD, RELEASED, *_TAIL),  # quantum 2012.2: change line 272
    "fixed": (*_HEAD, FIXED, *_TAIL),  # 2012.2.1 (and 2012.2.3, 2012.2.4): nothing to do
    "seed": (*_HEAD, "#" + RELEASED, FIXED, *_TAIL),  # the seed's hand edit: nothing to do
}
FIXES = ((RELEASED.strip(), FIXED.strip()),)
# The agents that build iptables rules through IptablesManager.
SERVICES = ("quantum-l3-agent",)
PATCH = CheckedPatch(
    MODULE, SEARCH, FIRST, SHAPES["released"], tuple(v for k, v in SHAPES.items() if k != "released"), LINE, FIXED
)


def find_modules(root: Path) -> list[PurePosixPath]:
    """Every installed copy of quantum's iptables_manager.py under ``root`` (symlinks followed)."""
    found: list[PurePosixPath] = []
    for pattern in SEARCH:
        for candidate in sorted(root.glob(f"{pattern}/{MODULE}")):
            real = resolve(root, PurePosixPath("/") / candidate.relative_to(root))
            if real not in found:
                found.append(real)
    if not found:
        raise HostError(
            f"{root}: quantum's {MODULE} is not installed (looked under /{', /'.join(SEARCH)}); is "
            "openstack-quantum installed?"
        )
    return found


def shape_of(lines: list[str]) -> str | None:
    """Which known shape lines 264 on are (released, fixed, seed), or None."""
    for name, shape in SHAPES.items():
        window = [line.rstrip("\n") for line in lines[FIRST - 1 : FIRST - 1 + len(shape)]]
        if window == list(shape) and all(line.endswith("\n") for line in lines[FIRST - 1 : FIRST - 1 + len(shape)]):
            return name
    return None


def fixed_lines(lines: list[str], where: Path) -> list[str]:
    """``lines`` with line 272 fixed (unchanged when already fixed); an error for a file the step does not know."""
    shape = shape_of(lines)
    if shape is None:
        raise HostError(
            f"{where}: {_first_difference(lines)}; not quantum 2012.2's iptables_manager.py (nor 2012.2.1's), "
            "nothing was changed"
        )
    if shape != "released":
        return list(lines)
    result = list(lines)
    result[LINE - 1] = FIXED + "\n"
    return result


def _first_difference(lines: list[str]) -> str:
    """The first line that differs from the released shape (from the fixed one, where line 272 is fixed)."""
    got = lines[LINE - 1].rstrip("\n") if len(lines) >= LINE else None
    shape = SHAPES["fixed"] if got == FIXED else SHAPES["released"]
    if got not in (RELEASED, FIXED):  # line 272 itself is what the step is about: name it first
        return (
            f"line {LINE}: expected {RELEASED!r} (quantum 2012.2) or {FIXED!r} (2012.2.1), found {_found(lines, LINE)}"
        )
    for offset, wanted in enumerate(shape):
        number = FIRST + offset
        if len(lines) < number or lines[number - 1].rstrip("\n") != wanted or not lines[number - 1].endswith("\n"):
            return f"line {number}: expected {wanted!r}, found {_found(lines, number)}"
    return f"line {LINE}: not a known shape"  # not reached: a full match is a known shape


def _found(lines: list[str], number: int) -> str:
    if len(lines) < number:
        return f"the end of the file (it has {len(lines)} lines)"
    return repr(lines[number - 1].rstrip("\n"))


def make_diff(path: PurePosixPath, before: list[str], after: list[str]) -> str:
    name = str(path).lstrip("/")
    return "".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}", n=3))


def check_and_apply(diff: str, before: list[str], where: Path) -> list[str]:
    """Parse ``diff`` with unidiff, check every hunk at fuzz 0 and that only line 272's command changes, apply it."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as error:
        raise HostError(f"{where}: the diff netnsfix made does not parse: {error}") from None
    if len(patch) != 1:
        raise HostError(f"{where}: the diff names {len(patch)} files, expected 1")
    result: list[str] = []
    taken = 0
    for hunk in patch[0]:
        start = hunk.source_start - 1
        source = [line.value for line in hunk if line.is_context or line.is_removed]
        if start < taken or before[start : start + len(source)] != source:
            raise HostError(f"{where}: hunk at line {hunk.source_start} does not match the file at fuzz 0")
        removed = [line.value.strip() for line in hunk if line.is_removed]
        added = [line.value.strip() for line in hunk if line.is_added]
        allowed = dict(FIXES)
        if len(removed) != len(added) or any(allowed.get(old) != new for old, new in zip(removed, added, strict=True)):
            raise HostError(f"{where}: the diff changes more than the iptables command names")
        lines = [line.source_line_no for line in hunk if line.is_removed]
        if any(number != LINE for number in lines):
            raise HostError(f"{where}: the diff changes line {lines[0]}, expected only line {LINE}")
        result += before[taken:start]
        result += [line.value for line in hunk if line.is_context or line.is_added]
        taken = start + len(source)
    return result + before[taken:]


class IptablesPath:
    name = "iptables-path"
    summary = "quantum 2012.2's iptables_manager.py line 272 runs 'iptables', not /sbin/iptables (Bug 877337)"

    def desired(self, settings: HostSettings) -> Desired:
        return Desired(self.name, patches=(PATCH,), restart=SERVICES)

    def plan(self, node: Node) -> StepPlan:
        changes = []
        for path in find_modules(node.root):
            where = host_path(node.root, path)
            before_bytes = where.read_bytes()
            before = before_bytes.decode("utf-8", "surrogateescape").splitlines(True)
            wanted = fixed_lines(before, where)
            if wanted == before:
                continue
            after = check_and_apply(make_diff(path, before, wanted), before, where)
            if after != wanted:
                raise HostError(f"{where}: applying the checked diff gave a different file; nothing was changed")
            changes.append(FileChange(path, before_bytes, "".join(after).encode("utf-8", "surrogateescape")))
        return StepPlan(self.name, tuple(changes))

    def verify(self, node: Node) -> None:
        verify_by_replanning(self, node)
