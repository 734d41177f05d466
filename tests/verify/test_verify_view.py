"""Check "view": tells the seed's workaround (host's /sys) from upstream's fix (only lo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netnsfix.verify.harness import staged_as_ip
from netnsfix.verify.report import Status
from netnsfix.verify.view import HOST, OWN, ViewCheck, classify

pytestmark = pytest.mark.root


def view_of(binary: Path):
    with staged_as_ip(binary) as ip:
        return ViewCheck().run(ip)


def test_seed_variant_sees_the_hosts_interfaces(need_root, variants: dict[str, Path]) -> None:
    result = view_of(variants["seed"])
    assert result.status is Status.INFO
    host = set(os.listdir("/sys/class/net"))
    assert set(result.view) - {"lo"}, "the host has interfaces besides lo"
    assert set(result.view) & (host - {"lo"})
    assert result.summary.startswith("host's /sys")


@pytest.mark.parametrize("which", ["upstream", "debian"])
def test_upstream_fix_sees_only_lo(need_root, variants: dict[str, Path], debian_ip: Path, which: str) -> None:
    result = view_of(variants["upstream"] if which == "upstream" else debian_ip)
    assert result.status is Status.INFO
    assert result.view == ("lo",)
    assert result.summary.startswith("own /sys")


def test_classify() -> None:
    assert classify(("lo",), ("eth0", "lo")) == OWN
    assert classify(("eth0", "lo"), ("eth0", "lo", "veth1")) == HOST
    assert classify(("weird0", "lo"), ("eth0", "lo")) == "other"
