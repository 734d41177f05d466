"""The proof of the fix, written once: what to observe, and the rules that judge it.

Bug 882047 (iproute 3.6.0's ``ip netns exec`` unmounts the caller's /sys and
with it /sys/fs/cgroup, so systemd can start no unit) and Bug 881741 (an
agent with ``PrivateTmp=true`` makes namespaces nobody outside it can enter)
are proven the same way on a node (the module ``netnsfix.node.verify``, Python
2.7) and in the harness (``netnsfix verify``, which gathers the same text in
its container and judges it here, on the controller).

Gathering is two shell scripts with only what Fedora 18 has (sh, coreutils
8.17, util-linux 2.22, iproute 3.6.0, systemd 197: no nsenter, no
systemd-run, no is-system-running), run through a runner seam (argv -> rc,
out, err). Every line the tools under test print is quoted ``| `` so it cannot
pass for a mark. Judging is pure: each rule is one function from the raw
observations to a :data:`Finding` (pass, fail, no-answer, or skip when the
observation was not asked for). A pass needs positive evidence: the namespace
really made (a file bound to a network namespace), ``ip netns exec`` really
entered it (the probe's inode equal to it and not the outside shell's), only
a fresh namespace's interfaces inside, /sys and /sys/fs/cgroup unchanged, the
probe unit started.

Old kernels (Fedora 18 released with 3.6.10): before 3.8 ``/proc/self/ns/net``
is no ``net:[inode]`` symlink (readlink fails), and before 3.19 a namespace
file bound at /run/netns/NAME is a ``proc`` mount, not ``nsfs``. There, with
the kernel's own version (``uname -r``) as the reason, the proof takes other
positive evidence: the ``proc`` bind mount at /run/netns/NAME (made), and a
marker, a veth pair ``nnfXXXXXXXXa``/``b`` (iproute 3.6's ``ip link add ...
type veth peer name ...``) that one ``ip netns exec NAME`` creates inside:
the probe run by a second ``ip netns exec NAME`` must list both in its
/proc/net/dev while the outside's /proc/net/dev lists neither (entered the
namespace made, not the outside's nor some fresh one). The mount rules read
mountinfo, which every kernel has. On a newer kernel nothing of this is asked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # Ansible's convention for module_utils

import collections
import random

MYPY = False
if MYPY:  # for mypy only: Python 2.7 on a node has no typing module
    from typing import Callable

    Runner = Callable[[list], tuple]

PASS, FAIL, NO_ANSWER, SKIP, INFO = "pass", "fail", "no-answer", "skip", "info"
SYS = "/sys"
CGROUP = "/sys/fs/cgroup"
MARK = "@@netnsfix"
QUOTE = "| "
# Devices every new network namespace gets when their modules are loaded (a GRE node has gre0 in each).
FALLBACK_DEVICES = frozenset(
    ["lo", "sit0", "ip6tnl0", "gre0", "gretap0", "ip6gre0", "tunl0", "erspan0", "ip_vti0", "ip6_vti0"]
)

# One rule's answer: rule name, PASS/FAIL/NO_ANSWER/SKIP, and the evidence in one line.
Finding = collections.namedtuple("Finding", "rule status text")
Step = collections.namedtuple("Step", "rc output")
NetnsFile = collections.namedtuple("NetnsFile", "path inode kind")
# A check's answer: PASS/FAIL/NO_ANSWER, a one-line summary, the problems, every rule's Finding.
Verdict = collections.namedtuple("Verdict", "status summary problems findings")


class Mount(collections.namedtuple("Mount", "mount_id mount_point fstype source device root")):
    """One line of mountinfo, reduced to what identifies a mount."""

    __slots__ = ()

    def describe(self):
        # type: () -> str
        return "%s (%s %s, id %d)" % (self.mount_point, self.fstype, self.device, self.mount_id)

    def same(self, other):
        # type: (Mount) -> bool
        """The same mount, not just one at the same place (ids are reused quickly)."""
        return (self.mount_id, self.mount_point, self.fstype, self.device) == (
            other.mount_id,
            other.mount_point,
            other.fstype,
            other.device,
        )


# --- mountinfo ------------------------------------------------------------------------------------


def _unescape(field):
    # type: (str) -> str
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text):
    # type: (str) -> tuple
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


def under(mounts, top=SYS):
    # type: (tuple, str) -> tuple
    """The mounts at ``top`` or below it, in table order."""
    return tuple(m for m in mounts if m.mount_point == top or m.mount_point.startswith(top + "/"))


def _visible(mounts, point):
    # type: (tuple, str) -> Mount | None
    """The mount that is visible at ``point`` (the last one mounted there)."""
    found = [m for m in mounts if m.mount_point == point]
    return found[-1] if found else None


def sys_damage(before, after):
    # type: (tuple, tuple) -> tuple
    """What changed under /sys that Bug 882047 breaks; empty when /sys survived.

    /sys must be the same mount (same id) as before, and /sys/fs/cgroup with
    every hierarchy that was under it must still be mounted.
    """
    problems = []
    sys_before, sys_after = _visible(before, SYS), _visible(after, SYS)
    if sys_before is not None:
        if sys_after is None:
            problems.append("/sys is gone: nothing is mounted there any more")
        elif not sys_after.same(sys_before):
            problems.append("/sys was replaced: %s before, %s after" % (sys_before.describe(), sys_after.describe()))
    after_points = set((m.mount_point, m.fstype) for m in after)
    lost = [m for m in under(before, CGROUP) if (m.mount_point, m.fstype) not in after_points]
    if lost:
        problems.append("%d cgroup mount(s) gone: %s" % (len(lost), ", ".join(m.mount_point for m in lost)))
    return tuple(problems)


def short(problem):
    # type: (str) -> str
    """The part of a problem before its first ': ' (problems read "what: details")."""
    return problem.split(": ", 1)[0]


def ns_inode(text):
    # type: (str) -> int | None
    """``net:[4026531992]`` -> 4026531992 (None for anything else)."""
    text = text.strip()
    if text.startswith("net:[") and text.endswith("]") and text[5:-1].isdigit():
        return int(text[5:-1])
    return None


def kernel_version(text):
    # type: (str) -> tuple | None
    """``3.6.10-4.fc18.x86_64`` -> (3, 6) (None when ``uname -r`` said nothing readable)."""
    parts = text.strip().split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = ""
    for char in parts[1]:
        if not char.isdigit():
            break
        minor += char
    return (int(parts[0]), int(minor)) if minor else None


NS_SYMLINKS_SINCE = (3, 8)  # /proc/PID/ns/* became net:[inode] symlinks (proc_ns_follow_link)
NSFS_SINCE = (3, 19)  # namespace files moved from proc to their own nsfs


def _one_line(text, limit=300):
    # type: (str, int) -> str
    return " ".join(text.split())[:limit] or "no output"


# --- the scenario's raw text, section by section --------------------------------------------------


class Trace(collections.namedtuple("Trace", "netns sections")):
    """Everything a gathering script printed: ``sections`` maps a mark's name to its :data:`Step`."""

    __slots__ = ()

    def step(self, name):
        # type: (str) -> Step
        return self.sections.get(name, Step(None, ""))

    def text(self, name):
        # type: (str) -> str
        return self.step(name).output.strip()

    def ran(self, name):
        # type: (str) -> bool
        return self.step(name).rc == 0

    @property
    def complete(self):
        # type: () -> bool
        return "end" in self.sections

    def describe(self, name):
        # type: (str) -> str
        step = self.step(name)
        return "%s exited %s: %s" % (name, step.rc, _one_line(step.output))

    def probe_lines(self, prefix):
        # type: (str) -> tuple
        """The probe's lines that start with ``prefix`` (``netns ``, ``sys ``, ``dev ``), prefix cut off."""
        lines = self.step("probe").output.splitlines()
        return tuple(line[len(prefix) :].strip() for line in lines if line.startswith(prefix))

    @property
    def view(self):
        # type: () -> tuple
        """What the probe listed in /sys/class/net."""
        return tuple(sorted(name for name in self.probe_lines("sys ") if name and name != "*"))

    @property
    def devices(self):
        # type: () -> tuple
        """What the probe's /proc/net/dev listed (the network namespace it ran in, whatever /sys shows)."""
        return tuple(sorted(name for name in self.probe_lines("dev ") if name))

    @property
    def kernel(self):
        # type: () -> tuple | None
        """The kernel's (major, minor) from ``uname -r`` (None when not asked or unreadable)."""
        return kernel_version(self.text("kernel"))

    @property
    def marker(self):
        # type: () -> tuple
        """The veth pair's two names the scenario makes inside on a kernel < 3.8."""
        stem = "nnf" + self.netns.rsplit("-", 1)[-1][:8]
        return (stem + "a", stem + "b")

    def old_kernel(self, since):
        # type: (tuple) -> bool
        """The kernel said it is older than ``since`` (an unknown kernel is not old: no evidence is waived)."""
        return self.kernel is not None and self.kernel < since

    @property
    def leftovers(self):
        # type: () -> tuple
        return tuple(line for line in self.step("leftovers").output.splitlines() if line.strip())


_STEPS = ("setup", "add", "probe", "delete", "unit")


def parse_output(netns, text):
    # type: (str, str) -> Trace
    """A gathering script's output -> :class:`Trace` (a quoted line never counts as a mark)."""
    sections = {}  # type: dict
    current = [None, [], None]  # type: list

    def close():
        # type: () -> None
        name, lines, code = current
        if name is not None:
            done = code is not None or name in _STEPS
            sections[name] = Step(code if done else 0, "\n".join(lines))

    for line in text.splitlines():
        if line.startswith(MARK + "-rc "):
            word = line.split()[1] if len(line.split()) > 1 else ""
            current[2] = int(word) if word.lstrip("-").isdigit() else None
        elif line.startswith(MARK + " "):
            close()
            current[:] = [line.split(" ", 1)[1].strip(), [], None]
        else:
            current[1].append(line[len(QUOTE) :] if line.startswith(QUOTE) else line)
    close()
    return Trace(netns, sections)


# --- Bug 882047: ip netns add/exec/delete, then a probe unit ---------------------------------------

# Folders the scenarios may create (ip netns add makes /run/netns, modern ip bind-mounts it on itself): the ones
# not there at the start are removed at the end when empty, so the node is left as found.
TIDY = r"""
new_dirs=
for d in /run/netns /run/systemd/system; do [ -e "$d" ] || new_dirs="$new_dirs $d"; done
tidy() {
  for d in $new_dirs; do
    [ -d "$d" ] && [ -z "$(ls -A "$d" 2>/dev/null)" ] || continue
    grep -q " $d " /proc/self/mountinfo && umount "$d" 2>/dev/null
    rmdir "$d" 2>/dev/null
  done
}
"""
# The probe ip netns exec runs: its namespace, what /sys shows, what the namespace's own /proc/net/dev lists.
PROBE = (
    'echo "netns $(readlink /proc/self/ns/net 2>&1)"; for d in /sys/class/net/*; do echo "sys ${d##*/}"; done; '
    "sed -n '3,$s/^ *\\([^:]*\\):.*/dev \\1/p' /proc/net/dev"
)
# $1 ip, $2 netns name, $3 mode (node: as found; harness: / made rshared as systemd does; harness-private-run:
# also a tmpfs on /run and /var/run), $4 a probe unit to start afterwards ("" for none), $5 the probe.
SCENARIO = (
    TIDY
    + r"""
ip=$1 ns=$2 mode=$3 unit=$4 probe=$5
mark() { echo "@@netnsfix $1"; }
rc() { echo "@@netnsfix-rc $1"; }
quoted() { [ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/| /'; }
files() {
  for f in "/run/netns/$ns" "/var/run/netns/$ns"; do
    if [ -e "$f" ] || [ -L "$f" ]; then stat -c '%i|%F|%n' "$f" 2>&1; fi
  done
}
T=; command -v timeout >/dev/null 2>&1 && T="timeout 20"
mark setup
if [ "$mode" != node ]; then
  mount --make-rshared / 2>&1 || { rc 1; exit 0; }
fi
if [ "$mode" = harness-private-run ]; then
  mount -t tmpfs -o mode=0755 netnsfix-run /run 2>&1 || { rc 1; exit 0; }
  if [ -d /var/run ] && [ ! -L /var/run ]; then
    mount -t tmpfs -o mode=0755 netnsfix-run /var/run 2>&1 || { rc 1; exit 0; }
  fi
fi
rc 0
mark self; readlink /proc/self/ns/net 2>&1
mark before; cat /proc/self/mountinfo
mark add; o=$($T "$ip" netns add "$ns" 2>&1); r=$?; quoted "$o"; rc $r
mark added; cat /proc/self/mountinfo
mark added-files; files
mark kernel; uname -r
if ! readlink /proc/self/ns/net >/dev/null 2>&1; then
  mk=nnf$(printf '%s' "${ns##*-}" | cut -c1-8)
  mark marker; o=$($T "$ip" netns exec "$ns" "$ip" link add "${mk}a" type veth peer name "${mk}b" 2>&1); r=$?
  quoted "$o"; rc $r
  mark outside-dev; sed -n '3,$s/^ *\([^:]*\):.*/\1/p' /proc/net/dev
fi
mark probe; o=$($T "$ip" netns exec "$ns" /bin/sh -c "$probe" 2>&1); r=$?; quoted "$o"; rc $r
mark delete; o=$($T "$ip" netns delete "$ns" 2>&1); r=$?; quoted "$o"; rc $r
mark after; cat /proc/self/mountinfo
mark deleted-files; files
mark leftovers; ls -A /run/netns /var/run/netns 2>/dev/null | grep -v ':$' | grep -Fx "$ns"
if [ -n "$unit" ]; then
  f=/run/systemd/system/$unit
  mkdir -p /run/systemd/system
  printf '[Unit]\nDescription=netnsfix verify: can systemd still start a unit\n\n' >"$f"
  printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >>"$f"
  # its own mark: what daemon-reload says must not land in the leftovers above (systemd 197 cut off by the
  # unpatched ip says "Failed to get D-Bus connection", which read as a namespace left in /run/netns)
  mark unit-reload; systemctl daemon-reload 2>&1
  mark unit; o=$($T systemctl start "$unit" 2>&1); r=$?; quoted "$o"; rc $r
  mark unit-result; systemctl show -p Result -p ExecMainStatus "$unit" 2>&1
  systemctl stop "$unit" >/dev/null 2>&1; rm -f "$f"; systemctl daemon-reload >/dev/null 2>&1
fi
tidy
mark end
"""
)


def new_name(prefix):
    # type: (str) -> str
    """A fresh name for a test namespace or unit (8 hex digits)."""
    return "%s-%08x" % (prefix, random.getrandbits(32))


def scenario_argv(ip, netns, mode="node", unit=""):
    # type: (str, str, str, str) -> list
    """The argv that runs :data:`SCENARIO` (``sh -c``) on the node or in the harness's container."""
    return ["/bin/sh", "-c", SCENARIO, "netnsfix-verify", ip, netns, mode, unit, PROBE]


def _files(text):
    # type: (str) -> tuple
    found = []
    for line in text.splitlines():
        inode, sep, rest = line.partition("|")
        kind, sep2, path = rest.partition("|")
        if sep and sep2:
            found.append(NetnsFile(path, int(inode) if inode.isdigit() else None, kind))
    return tuple(found)


def _at_place(trace, mounts):
    # type: (Trace, tuple) -> tuple
    places = ("/run/netns/" + trace.netns, "/var/run/netns/" + trace.netns)
    return tuple(m for m in mounts if m.mount_point in places)


def made_namespace(trace):
    # type: (Trace) -> int | None
    """The inode of the network namespace bound at /run/netns/NAME after ``ip netns add`` (None: none)."""
    mounts = _at_place(trace, parse_mountinfo(trace.step("added").output))
    bound = set(_bound_inode(m, trace.old_kernel(NSFS_SINCE)) for m in mounts)
    inodes = set(f.inode for f in _files(trace.step("added-files").output))
    found = sorted(i for i in bound & inodes if i is not None)
    return found[0] if found else None


def _bound_inode(mount, proc_too=False):
    # type: (Mount, bool) -> int | None
    """The network namespace a mount at /run/netns/NAME holds (nsfs, root ``net:[N]``; ``proc_too``: a kernel
    before 3.19, where the namespace file is a ``proc`` mount)."""
    return ns_inode(mount.root) if mount.fstype == "nsfs" or (proc_too and mount.fstype == "proc") else None


def proc_bound(trace, mountinfo, files=True):
    # type: (Trace, str, bool) -> Mount | None
    """Kernel < 3.8 only: the ``proc`` bind mount of a namespace file at /run/netns/NAME (with a file there)."""
    if not trace.old_kernel(NS_SYMLINKS_SINCE) or ns_inode(trace.text("self")) is not None:
        return None
    mounts = [m for m in _at_place(trace, parse_mountinfo(mountinfo)) if m.fstype == "proc" and m.source == "proc"]
    if not mounts or (files and not _files(trace.step("added-files").output)):
        return None
    return mounts[-1]


def marker_entered(trace):
    # type: (Trace) -> str
    """Kernel < 3.8: "" when the probe saw the veth pair made inside and the outside did not; else why not."""
    if trace.step("marker").rc != 0:
        return "could not make the marker veth pair inside: " + trace.describe("marker")
    inside, outside = set(trace.devices), set(trace.text("outside-dev").split())
    missing = [name for name in trace.marker if name not in inside]
    if missing:
        return "the probe's /proc/net/dev lacks %s, made inside %s: ip netns exec ran it elsewhere" % (
            ", ".join(missing),
            trace.netns,
        )
    seen = [name for name in trace.marker if name in outside]
    if seen:
        return "the outside's /proc/net/dev lists %s too: the marker is not inside a namespace of its own" % (
            ", ".join(seen)
        )
    return ""


def outside_inode(trace):
    # type: (Trace) -> int | None
    return ns_inode(trace.text("self"))


def entered_inode(trace):
    # type: (Trace) -> int | None
    found = trace.probe_lines("netns ")
    return ns_inode(found[0]) if found else None


def _finding(rule, problem, evidence, status=NO_ANSWER):
    # type: (str, str, str, str) -> Finding
    return Finding(rule, status, problem) if problem else Finding(rule, PASS, evidence)


def rule_setup(trace):
    # type: (Trace) -> Finding
    problem = "" if trace.ran("setup") else "could not prepare the mount namespace: " + trace.describe("setup")
    return _finding("setup", problem, "the scenario's setup exited 0")


def rule_added(trace):
    # type: (Trace) -> Finding
    problem = "" if trace.ran("add") else "ip netns add failed: " + trace.describe("add")
    return _finding("netns-add", problem, "ip netns add %s exited 0" % trace.netns)


def rule_made(trace):
    # type: (Trace) -> Finding
    """Made: the file at /run/netns/NAME is bound to a network namespace, not the outside shell's."""
    where = "/run/netns/" + trace.netns
    files = _files(trace.step("added-files").output)
    made, outside = made_namespace(trace), outside_inode(trace)
    problem = ""
    if not files:
        problem = "after ip netns add nothing is at %s: no namespace was made" % where
    elif made is None and proc_bound(trace, trace.step("added").output) is not None:
        mount = proc_bound(trace, trace.step("added").output)
        assert mount is not None  # for mypy: just tested
        return Finding(
            "netns-made",
            PASS,
            "%s is a proc bind mount of a namespace file (mount id %d; kernel %s: namespace files are proc mounts "
            "before 3.19 and no net:[inode] symlinks before 3.8)" % (where, mount.mount_id, trace.text("kernel")),
        )
    elif made is None:
        nsfs = [m for m in _at_place(trace, parse_mountinfo(trace.step("added").output)) if m.fstype == "nsfs"]
        if nsfs:
            problem = "%s is bound to %s, not to a network namespace" % (where, ", ".join(m.root for m in nsfs))
        else:
            problem = "%s is a %s, not bound to a namespace (no nsfs mount there)" % (where, files[0].kind)
    elif made == outside:
        problem = "%s is the harness's own network namespace net:[%s]: no new one was made" % (where, outside)
    return _finding("netns-made", problem, "%s is bound to net:[%s] (outside: net:[%s])" % (where, made, outside))


def rule_entered(trace):
    # type: (Trace) -> Finding
    """Entered: the probe under ``ip netns exec`` ran in exactly the namespace made, not the outside's."""
    entered, outside, made = entered_inode(trace), outside_inode(trace), made_namespace(trace)
    problem = ""
    if outside is None and trace.old_kernel(NS_SYMLINKS_SINCE):
        problem = marker_entered(trace)
        return _finding(
            "netns-exec",
            problem,
            "ip netns exec ran the probe in the namespace made: its /proc/net/dev lists %s, made there by an "
            "earlier ip netns exec; the outside's does not (kernel %s: no net:[inode] readlink)"
            % ("/".join(trace.marker), trace.text("kernel")),
        )
    if entered is None:
        problem = "ip netns exec did not run the probe (it printed no namespace of its own)"
    elif entered == outside:
        problem = "ip netns exec ran the probe in the harness's own network namespace net:[%s]" % entered
    elif made is not None and entered != made:
        problem = "ip netns exec ran the probe in net:[%s], not in net:[%s]" % (entered, made)
    return _finding(
        "netns-exec", problem, "ip netns exec ran the probe in net:[%s], outside is net:[%s]" % (entered, outside)
    )


def rule_fresh(trace):
    # type: (Trace) -> Finding
    """Fresh: the probe's /proc/net/dev lists only what a new namespace has (lo, fallback tunnels)."""
    devices = trace.devices
    marker = trace.marker if "marker" in trace.sections else ()
    extra = [name for name in devices if name not in FALLBACK_DEVICES and name not in marker]
    problem = ""
    if entered_inode(trace) is None and not (marker and not marker_entered(trace)):
        return Finding("netns-devices", SKIP, "the probe did not run")
    if "lo" not in devices:
        problem = "the probe's /proc/net/dev lists %s, not even lo" % (", ".join(devices) or "nothing")
    elif extra:
        problem = "the probe's /proc/net/dev lists %s: not a fresh network namespace" % ", ".join(devices)
    return _finding("netns-devices", problem, "inside, /proc/net/dev lists only %s" % ", ".join(devices))


def rule_sys_kept(trace):
    # type: (Trace) -> Finding
    """/sys is the same mount after ``ip netns exec``, and every cgroup hierarchy under it is still there."""
    before = under(parse_mountinfo(trace.step("before").output))
    after = under(parse_mountinfo(trace.step("after").output))
    if not before:
        return Finding("mounts", NO_ANSWER, "nothing was mounted at /sys before the test: nothing to keep")
    damage = sys_damage(before, after)
    if damage:
        return Finding("mounts", FAIL, "; ".join(damage))
    kept = len(under(before, CGROUP))
    return Finding("mounts", PASS, "/sys kept, %d mount(s) under /sys/fs/cgroup kept" % kept)


def rule_unit_started(trace):
    # type: (Trace) -> Finding
    """After ``ip netns exec``, systemd still starts a unit (3.6.0's damage makes it fail: 219/CGROUP)."""
    if "unit" not in trace.sections:
        return Finding("systemd-start", SKIP, "no probe unit asked for")
    if trace.ran("unit"):
        return Finding("systemd-start", PASS, "systemd started the probe unit after ip netns exec")
    result = " ".join(trace.text("unit-result").split())
    why = ", 219/CGROUP: systemd cannot put the unit in a cgroup" if "ExecMainStatus=219" in result else ""
    text = "the probe unit did not start: systemctl start exited %s (%s%s): %s" % (
        trace.step("unit").rc,
        result or "no result",
        why,
        _one_line(trace.step("unit").output, 200),
    )
    return Finding("systemd-start", FAIL, text)


def rule_exec_ran(trace):
    # type: (Trace) -> Finding
    problem = "" if trace.ran("probe") else "ip netns exec failed: " + trace.describe("probe")
    return _finding("netns-exec-exit", problem, "ip netns exec exited 0")


def rule_delete_ran(trace):
    # type: (Trace) -> Finding
    problem = "" if trace.ran("delete") else "ip netns delete failed: " + trace.describe("delete")
    return _finding("netns-delete", problem, "ip netns delete exited 0")


def rule_deleted(trace):
    # type: (Trace) -> Finding
    """Deleted: nothing is left at /run/netns/NAME, neither file nor mount."""
    left = [f.path for f in _files(trace.step("deleted-files").output)]
    left += [m.mount_point + " (mounted)" for m in _at_place(trace, parse_mountinfo(trace.step("after").output))]
    left += ["%s in /run/netns" % name for name in trace.leftovers if "/run/netns/" + name not in left]
    problem = ""
    if left:
        unique = []  # type: list
        for item in left:
            if item not in unique:
                unique.append(item)
        problem = "ip netns delete left %s" % ", ".join(unique)
    return _finding("netns-deleted", problem, "nothing left at /run/netns/" + trace.netns)


def rule_complete(trace):
    # type: (Trace) -> Finding
    return _finding("complete", "" if trace.complete else "the scenario stopped early", "the scenario ran to its end")


# Rules in three groups: evidence (without it neither verdict), damage (the bug), cleanup (a pass needs it).
EVIDENCE_RULES = (rule_setup, rule_added, rule_made, rule_entered, rule_fresh)
DAMAGE_RULES = (rule_sys_kept, rule_unit_started)
CLEANUP_RULES = (rule_exec_ran, rule_delete_ran, rule_deleted, rule_complete)
VIEW_RULES = (rule_setup, rule_added, rule_exec_ran, rule_made, rule_entered, rule_fresh, rule_deleted)


def no_evidence(missing):
    # type: (tuple) -> str
    """The summary of a check that cannot answer because ip did not prove it did the job."""
    return "no evidence that ip did the job: " + "; ".join(missing)


def judge_namespace(trace):
    # type: (Trace) -> Verdict
    """Bug 882047's verdict on one scenario: neither pass nor fail without proof ip made and entered."""
    findings = tuple(rule(trace) for rule in EVIDENCE_RULES + DAMAGE_RULES + CLEANUP_RULES)
    by = dict((f.rule, f) for f in findings)
    for early in ("setup", "netns-add"):
        if by[early].status != PASS:
            return Verdict(NO_ANSWER, by[early].text, (), findings)
    unproven = tuple(f.text for f in findings[2 : len(EVIDENCE_RULES)] if f.status == NO_ANSWER)
    if unproven:
        return Verdict(NO_ANSWER, no_evidence(unproven), unproven, findings)
    problems = ()  # type: tuple
    if by["mounts"].status == FAIL:
        problems += tuple(by["mounts"].text.split("; "))
    if by["systemd-start"].status == FAIL:
        problems += (by["systemd-start"].text,)
    if problems:
        if by["netns-deleted"].status != PASS:
            problems += (by["netns-deleted"].text,)
        return Verdict(FAIL, "; ".join(short(p) for p in problems), problems, findings)
    for finding in findings:
        if finding.status == NO_ANSWER:
            problems = (finding.text,) if finding.rule in ("netns-deleted",) else ()
            summary = no_evidence((finding.text,)) if finding.rule == "netns-deleted" else finding.text
            return Verdict(NO_ANSWER, summary, problems, findings)
    made = made_namespace(trace)
    what = "net:[%s]" % made if made is not None else "%s (proc mount, veth marker inside)" % trace.netns
    parts = [by["mounts"].text, "namespace %s made, entered and deleted" % what]
    if by["systemd-start"].status == PASS:
        parts.append("systemd started a unit afterwards")
    return Verdict(PASS, "; ".join(parts), (), findings)


def judge_view(trace):
    # type: (Trace) -> Verdict
    """The namespace's view counts only when the probe ran in the namespace ip made (else no answer)."""
    findings = tuple(rule(trace) for rule in VIEW_RULES)
    for finding in findings[:3]:
        if finding.status != PASS:
            return Verdict(NO_ANSWER, "could not look inside: " + finding.text.split(": ", 1)[-1], (), findings)
    missing = tuple(f.text for f in findings[3:] if f.status == NO_ANSWER)
    if missing:
        return Verdict(NO_ANSWER, no_evidence(missing), missing, findings)
    return Verdict(PASS, ", ".join(trace.view) or "nothing", (), findings)


# --- Bug 881741: a namespace made by a unit shaped like Quantum's agents ---------------------------

# The stand-in agent: ensure the router's namespace with the ip under test (as the l3 agent's ensure_namespace
# does), say so, then keep running. Fedora 18's coreutils may not take "sleep infinity": loop instead.
# On a kernel < 3.8 (no net:[inode] readlink) the agent also makes the marker veth pair inside its namespace.
AGENT = r"""ip=$1 ns=$2 state=$3
if [ -e "/run/netns/$ns" ]; then rc=exists; else "$ip" netns add "$ns" >"$state.out" 2>&1; rc=$?
  if [ "$rc" = 0 ] && ! readlink /proc/self/ns/net >/dev/null 2>&1; then
    mk=nnf$(printf '%s' "${ns##*-}" | cut -c1-8)
    "$ip" netns exec "$ns" "$ip" link add "${mk}a" type veth peer name "${mk}b" >>"$state.out" 2>&1 || rc=marker
  fi
fi
echo "$$ $rc" >"$state.tmp" && mv "$state.tmp" "$state"
while :; do sleep 3600; done
"""
# $1 ip, $2 netns, $3 unit, $4 the unit's PrivateTmp (yes/no), $5 a folder of its own, $6 drop-in name ("" none),
# $7 drop-in text, $8 the agent script. Installs the unit in /run/systemd/system, starts it, looks from outside,
# restarts it, looks again, removes everything it made.
PRIVATETMP = (
    TIDY
    + r"""
ip=$1 ns=$2 unit=$3 private=$4 dir=$5 dropin=$6 dropin_text=$7 agent=$8
mark() { echo "@@netnsfix $1"; }
rc() { echo "@@netnsfix-rc $1"; }
quoted() { [ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/| /'; }
state=$dir/state
u=/run/systemd/system/$unit
netprobe='readlink /proc/self/ns/net; sed -n "3,\$s/^ *\([^:]*\):.*/dev \1/p" /proc/net/dev'
mark kernel; uname -r
mkdir -p "$dir" /run/systemd/system && printf '%s' "$agent" >"$dir/agent" || { mark install; rc 1; exit 0; }
printf '[Unit]\nDescription=netnsfix verify: a unit shaped like a Quantum agent (Bug 881741)\n' >"$u"
printf 'After=syslog.target network.target\n\n[Service]\nType=simple\n' >>"$u"
printf 'ExecStart=/bin/sh %s %s %s %s\nPrivateTmp=%s\n' "$dir/agent" "$ip" "$ns" "$state" "$private" >>"$u"
if [ -n "$dropin" ]; then mkdir -p "$u.d" && printf '%s' "$dropin_text" >"$u.d/$dropin"; fi
look() {
  old=$2 i=0
  while :; do
    pid=$(systemctl show -p MainPID "$unit" 2>/dev/null | cut -d= -f2)
    if [ -s "$state" ] && [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ] &&
       [ "$(cut -d' ' -f1 "$state")" = "$pid" ]; then break; fi
    i=$((i+1)); [ $i -gt 200 ] && break
    sleep 0.1
  done
  mark "$1.active"; systemctl is-active "$unit" 2>&1
  mark "$1.privatetmp"; systemctl show -p PrivateTmp "$unit" 2>&1
  mark "$1.mainpid"; echo "$pid"
  mark "$1.agent"; cat "$state" 2>/dev/null
  mark "$1.add-output"; quoted "$(cat "$state.out" 2>/dev/null)"
  mark "$1.unit-view"; grep -F " /run/netns/$ns " "/proc/$pid/mountinfo" 2>/dev/null
  mark "$1.outside-view"; grep -F " /run/netns/$ns " /proc/self/mountinfo
  mark "$1.file"; ls -ln "/run/netns/$ns" 2>&1
  mark "$1.outside-netns"; readlink /proc/self/ns/net
  mark "$1.outside-dev"; sed -n '3,$s/^ *\([^:]*\):.*/\1/p' /proc/net/dev
  mark "$1.exec"; o=$(timeout 20 "$ip" netns exec "$ns" /bin/sh -c "$netprobe" 2>&1); r=$?; quoted "$o"; rc $r
  mark "$1.journal"; quoted "$(journalctl -u "$unit" --no-pager -n 5 2>&1 | tail -n 5)"
}
mark install; systemctl daemon-reload 2>&1; rc $?
mark start; o=$(systemctl start "$unit" 2>&1); r=$?; quoted "$o"; rc $r
[ "$r" = 0 ] && look "after start" ""
first=$pid
mark restart; o=$(systemctl restart "$unit" 2>&1); r=$?; quoted "$o"; rc $r
[ "$r" = 0 ] && look "after restart" "$first"
mark cleanup
systemctl stop "$unit" >/dev/null 2>&1
"$ip" netns delete "$ns" >/dev/null 2>&1
rm -rf "$u" "$u.d" "$dir"
systemctl daemon-reload 2>&1
[ -e "/run/netns/$ns" ] && { umount "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"; }
tidy
mark end
"""
)
LOOKS = ("after start", "after restart")


def privatetmp_argv(ip, netns, unit, private, folder, dropin_name="", dropin_text=""):
    # type: (str, str, str, str, str, str, str) -> list
    """The argv that runs :data:`PRIVATETMP` (``sh -c``) on the node or in the harness's container."""
    return [
        "/bin/sh",
        "-c",
        PRIVATETMP,
        "netnsfix-privatetmp",
        ip,
        netns,
        unit,
        private,
        folder,
        dropin_name,
        dropin_text,
        AGENT,
    ]


def _nsfs_line_inode(line, proc_too=False):
    # type: (str, bool) -> int | None
    mounts = parse_mountinfo(line)
    return _bound_inode(mounts[-1], proc_too) if mounts else None


def exec_answer(output):
    # type: (str) -> tuple
    """What the outside ``ip netns exec NAME`` probe printed: (its readlink line, the devices it listed)."""
    lines = [line.strip() for line in output.strip().splitlines()]
    devices = tuple(line[4:].strip() for line in lines if line.startswith("dev "))
    others = [line for line in lines if not line.startswith("dev ")]
    return (others[0] if others else ""), devices


def legacy_privatetmp(trace):
    # type: (Trace) -> bool
    """A kernel < 3.8 whose readlink gives no namespace: the marker, not the inode, is the evidence."""
    return trace.old_kernel(NS_SYMLINKS_SINCE) and ns_inode(trace.text(LOOKS[0] + ".outside-netns")) is None


def describe_mount_line(line):
    # type: (str) -> str
    if not line.strip():
        return "no mount at /run/netns/NAME"
    mounts = parse_mountinfo(line)
    if not mounts:
        return "unreadable mountinfo line %r" % line.strip()[:120]
    m = mounts[-1]
    return "%s %s mounted at %s (mount id %d)" % (m.fstype, m.root, m.mount_point, m.mount_id)


def _last(text):
    # type: (str) -> str
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def look_evidence(trace, when):
    # type: (Trace, str) -> tuple
    """One look's evidence lines, as an operator reads them."""

    def text(name):
        # type: (str) -> str
        return trace.text(when + "." + name)

    exec_step = trace.step(when + ".exec")
    readlink, devices = exec_answer(exec_step.output)
    return (
        "%s: systemd shows %s for %s (%s, MainPID %s, agent %s)"
        % (
            when,
            text("privatetmp") or "nothing",
            "the unit",
            text("active") or "no state",
            text("mainpid") or "?",
            text("agent") or "did not report",
        ),
        "%s: unit's view of /run/netns: %s" % (when, describe_mount_line(_last(text("unit-view")))),
        "%s: outside view of /run/netns: %s; file: %s"
        % (when, describe_mount_line(_last(text("outside-view"))), text("file") or "-"),
        "%s: outside ip netns exec ... readlink /proc/self/ns/net exited %s: %s (outside shell: %s)%s"
        % (
            when,
            exec_step.rc,
            _one_line(readlink if exec_step.rc == 0 and readlink else exec_step.output),
            text("outside-netns") or "?",
            "; its /proc/net/dev: %s" % ", ".join(devices) if exec_step.rc == 0 and devices else "",
        ),
    )


def rule_unit_ran(trace, when):
    # type: (Trace, str) -> Finding
    """The agent-like unit runs and its agent reported (else no answer)."""
    rule = "agent-running-" + when.split()[-1]
    step = trace.step("start" if when == LOOKS[0] else "restart")
    if step.rc != 0:
        verb = "start" if when == LOOKS[0] else "restart"
        return Finding(rule, NO_ANSWER, "could not %s the quantum-like unit: %s" % (verb, trace.describe(verb)))
    active, agent = trace.text(when + ".active"), trace.text(when + ".agent")
    if active != "active" or not agent:
        journal = _one_line(trace.text(when + ".journal"), 200)
        return Finding(rule, NO_ANSWER, "is not running %s (%s): %s" % (when, active or "no state", journal))
    return Finding(rule, PASS, "%s: the unit is active, its agent reported %s" % (when, agent))


def unit_namespace(trace):
    # type: (Trace) -> int | None
    return _nsfs_line_inode(_last(trace.text(LOOKS[0] + ".unit-view")), trace.old_kernel(NSFS_SINCE))


def unit_proc_mount(trace):
    # type: (Trace) -> Mount | None
    """Kernel < 3.8: the proc bind mount at /run/netns/NAME in the unit's own mount table."""
    if not legacy_privatetmp(trace):
        return None
    mounts = [m for m in parse_mountinfo(_last(trace.text(LOOKS[0] + ".unit-view"))) if m.fstype == "proc"]
    return mounts[-1] if mounts else None


def rule_unit_made(trace):
    # type: (Trace) -> Finding
    """Made: the unit's own mount table shows a network namespace bound at /run/netns/NAME."""
    inode = unit_namespace(trace)
    proc_mount = unit_proc_mount(trace) if inode is None else None
    if proc_mount is not None:
        return Finding(
            "agent-netns-made",
            PASS,
            "the unit bound a namespace file at /run/netns/%s (a proc mount, id %d; kernel %s: no nsfs, no "
            "net:[inode] readlink)" % (trace.netns, proc_mount.mount_id, trace.text("kernel")),
        )
    if inode is None:
        agent = trace.text(LOOKS[0] + ".agent").split()
        return Finding(
            "agent-netns-made",
            NO_ANSWER,
            "its ip netns add %s (exit %s: %s) made no namespace: no nsfs mount at /run/netns/%s in the unit's "
            "own mount namespace"
            % (
                trace.netns,
                agent[-1] if agent else "?",
                _one_line(trace.text(LOOKS[0] + ".add-output"), 120),
                trace.netns,
            ),
        )
    return Finding("agent-netns-made", PASS, "the unit bound net:[%d] at /run/netns/%s" % (inode, trace.netns))


def rule_outside_exec(trace, when):
    # type: (Trace, str) -> Finding
    """From outside the unit, ``ip netns exec`` enters the unit's namespace (fail: it cannot; no answer: it
    ran somewhere else)."""
    rule = "agent-netns-exec-" + when.split()[-1]
    inode = unit_namespace(trace)
    step = trace.step(when + ".exec")
    outside = trace.text(when + ".outside-netns")
    got, devices = exec_answer(step.output)
    if step.rc == 0 and legacy_privatetmp(trace):
        seen_outside = trace.text(when + ".outside-dev").split()
        missing = [name for name in trace.marker if name not in devices]
        leaked = [name for name in trace.marker if name in seen_outside]
        if missing or leaked:
            return Finding(
                rule,
                NO_ANSWER,
                "%s: ip netns exec %s from outside listed %s, not the marker %s the agent made inside%s"
                % (
                    when,
                    trace.netns,
                    ", ".join(devices) or "no devices",
                    "/".join(trace.marker),
                    " (the outside lists it too)" if leaked else "",
                ),
            )
        return Finding(
            rule,
            PASS,
            "%s: ip netns exec from outside entered the unit's namespace: it lists %s, which the agent made "
            "inside; the outside does not (kernel %s)" % (when, "/".join(trace.marker), trace.text("kernel")),
        )
    if step.rc == 0:
        if got != "net:[%s]" % inode or got == outside:
            return Finding(
                rule,
                NO_ANSWER,
                "%s: ip netns exec %s ran in %s, not in the unit's net:[%s] (outside shell: %s)"
                % (when, trace.netns, got or "nothing", inode, outside),
            )
        return Finding(
            rule, PASS, "%s: ip netns exec from outside entered net:[%s] (outside %s)" % (when, inode, outside)
        )
    view = _last(trace.text(when + ".outside-view"))
    seen = describe_mount_line(view) if view else "no mount, an empty file"
    return Finding(
        rule,
        FAIL,
        "%s: ip netns exec %s from outside exited %s: %s (outside sees %s; the unit has nsfs net:[%s]; %s)"
        % (when, trace.netns, step.rc, _one_line(step.output, 200), seen, inode, trace.text(when + ".privatetmp")),
    )


def judge_privatetmp(trace, unit_label="the quantum-like unit"):
    # type: (Trace, str) -> Verdict
    """Pass: exec from outside entered the unit's namespace after start and after restart; fail: it could not."""
    ran = tuple(rule_unit_ran(trace, when) for when in LOOKS)
    findings = (Finding("agent-unit", INFO, unit_label),) + ran  # type: tuple
    if not trace.complete or trace.step("install").rc != 0:
        return Verdict(NO_ANSWER, "the PrivateTmp scenario stopped early: " + trace.describe("install"), (), findings)
    for finding in ran:
        if finding.status != PASS:
            text = finding.text if finding.text.startswith("could not") else "%s %s" % (unit_label, finding.text)
            return Verdict(NO_ANSWER, text, (), findings)
    made = rule_unit_made(trace)
    findings += (made,)
    if made.status != PASS:
        return Verdict(NO_ANSWER, "%s: %s" % (unit_label, made.text), (), findings)
    execs = tuple(rule_outside_exec(trace, when) for when in LOOKS)
    findings += execs
    for finding in execs:
        if finding.status == NO_ANSWER:
            return Verdict(NO_ANSWER, finding.text, (), findings)
    privatetmp = trace.text(LOOKS[0] + ".privatetmp")
    failed = tuple(f.text for f in execs if f.status == FAIL)
    if failed:
        where = "after start and after restart" if len(failed) == 2 else short(failed[0])
        error = failed[0].split(": ", 2)[-1].split(" (outside sees")[0]
        summary = "%s: ip netns exec from outside the unit failed %s: %s" % (privatetmp, where, error)
        return Verdict(FAIL, summary, failed, findings)
    if legacy_privatetmp(trace):
        summary = (
            "%s: ip netns exec from outside entered the unit's namespace (marker %s) after start and after "
            "restart" % (privatetmp, "/".join(trace.marker))
        )
        return Verdict(PASS, summary, (), findings)
    summary = (
        "%s: ip netns exec from outside entered the unit's net:[%s] (outside shell %s) after start and after restart"
        % (
            privatetmp,
            unit_namespace(trace),
            trace.text(LOOKS[0] + ".outside-netns"),
        )
    )
    return Verdict(PASS, summary, (), findings)


def privatetmp_log(trace):
    # type: (Trace) -> tuple
    return tuple(line for when in LOOKS if (when + ".active") in trace.sections for line in look_evidence(trace, when))


# --- on the node: gather through a runner (argv -> rc, out, err), judge --------------------------


def privatetmp_of(runner, agent_unit):
    # type: (Runner, str) -> tuple
    """What systemd applies to the real agent: (``yes`` or ``no``, how that was found); ``no`` when the unit is
    not loaded or systemd did not answer (systemd 197 answers a unit it lacks with LoadState=error, exit 0)."""
    rc, out, err = runner(["systemctl", "show", "-p", "PrivateTmp", "-p", "LoadState", agent_unit])
    if rc != 0:
        return "no", "systemctl show %s exited %d: %s" % (agent_unit, rc, " ".join((err or out).split())[:200])
    shown = dict(line.strip().partition("=")[::2] for line in out.splitlines() if "=" in line)
    if shown.get("LoadState", "") != "loaded":
        return "no", "%s is not loaded here" % agent_unit
    return ("yes" if shown.get("PrivateTmp", "") in ("yes", "true", "1") else "no"), "as %s has it" % agent_unit


def verify_node(runner, ip="/sbin/ip", agent_unit="quantum-l3-agent.service"):
    # type: (Runner, str, str) -> dict
    """Run both proofs on this node and judge them; nothing of them is left behind.

    Returns {"checks": [{name, bug, status, summary, evidence: [...]}], "failed": first failing check or None}.
    """
    netns = new_name("netnsfix-verify")
    unit = new_name("netnsfix-probe") + ".service"
    _rc, out, err = runner(scenario_argv(ip, netns, "node", unit))
    bug882047 = judge_namespace(parse_output(netns, out + err))
    private, how = privatetmp_of(runner, agent_unit)
    agent_ns = new_name("netnsfix-agent")
    folder = "/run/" + new_name("netnsfix-verify")
    argv = privatetmp_argv(ip, agent_ns, new_name("netnsfix-agent") + ".service", private, folder)
    _rc, out, err = runner(argv)
    trace = parse_output(agent_ns, out + err)
    bug881741 = judge_privatetmp(trace, "the agent-like unit (PrivateTmp=%s, %s)" % (private, how))
    checks = [
        _check("netns", "882047", bug882047, ()),
        _check("privatetmp", "881741", bug881741, privatetmp_log(trace)),
    ]
    failed = [c for c in checks if c["status"] != PASS]
    return {"checks": checks, "failed": failed[0] if failed else None}


def _check(name, bug, verdict, log):
    # type: (str, str, Verdict, tuple) -> dict
    return {
        "name": name,
        "bug": bug,
        "status": verdict.status,
        "summary": verdict.summary,
        "problems": list(verdict.problems),
        "evidence": [{"rule": f.rule, "status": f.status, "text": f.text} for f in verdict.findings]
        + [{"rule": "log", "status": "log", "text": line} for line in log],
    }


def failure_line(result):
    # type: (dict) -> str
    """The one line a failed node reports: the first rule that did not pass, its check and bug, and why."""
    check = result.get("failed")
    if not check:
        return ""
    word = "FAIL" if check["status"] == FAIL else "no answer"
    bad = [e for e in check["evidence"] if e["status"] in (FAIL, NO_ANSWER)]
    rule = bad[0]["rule"] if bad else check["name"]
    return "%s %s (%s, Bug %s): %s" % (word, rule, check["name"], check["bug"], check["summary"])


def result_lines(result):
    # type: (dict) -> list
    """One line per rule, ``PASS rule: evidence`` (FAIL, NO-ANSWER; INFO for context), as the fleet prints them."""
    lines = []
    for check in result.get("checks", []):
        for entry in check["evidence"]:
            if entry["status"] in (PASS, FAIL, NO_ANSWER, INFO):
                lines.append("%s %s: %s" % (entry["status"].upper(), entry["rule"], entry["text"]))
    return lines
