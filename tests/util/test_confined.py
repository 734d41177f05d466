"""The shared checks for input netnsfix did not choose: the path policy, the URL check, input files, spec text.

Each rule is shown to refuse what it must and to pass what real input looks like (Fedora's hrefs, the
archive's URL, a recipe's changelog), so a rule that could not fail, or that refused everything, is caught.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from netnsfix.errors import RecipeError, SpecError
from netnsfix.rpm.spectext import spec_literal
from netnsfix.util.confined import open_below, overlap, real_folder_below, unconfined_reason
from netnsfix.util.inputfile import read_input
from netnsfix.util.urls import REPOSITORY, WEB, url_problem


@pytest.mark.parametrize(
    "name",
    [
        "Packages/a/anaconda-18.37.11-1.fc18.x86_64.rpm",  # the archive's release layout
        "wget-1.14-5.fc18.x86_64.rpm",  # updates: flat
        "repodata/0123abcd-primary.xml.gz",
        "c++-utils-1.0-1.fc18.x86_64.rpm",
    ],
)
def test_real_names_pass(name: str) -> None:
    assert unconfined_reason(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x.rpm", "climbs out"),
        ("%2e%2e/x.rpm", "climbs out"),
        ("%2E%2E/x.rpm", "climbs out"),
        ("%252e%252e/x.rpm", "climbs out"),
        ("a/%2e%2e%2f%2e%2e/x.rpm", "climbs out"),
        ("..%5cx.rpm", "backslash"),
        ("/etc/passwd", "absolute"),
        ("%2fetc/passwd", "absolute"),
        ("http://evil/x.rpm", "URL"),
        ("x%0a.rpm", "control character"),
        ("x\x00.rpm", "control character"),
        ("a//b.rpm", "empty component"),
        ("./x.rpm", "'.' component"),
        ("", "empty"),
    ],
)
def test_names_that_climb_out_or_cannot_be_a_file_are_refused(name: str, reason: str) -> None:
    assert reason in (unconfined_reason(name) or "")


def test_a_single_name_has_no_folder() -> None:
    assert unconfined_reason("network1", single=True) is None
    assert "'/'" in (unconfined_reason("a/b", single=True) or "")
    assert "'/'" in (unconfined_reason("a%2fb", single=True) or "")
    assert "climbs out" in (unconfined_reason("..", single=True) or "")


def test_open_below_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (outside / "f").write_bytes(b"keep")
    os.symlink(outside, root / "a" / "b")
    os.symlink(outside / "f", root / "a" / "f")
    for relative in ("a/b/f", "a/f"):
        with pytest.raises(OSError) as caught:
            open_below(root, relative, os.O_WRONLY | os.O_TRUNC)
        assert caught.value.errno == errno.ELOOP and caught.value.filename.startswith(str(root))
    assert (outside / "f").read_bytes() == b"keep"
    fd = open_below(root, "a/c/new", os.O_WRONLY | os.O_CREAT, make_folders=True)  # a real path works
    os.close(fd)
    assert (root / "a" / "c" / "new").is_file()
    with pytest.raises(OSError, match="a symlink is in the way"):
        real_folder_below(root, "a/b")
    assert real_folder_below(root, "x/y") == root / "x" / "y"


def test_overlap_names_each_way(tmp_path: Path) -> None:
    build = tmp_path / "out" / "r" / "build"
    build.mkdir(parents=True)
    os.symlink(build, tmp_path / "link")
    others = [(build, "the build folder")]
    assert overlap(build, others) == f"is the build folder {build}"
    assert overlap(tmp_path / "link", others) == f"is the build folder {build}"  # a symlink does not hide it
    assert overlap(tmp_path / "out", others) == f"holds the build folder {build}"
    assert overlap(build / "repo", others) == f"is inside the build folder {build}"
    assert overlap(tmp_path / "repo", others) is None


@pytest.mark.parametrize(
    ("url", "schemes", "problem"),
    [
        ("https://archives.fedoraproject.org/pub/archive/fedora/linux", WEB, None),
        ("http://127.0.0.1:8080/", WEB, None),
        ("http://[::1]:8080/repo", WEB, None),
        ("file:///srv/repo", REPOSITORY, None),
        ("file:///srv/repo", WEB, "is not an http:// or https:// URL"),
        ("http://h/x\n[evil]", REPOSITORY, "holds whitespace ('\\n')"),
        ("http://h/a b", REPOSITORY, "holds whitespace (' ')"),
        ("http://h/a\x7f", REPOSITORY, "holds a control character"),
        ("javascript:alert(1)", REPOSITORY, "is not an http:// or https:// or file:// URL"),
        ("", REPOSITORY, "is empty"),
        ("http://", REPOSITORY, "names no host"),
        ("http:///x", REPOSITORY, "names no host"),
        ("file://", REPOSITORY, "names no folder (file:///PATH)"),
        ("file:///", REPOSITORY, "names no folder (file:///PATH)"),
        ("file://host/srv", REPOSITORY, "names a host"),
        ("http://h/x?y=1", REPOSITORY, "has a query or fragment"),
        ("http://h:port/x", REPOSITORY, "is not a URL"),
    ],
)
def test_the_url_check(url: str, schemes: tuple[str, ...], problem: str | None) -> None:
    found = url_problem(url, schemes)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem)), found


def test_spec_text_is_inert_and_one_line() -> None:
    assert spec_literal("%{lua: os.exit()} 100% %%", "changelog text", "x.spec") == "%%{lua: os.exit()} 100%% %%%%"
    assert spec_literal("netnsfix <netnsfix@localhost>", "author", "x.spec") == "netnsfix <netnsfix@localhost>"
    for bad in ("a\nb", "a\x00", "a\r", "a\u2028b", "trailing\n"):
        with pytest.raises(SpecError, match=r"x\.spec: author .* holds the control character"):
            spec_literal(bad, "author", "x.spec")


def test_input_files_must_be_regular_and_small(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"data")
    assert read_input(tmp_path / "ok", RecipeError) == b"data"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(RecipeError, match=r"fifo: cannot read the lock: it is a FIFO, not a file$"):
        read_input(tmp_path / "fifo", RecipeError, what="the lock")
    with pytest.raises(RecipeError, match=r"cannot read: it is a folder, not a file$"):
        read_input(tmp_path, RecipeError)
    with pytest.raises(RecipeError, match=r"/dev/zero: cannot read: it is a character device, not a file$"):
        read_input(Path("/dev/zero"), RecipeError)
    with pytest.raises(RecipeError, match=r"ok: cannot read: 4 bytes, more than such a file can be \(3 at most\)$"):
        read_input(tmp_path / "ok", RecipeError, limit=3)
    with pytest.raises(RecipeError, match=r"none: gone$"):
        read_input(tmp_path / "none", RecipeError, missing="gone")
