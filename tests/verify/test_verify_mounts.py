"""Check "mounts": in a private mount namespace, the bug's damage shows and the host is untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from verifykit import host_netns

from netnsfix.verify.harness import staged_as_ip
from netnsfix.verify.mounts import MountsCheck
from netnsfix.verify.report import Status
from netnsfix.verify.scenario import host_sys_mounts

pytestmark = pytest.mark.root


def run_mounts(binary: Path):
    with staged_as_ip(binary) as ip:
        return MountsCheck().run(ip)


def test_debian_ip_keeps_sys_and_every_cgroup(need_root, debian_ip: Path) -> None:
    result = run_mounts(debian_ip)
    assert result.status is Status.PASS, result
    points = [m.mount_point for m in result.sys_before]
    assert "/sys" in points and "/sys/fs/cgroup" in points
    assert result.sys_before == result.sys_after


def test_unpatched_ip_replaces_sys_and_loses_the_cgroups(need_root, variants: dict[str, Path]) -> None:
    before_host = host_sys_mounts()
    result = run_mounts(variants["unpatched"])
    assert result.status is Status.FAIL
    assert result.problems[0].startswith("/sys was replaced")
    cgroups = [m for m in result.sys_before if m.mount_point.startswith("/sys/fs/cgroup")]
    assert any(p.startswith(f"{len(cgroups)} cgroup mount(s) gone") for p in result.problems)
    # evidence: every cgroup hierarchy was there before and none is after
    assert any(m.mount_point == "/sys/fs/cgroup" for m in result.sys_before)
    assert not any(m.mount_point.startswith("/sys/fs/cgroup") for m in result.sys_after)
    # the damage stayed in the harness's namespace
    assert host_sys_mounts() == before_host


@pytest.mark.parametrize("name", ["seed", "upstream"])
def test_fixed_variants_pass(need_root, variants: dict[str, Path], name: str) -> None:
    result = run_mounts(variants[name])
    assert result.status is Status.PASS, result.problems
    assert result.summary.startswith("/sys kept")


def test_nothing_left_in_the_hosts_run_netns(need_root, variants: dict[str, Path], debian_ip: Path) -> None:
    before = host_netns()
    for binary in (variants["unpatched"], variants["upstream"], debian_ip):
        run_mounts(binary)
    assert host_netns() == before


def test_mounts_check_is_fast_enough_to_run_always(need_root, debian_ip: Path) -> None:
    # not a timing assertion (those live in bench/): the check finishes, and reports its steps
    result = run_mounts(debian_ip)
    assert [line.split()[0] for line in result.log] == ["add", "probe", "delete"]
