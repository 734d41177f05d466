"""Bug 877337: quantum 2012.2 calls iptables by absolute path, which rootwrap refuses.

rootwrap's filters match bare command names, so ``IptablesManager._apply``
must run ``iptables``/``ip6tables``, not ``/sbin/...`` (fixed upstream in
2012.2.1). The change is a unified diff made from the installed file, checked
with unidiff at fuzz 0 (only the two command names may change) before it is
applied; a file already fixed is left alone.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path, PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from netnsfix.errors import HostError
from netnsfix.host.core import FileChange, Node, StepPlan, verify_by_replanning
from netnsfix.host.desired import CheckedPatch, Desired, LineFix
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
# (line as shipped in 2012.2, line as fixed), compared without indentation.
FIXES = (
    ("s = [('/sbin/iptables', self.ipv4)]", "s = [('iptables', self.ipv4)]"),
    ("s += [('/sbin/ip6tables', self.ipv6)]", "s += [('ip6tables', self.ipv6)]"),
)
FUNCTION = "_apply"
# The agents that build iptables rules through IptablesManager.
SERVICES = ("quantum-l3-agent", "quantum-dhcp-agent")
PATCH = CheckedPatch(MODULE, SEARCH, FUNCTION, tuple(LineFix(old, new) for old, new in FIXES))


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


def fixed_lines(lines: list[str], where: Path) -> list[str]:
    """``lines`` with the two command names fixed; an error unless each line is found exactly once in ``_apply``."""
    start, end = _apply_body(lines, where)
    result = list(lines)
    for old, new in FIXES:
        olds = [i for i, line in enumerate(lines) if line.strip() == old]
        news = [i for i, line in enumerate(lines) if line.strip() == new]
        if len(olds) == 0 and len(news) == 1:
            continue  # already fixed
        if len(olds) != 1 or news:
            raise HostError(
                f"{where}: expected the line {old!r} exactly once (found {len(olds)}, and {len(news)} fixed); "
                "not the quantum 2012.2 file netnsfix knows, nothing was changed"
            )
        index = olds[0]
        if not start < index < end:
            raise HostError(f"{where}: line {index + 1} {old!r} is not inside IptablesManager._apply")
        result[index] = lines[index].replace(old, new)
    return result


def _apply_body(lines: list[str], where: Path) -> tuple[int, int]:
    heads = [i for i, line in enumerate(lines) if re.match(rf"^(\s*)def {FUNCTION}\(self\b", line)]
    if len(heads) != 1:
        raise HostError(
            f"{where}: expected one 'def _apply(self' (found {len(heads)}); not quantum 2012.2's iptables_manager.py"
        )
    head = heads[0]
    indent = len(lines[head]) - len(lines[head].lstrip())
    for i in range(head + 1, len(lines)):
        text = lines[i]
        if text.strip() and not text.lstrip().startswith("#") and len(text) - len(text.lstrip()) <= indent:
            return head, i
    return head, len(lines)


def make_diff(path: PurePosixPath, before: list[str], after: list[str]) -> str:
    name = str(path).lstrip("/")
    return "".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}", n=3))


def check_and_apply(diff: str, before: list[str], where: Path) -> list[str]:
    """Parse ``diff`` with unidiff, check every hunk at fuzz 0 and that only the command names change, apply it."""
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
        result += before[taken:start]
        result += [line.value for line in hunk if line.is_context or line.is_added]
        taken = start + len(source)
    return result + before[taken:]


class IptablesPath:
    name = "iptables-path"
    summary = "quantum's iptables_manager.py runs 'iptables'/'ip6tables', not /sbin/... (Bug 877337)"

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
