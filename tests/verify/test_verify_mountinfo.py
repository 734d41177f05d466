"""Reading mountinfo and telling what Bug 882047 did to /sys."""

from __future__ import annotations

from netnsfix.collection.plugins.module_utils.proof import parse_mountinfo as parse
from netnsfix.collection.plugins.module_utils.proof import sys_damage, under

BEFORE = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
47 22 0:22 / /sys rw,nosuid shared:2 - sysfs sysfs rw
48 47 0:28 / /sys/fs/cgroup rw shared:3 - tmpfs tmpfs rw
49 48 0:29 / /sys/fs/cgroup/cpu rw shared:4 - cgroup cgroup rw,cpu
50 48 0:37 / /sys/fs/cgroup/systemd rw shared:5 - cgroup cgroup rw,name=systemd
60 22 0:50 / /mnt/with\\040space rw - tmpfs my\\040tmp rw
"""
# What 3.6.0's ip leaves: /sys detached, a new sysfs (another device) in its place; the id is reused.
AFTER_BUG = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
47 22 0:40 / /sys rw shared:9 - sysfs netns rw
60 22 0:50 / /mnt/with\\040space rw - tmpfs my\\040tmp rw
"""


def test_parse_reads_points_types_devices_and_escapes() -> None:
    mounts = parse(BEFORE)
    assert [m.mount_point for m in mounts][-1] == "/mnt/with space"
    assert mounts[-1].source == "my tmp"
    assert mounts[1].fstype == "sysfs" and mounts[1].device == "0:22"
    assert [m.mount_point for m in under(mounts)] == [
        "/sys",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup/systemd",
    ]


def test_nothing_changed_is_no_damage() -> None:
    assert sys_damage(parse(BEFORE), parse(BEFORE)) == ()


def test_replaced_sys_is_caught_even_when_the_id_is_reused() -> None:
    problems = sys_damage(parse(BEFORE), parse(AFTER_BUG))
    assert problems[0].startswith("/sys was replaced")
    assert "0:22" in problems[0] and "0:40" in problems[0]
    assert problems[1].startswith("3 cgroup mount(s) gone")
    assert "/sys/fs/cgroup/systemd" in problems[1]


def test_sys_gone_altogether() -> None:
    after = "\n".join(line for line in BEFORE.splitlines() if "/sys" not in line)
    problems = sys_damage(parse(BEFORE), parse(after))
    assert problems[0].startswith("/sys is gone")


def test_malformed_lines_are_skipped() -> None:
    assert parse("garbage\n\n12 nonsense") == ()
