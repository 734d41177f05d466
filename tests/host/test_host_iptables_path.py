"""iptables-path: line 272 of quantum 2012.2's iptables_manager.py loses /sbin (Bug 877337).

The node's file follows the released one (openstack/neutron tag 2012.2,
quantum/agent/linux/iptables_manager.py, lines 255-292 as released and the
file's landmarks at their line numbers; tag 2012.2.1 for the fixed shape, tag
2013.1 for the Grizzly shape): see tests/hostroot.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hostroot import (
    FIXED_LINE,
    IPTABLES_LINE,
    RELEASED_LINE,
    cli,
    grizzly_iptables_manager,
    iptables_manager,
    make_fedora18_root,
    make_node_root,
    snapshot,
)
from unidiff import PatchSet

from netnsfix.collection.plugins.module_utils.errors import NodeError
from netnsfix.collection.plugins.module_utils.iptables_path import check_and_apply

MODULE = "usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def plan_diff(capsys, root: Path) -> tuple[int, str]:
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    diff = "".join(line + "\n" for line in out.splitlines()[1:] if not line.startswith("plan:"))
    return code, diff


def test_plan_on_the_released_file_is_a_one_line_diff_at_272(root, capsys) -> None:
    code, diff = plan_diff(capsys, root)
    assert code == 1
    patch = PatchSet(diff)
    assert [f.path for f in patch] == [MODULE]
    assert len(patch[0]) == 1
    removed = [(line.source_line_no, line.value) for hunk in patch[0] for line in hunk if line.is_removed]
    added = [(line.target_line_no, line.value) for hunk in patch[0] for line in hunk if line.is_added]
    assert removed == [(IPTABLES_LINE, RELEASED_LINE + "\n")]
    assert added == [(IPTABLES_LINE, FIXED_LINE + "\n")]
    assert f"@@ -{IPTABLES_LINE - 3},7 +{IPTABLES_LINE - 3},7 @@" in diff


def test_apply_changes_only_line_272_and_undo_restores_the_bytes(root, capsys) -> None:
    path = root / MODULE
    before = path.read_bytes()
    mode = path.stat().st_mode & 0o7777
    assert cli(capsys, "host", "apply", "iptables-path", "--root", str(root))[0] == 0
    after = path.read_bytes()
    expected = before.splitlines(True)
    expected[IPTABLES_LINE - 1] = (FIXED_LINE + "\n").encode()
    assert after == b"".join(expected)
    assert after.splitlines()[IPTABLES_LINE + 1] == b"            s += [('ip6tables', self.ipv6)]", "274 untouched"
    assert path.stat().st_mode & 0o7777 == mode
    assert after == iptables_manager("2012.2.1").encode(), "the result is 2012.2.1's shape"
    code, out, _ = cli(capsys, "host", "undo", "iptables-path", "--root", str(root))
    assert code == 0 and f"restored /{MODULE}" in out
    assert path.read_bytes() == before


def test_the_planned_diff_is_what_apply_does(root, tmp_path, capsys, need_tool) -> None:
    """The diff plan prints applies with patch -p1 at fuzz 0 and gives apply's file."""
    need_tool("patch")
    _, diff = plan_diff(capsys, root)
    copy = tmp_path / "copy"
    (copy / MODULE).parent.mkdir(parents=True)
    (copy / MODULE).write_bytes((root / MODULE).read_bytes())
    subprocess.run(["patch", "-p1", "-F0", "-s", "-d", str(copy)], input=diff, text=True, check=True)
    assert cli(capsys, "host", "apply", "iptables-path", "--root", str(root))[0] == 0
    assert (root / MODULE).read_bytes() == (copy / MODULE).read_bytes()
    lines = (root / MODULE).read_text().splitlines()
    assert lines[IPTABLES_LINE - 1] == "        s = [('iptables', self.ipv4)]"
    assert lines[IPTABLES_LINE + 1] == "            s += [('ip6tables', self.ipv6)]"


def test_the_2012_2_1_file_is_already_fixed(tmp_path, capsys) -> None:
    root = make_node_root(tmp_path / "root", quantum="2012.2.1")
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "iptables-path: ok")
    assert cli(capsys, "host", "apply", "iptables-path", "--root", str(root))[0] == 0
    assert snapshot(root) == before


def test_a_file_fixed_by_hand_is_left_alone(root, capsys) -> None:
    """The seed's way: the old line commented out at 272, the fixed one below it."""
    path = root / MODULE
    text = path.read_text()
    text = text.replace(
        "        s = [('/sbin/iptables', self.ipv4)]\n",
        "#        s = [('/sbin/iptables', self.ipv4)]\n        s = [('iptables', self.ipv4)]\n",
    )
    path.write_text(text)
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "iptables-path: ok")
    assert cli(capsys, "host", "apply", "iptables-path", "--root", str(root))[0] == 0
    assert snapshot(root) == before


def _replace_line(number: int, new: str):
    def edit(text: str) -> str:
        lines = text.splitlines(True)
        lines[number - 1] = new + "\n"
        return "".join(lines)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _replace_line(272, "        s = [('/usr/sbin/iptables', self.ipv4)]"),
            "line 272: expected \"        s = [('/sbin/iptables', self.ipv4)]\" (quantum 2012.2) or "
            "\"        s = [('iptables', self.ipv4)]\" (2012.2.1), found \"        s = [('/usr/sbin/iptables', "
            'self.ipv4)]"',
        ),
        (
            lambda t: t.replace("        s = [('/sbin/iptables', self.ipv4)]\n", ""),
            "line 272: expected",
        ),
        (
            lambda t: t.replace("import os\n", "import os\nimport sys\n"),
            "line 272: expected \"        s = [('/sbin/iptables', self.ipv4)]\" (quantum 2012.2) or "
            '"        s = [(\'iptables\', self.ipv4)]" (2012.2.1), found \'        """\'',
        ),
        (
            _replace_line(274, "            s += [('/sbin/ip6tables', self.ipv6)]"),
            'line 274: expected "            s += [(\'ip6tables\', self.ipv6)]", found "            s += '
            "[('/sbin/ip6tables', self.ipv6)]\"",
        ),
        (
            _replace_line(264, "    def _apply(self):"),
            "line 264: expected '    def apply(self):', found '    def _apply(self):'",
        ),
        (lambda t: grizzly_iptables_manager(), "line 272: expected"),
        (
            lambda t: "".join(t.splitlines(True)[:270]),
            "line 272: expected \"        s = [('/sbin/iptables', self.ipv4)]\" (quantum 2012.2) or "
            "\"        s = [('iptables', self.ipv4)]\" (2012.2.1), found the end of the file (it has 270 lines)",
        ),
    ],
    ids=[
        "other-path-at-272",
        "line-missing",
        "shifted-by-one",
        "ip6tables-with-path",
        "renamed-apply",
        "grizzly",
        "short",
    ],
)
def test_a_file_netnsfix_does_not_know_is_refused(root, capsys, edit, message) -> None:
    path = root / MODULE
    path.write_text(edit(path.read_text()))
    before = snapshot(root)
    for command in ("plan", "apply"):
        code, out, err = cli(capsys, "host", command, "iptables-path", "--root", str(root))
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith(f"netnsfix: error: {path}: "), err
        assert message in err
        assert err.rstrip().endswith("not quantum 2012.2's iptables_manager.py (nor 2012.2.1's), nothing was changed")
    assert snapshot(root) == before


def test_lines_outside_apply_are_refused(root, capsys) -> None:
    """The command line moved out of apply (line 272 no longer holds it) is not the released file."""
    path = root / MODULE
    text = path.read_text().replace("        s = [('/sbin/iptables', self.ipv4)]\n", "        pass\n")
    text = text.replace(
        "class IptablesManager(object):\n", "s = [('/sbin/iptables', self.ipv4)]\nclass IptablesManager(object):\n"
    )
    path.write_text(text)
    code, _, err = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert code == 2 and "line 272: expected" in err


def test_quantum_is_found_under_lib64_and_missing_quantum_is_an_error(root, capsys) -> None:
    lib64 = root / "usr/lib64/python2.7/site-packages/quantum"
    lib64.parent.mkdir(parents=True)
    (root / "usr/lib/python2.7/site-packages/quantum").rename(lib64)
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert code == 1 and "+++ b/usr/lib64/python2.7/site-packages/quantum/agent/linux/iptables_manager.py" in out
    (lib64 / "agent/linux/iptables_manager.py").unlink()
    code, _, err = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert code == 2 and "quantum/agent/linux/iptables_manager.py is not installed" in err


def test_the_check_refuses_a_diff_that_changes_anything_else(root) -> None:
    lines = (root / MODULE).read_text().splitlines(True)
    index = IPTABLES_LINE - 1
    diff = (
        f"--- a/{MODULE}\n+++ b/{MODULE}\n@@ -{index + 1},1 +{index + 1},1 @@\n"
        f"-{lines[index]}+        s = [('/usr/sbin/iptables', self.ipv4)]\n"
    )
    with pytest.raises(NodeError, match="changes more than the iptables command names"):
        check_and_apply(diff, lines, str(root / MODULE))
    shifted = re.sub(r"@@ -\d+,1 \+\d+,1 @@", f"@@ -{index},1 +{index},1 @@", diff)
    with pytest.raises(NodeError, match="does not match the file at fuzz 0"):
        check_and_apply(shifted, lines, str(root / MODULE))


def test_the_check_refuses_the_right_change_on_another_line(root) -> None:
    """The same edit one line further down (a file with the line twice) is not the released fix."""
    lines = (root / MODULE).read_text().splitlines(True)
    lines.insert(IPTABLES_LINE, lines[IPTABLES_LINE - 1])
    diff = f"--- a/{MODULE}\n+++ b/{MODULE}\n@@ -273,1 +273,1 @@\n-{lines[272]}+{FIXED_LINE}\n"
    with pytest.raises(NodeError, match="the diff changes line 273, expected only line 272"):
        check_and_apply(diff, lines, str(root / MODULE))
