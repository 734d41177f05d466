"""pasted: a diff copied from notes becomes the patch rpmbuild applies, or a clear error."""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from netnsfix.errors import PatchError
from netnsfix.source.diffimport import import_pasted, import_text

# The seed's pasted diff at its own lines 19-37, byte for byte, with prose written for the tests
# around it at the seed's line numbers: see fixtures/README.md. Nothing beside the checkout is read.
SEED_EXCERPT = Path(__file__).parent / "fixtures" / "seed-diff-excerpt.txt"


@pytest.fixture(scope="session")
def seed() -> Path:
    """The seed's pasted diff with the prose around it, as the seed prints it."""
    return SEED_EXCERPT


@pytest.fixture(scope="session")
def workaround(project_root: Path) -> bytes:
    return (project_root / "patches" / "iproute-3.6.0-netns-keep-sys.patch").read_bytes()


def test_the_seeds_diff_becomes_the_shipped_workaround_byte_for_byte(
    seed: Path, workaround: bytes, demo_tree: Path
) -> None:
    result = import_pasted(seed, demo_tree)
    assert result.text.encode() == workaround
    assert result.path_in_tree == "ip/ipnetns.c"
    assert [(h.hunk, h.stated_line, h.offset) for h in result.report.hunks] == [(1, 153, 0), (2, 161, 0)]
    said = "\n".join(result.changes)
    assert "'# diff -uNr iproute2-3.6.0/ip/ipnetns.c.orig iproute2-3.6.0/ip/ipnetns.c.new'" in said
    assert (
        "'iproute2-3.6.0/ip/ipnetns.c.orig' / 'iproute2-3.6.0/ip/ipnetns.c.new' as 'a/ip/ipnetns.c' / 'b/ip/ipnetns.c'"
        in said
    )
    assert "removed the timestamps" in said
    assert "restored the leading space of 1 blank context line in hunk 2 (line 35 of the paste)" in said
    assert re.search(r"dropped \d+ lines after the last hunk", said)


def test_the_seed_against_a_tarball_and_patch_p1_applies_it(
    seed: Path, workaround: bytes, demo_tree: Path, tmp_path: Path, need_tool
) -> None:
    need_tool("patch")
    tarball = tmp_path / "iproute2-3.6.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(demo_tree, arcname="iproute2-3.6.0")
    result = import_pasted(seed, tarball)
    assert result.text.encode() == workaround
    dry = subprocess.run(
        ["patch", "-p1", "-F0", "--dry-run"], input=result.text, cwd=demo_tree, capture_output=True, text=True
    )
    assert dry.returncode == 0 and "offset" not in dry.stdout, dry.stdout + dry.stderr


def pasted_from(
    workaround: bytes,
    *,
    before: str = "",
    after: str = "",
    crlf: bool = False,
    old: str = "ip/ipnetns.c.orig",
    new: str = "ip/ipnetns.c.new",
    stamp: str = "",
) -> str:
    body = workaround.decode().split("\n", 2)[2].replace("\n \n", "\n\n")  # blank context loses its space
    text = f"{before}--- {old}{stamp}\n+++ {new}{stamp}\n{body}{after}"
    return text.replace("\n", "\r\n") if crlf else text


def test_crlf_and_trailing_prose(workaround: bytes, demo_tree: Path) -> None:
    text = pasted_from(workaround, before="Here is my fix:\r\n\r\n", after="\nThat is all.\n- signed, me\n", crlf=True)
    result = import_text(text, demo_tree, origin=Path("mail.txt"))
    assert result.text.encode() == workaround
    assert result.changes[0] == "converted CRLF line endings to LF"
    assert "dropped 3 lines after the last hunk" in result.changes
    assert "dropped 2 lines before the first file header" in result.changes


@pytest.mark.parametrize(
    ("old", "new", "stamp"),
    [
        ("a/ip/ipnetns.c~", "b/ip/ipnetns.c", ""),
        (
            "iproute2-3.6.0.orig/ip/ipnetns.c.bak",
            "iproute2-3.6.0/ip/ipnetns.c.rej",
            "  2012-11-29 18:05:19.304832997 +0900",
        ),
        ("x/y/ip/ipnetns.c.old", "x/y/ip/ipnetns.c", "\tThu Nov 29 18:05:19 2012"),
        ("ipnetns.c.orig", "ipnetns.c", ""),
    ],
)
def test_header_names_resolve_to_the_file_in_the_tree(
    old: str, new: str, stamp: str, workaround: bytes, demo_tree: Path
) -> None:
    result = import_text(pasted_from(workaround, old=old, new=new, stamp=stamp), demo_tree)
    assert result.text.encode() == workaround


def test_an_already_clean_patch_changes_nothing(workaround: bytes, demo_tree: Path) -> None:
    result = import_text(workaround.decode(), demo_tree)
    assert result.text.encode() == workaround and result.changes == ()


def test_no_diff_at_all(demo_tree: Path) -> None:
    with pytest.raises(PatchError, match=r"notes\.txt: holds no unified diff"):
        import_text("Just prose.\n@@ -1 +1 @@ without headers\n", demo_tree, origin=Path("notes.txt"))


def test_several_diffs_are_refused(workaround: bytes, demo_tree: Path) -> None:
    one = pasted_from(workaround)
    with pytest.raises(
        PatchError, match=r"holds 2 diffs \(ip/ipnetns\.c\.orig at line 1, ip/ipnetns\.c\.orig at line 22\)"
    ):
        import_text(one + "\nand again, revised:\n\n" + one, demo_tree)


def test_a_hunk_cut_short(workaround: bytes, demo_tree: Path) -> None:
    text = pasted_from(workaround).rsplit("\n", 3)[0] + "\n"
    with pytest.raises(PatchError, match=r"hunk 2 \(@@ -161,6 \+162,7 @@\) is cut short"):
        import_text(text, demo_tree)


def test_prose_inside_a_hunk(workaround: bytes, demo_tree: Path) -> None:
    text = pasted_from(workaround).replace("+*/\n", "(here I commented it out)\n")
    with pytest.raises(PatchError, match=r"hunk 2 .* ends early at line \d+ \('\(here I commented it out\)'\)"):
        import_text(text, demo_tree)


def test_a_hunk_longer_than_its_counts(workaround: bytes, demo_tree: Path) -> None:
    text = pasted_from(workaround, after="+\tone more line\n")
    with pytest.raises(PatchError, match=r"hunk 2 .* has more lines than its header counts"):
        import_text(text, demo_tree)


def test_a_file_the_tree_does_not_hold(workaround: bytes, demo_tree: Path) -> None:
    with pytest.raises(PatchError, match=r"names ip/other\.c\.orig or ip/other\.c; no such file"):
        import_text(pasted_from(workaround, old="ip/other.c.orig", new="ip/other.c"), demo_tree)


def test_a_pasted_diff_that_does_not_match_the_sources(workaround: bytes, demo_tree: Path) -> None:
    text = pasted_from(workaround).replace("\tbind_etc(name);", "\tbind_etc(netns);")
    with pytest.raises(
        PatchError, match=r"paste\.txt: .*ip/ipnetns\.c: hunk #2 .* line 166: expected '\\tbind_etc\(netns\);'"
    ):
        import_text(text, demo_tree, origin=Path("paste.txt"))
