"""Read /proc/self/mountinfo and say what Bug 882047 did to /sys.

Both the host-side check and the systemd check record the mount table before
and after ``ip netns exec``; this module turns the two tables into the
evidence an operator reads: which mounts under /sys went away or changed.
"""

from __future__ import annotations

from dataclasses import dataclass

SYS = "/sys"
CGROUP = "/sys/fs/cgroup"


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo, reduced to what identifies a mount."""

    mount_id: int
    mount_point: str
    fstype: str
    source: str
    device: str  # major:minor of the file system (a new sysfs gets a new one)
    root: str = ""  # what of that file system is mounted here (for a namespace file: "net:[INODE]")

    def describe(self) -> str:
        return f"{self.mount_point} ({self.fstype} {self.device}, id {self.mount_id})"

    def same(self, other: Mount) -> bool:
        """The same mount, not just one at the same place (ids are reused quickly)."""
        return (self.mount_id, self.mount_point, self.fstype, self.device) == (
            other.mount_id,
            other.mount_point,
            other.fstype,
            other.device,
        )


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse(text: str) -> tuple[Mount, ...]:
    """Every mount in a mountinfo text (malformed lines are skipped)."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 2 or not fields[0].isdigit():
            continue
        point, root = _unescape(fields[4]), _unescape(fields[3])
        mounts.append(Mount(int(fields[0]), point, tail[0], _unescape(tail[1]), fields[2], root))
    return tuple(mounts)


def under(mounts: tuple[Mount, ...], top: str = SYS) -> tuple[Mount, ...]:
    """The mounts at ``top`` or below it, in table order."""
    return tuple(m for m in mounts if m.mount_point == top or m.mount_point.startswith(top + "/"))


def _visible(mounts: tuple[Mount, ...], point: str) -> Mount | None:
    """The mount that is visible at ``point`` (the last one mounted there)."""
    found = [m for m in mounts if m.mount_point == point]
    return found[-1] if found else None


def sys_damage(before: tuple[Mount, ...], after: tuple[Mount, ...]) -> tuple[str, ...]:
    """What changed under /sys that Bug 882047 breaks; empty when /sys survived.

    /sys must be the same mount (same id) as before, and /sys/fs/cgroup with
    every hierarchy that was under it must still be mounted.
    """
    problems: list[str] = []
    sys_before, sys_after = _visible(before, SYS), _visible(after, SYS)
    if sys_before is not None:
        if sys_after is None:
            problems.append("/sys is gone: nothing is mounted there any more")
        elif not sys_after.same(sys_before):
            problems.append(f"/sys was replaced: {sys_before.describe()} before, {sys_after.describe()} after")
    after_points = {(m.mount_point, m.fstype) for m in after}
    lost = [m for m in under(before, CGROUP) if (m.mount_point, m.fstype) not in after_points]
    if lost:
        names = ", ".join(m.mount_point for m in lost)
        problems.append(f"{len(lost)} cgroup mount(s) gone: {names}")

    return tuple(problems)


def short(problem: str) -> str:
    """The part of a problem before its first ': ' (problems read "what: details")."""
    return problem.split(": ", 1)[0]
