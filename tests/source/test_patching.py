"""patching: a patch is checked hunk by hunk at fuzz 0, then applied all or nothing."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from netnsfix.errors import PatchError, UnpackError
from netnsfix.source.patching import HunkCheck, apply_patch, check_patch, check_patch_text, source_tree

SHIPPED = ["iproute-3.6.0-netns-keep-sys.patch", "iproute-3.6.0-netns-make-rslave.patch"]


def snapshot(tree: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mode: what 'the tree is unchanged' means."""
    return {
        str(path.relative_to(tree)): (path.read_bytes(), path.stat().st_mode)
        for path in sorted(tree.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def tree(demo_tree: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "iproute2-3.6.0"
    shutil.copytree(demo_tree, copy)
    return copy


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_patch_checks_at_offset_0_and_gnu_patch_agrees(
    name: str, project_root: Path, demo_tree: Path, need_tool
) -> None:
    need_tool("patch")
    patch = project_root / "patches" / name
    report = check_patch(patch, demo_tree)
    assert report.files == ("ip/ipnetns.c",)
    assert report.hunks and all(h.offset == 0 and h.found_line == h.stated_line for h in report.hunks)
    dry = subprocess.run(
        ["patch", "-p1", "-F0", "--dry-run", "-i", str(patch)], cwd=demo_tree, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "offset" not in dry.stdout and "fuzz" not in dry.stdout


def test_keep_sys_report_names_both_hunks(project_root: Path, demo_tree: Path) -> None:
    report = check_patch(project_root / "patches" / SHIPPED[0], demo_tree)
    assert report.hunks == (
        HunkCheck("ip/ipnetns.c", 1, "@@ -153,6 +153,7 @@", 153, 153, 0),
        HunkCheck("ip/ipnetns.c", 2, "@@ -161,6 +162,7 @@", 161, 161, 0),
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_apply_gives_what_gnu_patch_gives_and_keeps_the_mode(
    name: str, project_root: Path, tree: Path, tmp_path: Path, need_tool
) -> None:
    need_tool("patch")
    patch = project_root / "patches" / name
    target = tree / "ip" / "ipnetns.c"
    target.chmod(0o751)
    gnu = tmp_path / "gnu"
    shutil.copytree(tree, gnu)
    subprocess.run(["patch", "-s", "-p1", "-F0", "-i", str(patch)], cwd=gnu, check=True)
    apply_patch(patch, tree)
    assert target.read_bytes() == (gnu / "ip" / "ipnetns.c").read_bytes()
    assert target.stat().st_mode & 0o7777 == 0o751
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_offsets_are_reported_as_gnu_patch_reports_them(project_root: Path, tree: Path, need_tool) -> None:
    need_tool("patch")
    source = tree / "ip" / "ipnetns.c"
    lines = source.read_text().splitlines(keepends=True)
    lines[0:0] = ["/* one */\n", "/* two */\n", "/* three */\n"]
    lines.insert(161, "/* between the hunks */\n")  # after hunk 1's lines, before hunk 2's
    source.write_text("".join(lines))
    patch = project_root / "patches" / SHIPPED[0]
    report = check_patch(patch, tree)
    assert [(h.stated_line, h.found_line, h.offset) for h in report.hunks] == [(153, 156, 3), (161, 165, 4)]
    dry = subprocess.run(
        ["patch", "-p1", "-F0", "--dry-run", "-i", str(patch)], cwd=tree, capture_output=True, text=True
    )
    assert re.findall(r"offset (\d+) line", dry.stdout) == ["3", "4"]


def test_a_hunk_that_does_not_match_names_everything_and_changes_nothing(project_root: Path, tree: Path) -> None:
    source = tree / "ip" / "ipnetns.c"
    # Break hunk 2 only: hunk 1 matches, yet nothing may be written.
    source.write_text(
        source.read_text().replace('"mount of /sys failed: %s\\n",strerror', '"mount failed: %s\\n",strerror')
    )
    before = snapshot(tree)
    patch = project_root / "patches" / SHIPPED[0]
    with pytest.raises(PatchError) as caught:
        apply_patch(patch, tree)
    message = str(caught.value)
    assert "\n" not in message
    assert str(patch) in message and str(source) in message
    assert "hunk #2 @@ -161,6 +162,7 @@" in message
    assert "line 161: expected" in message  # the line as numbered in the unpatched file
    assert "'\\t\\tfprintf(stderr, \"mount of /sys failed: %s\\\\n\",strerror(errno));'" in message
    assert "found '\\t\\tfprintf(stderr, \"mount failed: %s\\\\n\",strerror(errno));'" in message
    assert snapshot(tree) == before


def test_a_patch_naming_a_missing_file_is_an_error(tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "missing.patch"
    patch.write_text("--- a/ip/nope.c\n+++ b/ip/nope.c\n@@ -1,1 +1,1 @@\n-old\n+new\n")
    before = snapshot(tree)
    with pytest.raises(PatchError, match=r"missing\.patch: names ip/nope\.c, which does not exist in"):
        apply_patch(patch, tree)
    assert snapshot(tree) == before


def test_seed_headers_name_files_no_tree_has(project_root: Path, tree: Path) -> None:
    text = (project_root / "patches" / SHIPPED[0]).read_text()
    text = text.replace("--- a/ip/ipnetns.c", "--- iproute2-3.6.0/ip/ipnetns.c.orig")
    text = text.replace("+++ b/ip/ipnetns.c", "+++ iproute2-3.6.0/ip/ipnetns.c.new")
    with pytest.raises(PatchError, match=r"names ip/ipnetns\.c\.orig or ip/ipnetns\.c\.new"):
        check_patch_text(text, tree, name=Path("seed.patch"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the patch is empty"),
        ("just some prose\n", "holds no unified diff"),
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n x\n", "not a unified diff"),
    ],
)
def test_empty_or_unparsable_patches_name_the_patch(content: str, expected: str, tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "bad.patch"
    patch.write_text(content)
    with pytest.raises(PatchError, match=re.escape(f"{patch}: {expected}")):
        check_patch(patch, tree)


def test_strip_0_new_files_and_deletions(tree: Path, tmp_path: Path) -> None:
    patch = tmp_path / "files.patch"
    patch.write_text(
        "--- /dev/null\n+++ ip/new.c\n@@ -0,0 +1,2 @@\n+/* new */\n+int x;\n"
        "--- README\n+++ /dev/null\n"
        f"@@ -1,{len((tree / 'README').read_text().splitlines())} +0,0 @@\n"
        + "".join(f"-{line}\n" for line in (tree / "README").read_text().splitlines())
    )
    report = apply_patch(patch, tree, strip=0)
    assert report.files == ("ip/new.c", "README")
    assert (tree / "ip" / "new.c").read_text() == "/* new */\nint x;\n"
    assert not (tree / "README").exists()


def test_missing_newline_at_end_of_file(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_text("a\nb")
    patch = tmp_path / "p"
    patch.write_text("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n")
    apply_patch(patch, tree)
    assert (tree / "f").read_text() == "a\nc\n"


def make_tarball(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_source_tree_yields_the_top_folder_of_a_tarball(demo_tree: Path, project_root: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "iproute2-3.6.0.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(demo_tree, arcname="iproute2-3.6.0")
    with source_tree(tarball) as tree:
        assert tree.folder.name == "iproute2-3.6.0" and tree.name == f"{tarball}:iproute2-3.6.0"
        report = check_patch(project_root / "patches" / SHIPPED[1], tree)
        extracted = tree.folder
    assert report.hunks[0].offset == 0
    assert not extracted.exists()
    with source_tree(demo_tree) as same:
        assert same.folder == demo_tree and same.name == str(demo_tree)


def test_errors_inside_a_tarball_name_the_tarball(demo_tree: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "src.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(demo_tree, arcname="iproute2-3.6.0")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/ip/nope.c\n+++ b/ip/nope.c\n@@ -1 +1 @@\n-a\n+b\n")
    with pytest.raises(PatchError, match=re.escape(f"does not exist in {tarball}:iproute2-3.6.0")):
        with source_tree(tarball) as tree:
            check_patch(patch, tree)


def symlink_member(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    "member",
    [
        file_member("top/../../evil", b"x"),
        file_member("/etc/evil", b"x"),
        symlink_member("top/link", "../../etc"),
        symlink_member("top/abs", "/etc/passwd"),
    ],
    ids=["dotdot", "absolute", "escaping-symlink", "absolute-symlink"],
)
def test_unsafe_tarballs_are_refused(member, tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "evil.tar.gz", [file_member("top/ok", b"ok"), member])
    with pytest.raises(UnpackError, match=re.escape(str(tarball))):
        with source_tree(tarball):
            pass
    assert not (tmp_path / "evil").exists()


def test_source_that_is_neither_folder_nor_tarball(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(PatchError, match="not a folder or a tarball"):
        with source_tree(tmp_path / "notes.txt"):
            pass
    with pytest.raises(PatchError, match="no such folder or tarball"):
        with source_tree(tmp_path / "absent"):
            pass


def test_a_symlink_leading_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tmp_path / "outside.c").write_text("a\n")
    os.symlink(tmp_path / "outside.c", tree / "in.c")
    patch = tmp_path / "p"
    patch.write_text("--- a/in.c\n+++ b/in.c\n@@ -1 +1 @@\n-a\n+b\n")
    with pytest.raises(PatchError, match="leads out of the source tree"):
        apply_patch(patch, tree)
    assert (tmp_path / "outside.c").read_text() == "a\n"
