"""The three ip variants come from one source and the shipped patches."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netnsfix.demo.ipvariants import build_named_variant, build_variant, variant_patch
from netnsfix.errors import PatchError


@pytest.mark.parametrize("name", ["unpatched", "seed", "upstream"])
def test_variant_builds_as_ip_and_is_cached(name: str, tmp_path: Path, need_tool) -> None:
    need_tool("gcc", "make", "patch")
    binary = build_named_variant(name, tmp_path)
    assert binary.name == "ip"
    version = subprocess.run([str(binary), "-V"], capture_output=True, text=True)
    assert "3.6.0" in version.stdout
    mtime = binary.stat().st_mtime_ns
    assert build_named_variant(name, tmp_path) == binary
    assert binary.stat().st_mtime_ns == mtime


def test_variants_differ(tmp_path: Path, need_tool) -> None:
    need_tool("gcc", "make", "patch")
    built = {build_named_variant(name, tmp_path).read_bytes() for name in ("unpatched", "seed", "upstream")}
    assert len(built) == 3


def test_upstream_variant_carries_the_rslave_message(tmp_path: Path, need_tool) -> None:
    need_tool("gcc", "make", "patch")
    assert b"mount --make-rslave / failed" in build_named_variant("upstream", tmp_path).read_bytes()
    assert b"mount --make-rslave / failed" not in build_named_variant("unpatched", tmp_path).read_bytes()


def test_a_patch_that_does_not_apply_is_one_error(tmp_path: Path, need_tool) -> None:
    need_tool("gcc", "make", "patch")
    bad = tmp_path / "bad.patch"
    bad.write_text("--- a/ip/ipnetns.c\n+++ b/ip/ipnetns.c\n@@ -1,1 +1,1 @@\n-no such line\n+other\n")
    with pytest.raises(PatchError, match=r"bad\.patch"):
        build_variant(bad, tmp_path / "out")
    assert not any((tmp_path / "out").glob("*/ip"))


def test_unknown_variant_is_an_error() -> None:
    with pytest.raises(PatchError, match="unknown ip variant"):
        variant_patch("nope")
