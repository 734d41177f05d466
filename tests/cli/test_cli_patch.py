"""netnsfix patch import / check, as a user runs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKAROUND = "iproute-3.6.0-netns-keep-sys.patch"


def netnsfix(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netnsfix", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def pasted(project_root: Path, tmp_path: Path) -> Path:
    """The workaround as notes print it: prose, a '# diff' line, .orig/.new names, timestamps, a bare blank line."""
    body = (project_root / "patches" / WORKAROUND).read_text().split("\n", 2)[2].replace("\n \n", "\n\n")
    path = tmp_path / "notes.txt"
    path.write_text(
        "My notes.\n\n# diff -uNr iproute2-3.6.0/ip/ipnetns.c.orig iproute2-3.6.0/ip/ipnetns.c.new\n"
        "--- iproute2-3.6.0/ip/ipnetns.c.orig\t2012-11-29 18:05:19.304832997 +0900\n"
        "+++ iproute2-3.6.0/ip/ipnetns.c.new\t2012-12-01 11:48:33.224793150 +0900\n"
        f"{body}\n(see Bug 882047)\n"
    )
    return path


def test_import_to_stdout(pasted: Path, project_root: Path, demo_tree: Path) -> None:
    result = netnsfix("patch", "import", pasted, "--source", demo_tree)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (project_root / "patches" / WORKAROUND).read_text()
    assert "normalized the pasted diff for ip/ipnetns.c" in result.stderr
    assert "ip/ipnetns.c  hunk 2  @@ -161,6 +162,7 @@  line 161  offset 0" in result.stderr


def test_import_to_a_file(pasted: Path, project_root: Path, demo_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "fixed.patch"
    result = netnsfix("patch", "import", pasted, "--source", demo_tree, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (project_root / "patches" / WORKAROUND).read_bytes()
    assert "restored the leading space of 1 blank context line in hunk 2" in result.stdout
    assert f"wrote {out}" in result.stdout


def test_import_that_fails_writes_nothing(pasted: Path, tmp_path: Path, demo_tree: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(demo_tree, tree)
    (tree / "ip" / "ipnetns.c").write_text(
        (tree / "ip" / "ipnetns.c").read_text().replace("bind_etc(name);", "bind_etc(x);")
    )
    out = tmp_path / "fixed.patch"
    result = netnsfix("patch", "import", pasted, "--source", tree, "-o", out)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "hunk #2" in result.stderr and str(pasted) in result.stderr
    assert not out.exists()


def test_check_prints_the_per_hunk_report(project_root: Path, demo_tree: Path) -> None:
    result = netnsfix(
        "patch", "check", project_root / "patches" / "iproute-3.6.0-netns-make-rslave.patch", "--source", demo_tree
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["  ip/ipnetns.c  hunk 1  @@ -152,6 +152,12 @@  line 152  offset 0"]


def test_check_a_mismatch_exits_2_with_one_line(project_root: Path, demo_tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "off.patch"
    patch.write_text((project_root / "patches" / WORKAROUND).read_text().replace(" \t/* Setup", " \t/* Set up"))
    result = netnsfix("patch", "check", patch, "--source", demo_tree)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"netnsfix: error: {patch}: ") and result.stderr.count("\n") == 1
    assert "hunk #2 @@ -161,6 +162,7 @@" in result.stderr and "line 165: expected '\\t/* Set up" in result.stderr


def test_check_with_strip_0_against_a_tarball(project_root: Path, demo_tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "p0.patch"
    patch.write_text(
        (project_root / "patches" / WORKAROUND).read_text().replace(" a/ip", " ip").replace(" b/ip", " ip")
    )
    tarball = tmp_path / "iproute2-3.6.0.tar.gz"
    subprocess.run(["tar", "-C", str(demo_tree.parent), "-czf", str(tarball), "iproute2-3.6.0"], check=True)
    result = netnsfix("patch", "check", patch, "--source", tarball, "-p", "0")
    assert result.returncode == 0, result.stderr
    assert "2 hunks match at fuzz 0 (-p0)" in result.stdout
    wrong = netnsfix("patch", "check", patch, "--source", tarball)
    assert wrong.returncode == 2
    assert f"names ipnetns.c, which does not exist in {tarball}:iproute2-3.6.0" in wrong.stderr


def test_bad_arguments(tmp_path: Path, demo_tree: Path) -> None:
    result = netnsfix("patch", "check", tmp_path / "absent.patch", "--source", demo_tree)
    assert result.returncode == 2 and "no such patch" in result.stderr
    result = netnsfix("patch", "import", tmp_path / "absent.txt", "--source", demo_tree)
    assert result.returncode == 2 and "absent.txt: no such file" in result.stderr
