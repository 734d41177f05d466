"""The demo archive's iproute2 tree stands in for the real 3.6.0 one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# iproute2 v3.6.0 ip/ipnetns.c, lines 151-167 (DESIGN.md section 1 and the seed's hunks).
V360_LINES_151_167 = [
    "\tif (unshare(CLONE_NEWNS) < 0) {",
    '\t\tfprintf(stderr, "unshare failed: %s\\n", strerror(errno));',
    "\t\treturn -1;",
    "\t}",
    "\t/* Mount a version of /sys that describes the network namespace */",
    '\tif (umount2("/sys", MNT_DETACH) < 0) {',
    '\t\tfprintf(stderr, "umount of /sys failed: %s\\n", strerror(errno));',
    "\t\treturn -1;",
    "\t}",
    '\tif (mount(name, "/sys", "sysfs", 0, NULL) < 0) {',
    '\t\tfprintf(stderr, "mount of /sys failed: %s\\n",strerror(errno));',
    "\t\treturn -1;",
    "\t}",
    "",
    "\t/* Setup bind mounts for config files in /etc */",
    "\tbind_etc(name);",
    "",
]


def test_ipnetns_keeps_v360_line_numbers(demo_tree: Path) -> None:
    lines = (demo_tree / "ip" / "ipnetns.c").read_text().splitlines()
    assert lines[150:167] == V360_LINES_151_167


@pytest.mark.parametrize("patch", ["iproute-3.6.0-netns-keep-sys.patch", "iproute-3.6.0-netns-make-rslave.patch"])
def test_shipped_patch_applies_with_patch_p1_at_fuzz_0(
    patch: str, demo_tree: Path, project_root: Path, tmp_path: Path, need_tool
) -> None:
    need_tool("patch", "make", "gcc")
    tree = tmp_path / "iproute2-3.6.0"
    shutil.copytree(demo_tree, tree)
    patch_file = project_root / "patches" / patch
    result = subprocess.run(
        ["patch", "-p1", "-F0", "--no-backup-if-mismatch", "-i", str(patch_file)],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offset" not in result.stdout and "fuzz" not in result.stdout
    build = subprocess.run(["make"], cwd=tree, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert (tree / "ip" / "ip").exists()
