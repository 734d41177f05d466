"""iptables-path: the two command names in IptablesManager._apply lose /sbin (Bug 877337)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hostroot import IPTABLES_LINE, cli, make_fedora18_root, snapshot
from unidiff import PatchSet

from netnsfix.errors import HostError
from netnsfix.host.iptables_path import check_and_apply

MODULE = "usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fedora18_root(tmp_path / "root")


def plan_diff(capsys, root: Path) -> tuple[int, str]:
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    diff = "".join(line + "\n" for line in out.splitlines()[1:] if not line.startswith("plan:"))
    return code, diff


def test_plan_shows_a_diff_that_changes_only_the_two_command_names(root, capsys) -> None:
    code, diff = plan_diff(capsys, root)
    assert code == 1
    patch = PatchSet(diff)
    assert [f.path for f in patch] == [MODULE]
    removed = [line.value.strip() for hunk in patch[0] for line in hunk if line.is_removed]
    added = [line.value.strip() for hunk in patch[0] for line in hunk if line.is_added]
    assert removed == ["s = [('/sbin/iptables', self.ipv4)]", "s += [('/sbin/ip6tables', self.ipv6)]"]
    assert added == ["s = [('iptables', self.ipv4)]", "s += [('ip6tables', self.ipv6)]"]
    assert f"@@ -{IPTABLES_LINE - 3},9 +{IPTABLES_LINE - 3},9 @@" in diff


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


def test_a_file_fixed_by_hand_is_left_alone(root, capsys) -> None:
    """The seed's way: the old line commented out, the fixed one below it."""
    path = root / MODULE
    text = path.read_text()
    text = text.replace(
        "        s = [('/sbin/iptables', self.ipv4)]\n",
        "#        s = [('/sbin/iptables', self.ipv4)]\n        s = [('iptables', self.ipv4)]\n",
    )
    text = text.replace("('/sbin/ip6tables'", "('ip6tables'")
    path.write_text(text)
    before = snapshot(root)
    code, out, _ = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert (code, out.splitlines()[0]) == (0, "iptables-path: ok")
    assert cli(capsys, "host", "apply", "iptables-path", "--root", str(root))[0] == 0
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("        s = [('/sbin/iptables', self.ipv4)]\n", ""), "exactly once (found 0"),
        (lambda t: t + "        s = [('/sbin/iptables', self.ipv4)]\n", "exactly once (found 2"),
        (lambda t: t.replace("    def _apply(self):", "    def _apply_all(self):"), "expected one 'def _apply(self'"),
    ],
    ids=["line-missing", "line-twice", "no-_apply"],
)
def test_a_file_netnsfix_does_not_know_is_refused(root, capsys, edit, message) -> None:
    path = root / MODULE
    path.write_text(edit(path.read_text()))
    before = snapshot(root)
    code, _, err = cli(capsys, "host", "apply", "iptables-path", "--root", str(root))
    assert code == 2 and message in err and str(path) in err
    assert snapshot(root) == before


def test_lines_outside_apply_are_refused(root, capsys) -> None:
    path = root / MODULE
    text = path.read_text().replace("        s = [('/sbin/iptables', self.ipv4)]\n", "        pass\n")
    text = text.replace(
        "class IptablesManager(object):\n", "s = [('/sbin/iptables', self.ipv4)]\n\nclass IptablesManager(object):\n"
    )
    path.write_text(text)
    code, _, err = cli(capsys, "host", "plan", "iptables-path", "--root", str(root))
    assert code == 2 and "is not inside IptablesManager._apply" in err


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
    with pytest.raises(HostError, match="changes more than the iptables command names"):
        check_and_apply(diff, lines, root / MODULE)
    shifted = re.sub(r"@@ -\d+,1 \+\d+,1 @@", f"@@ -{index},1 +{index},1 @@", diff)
    with pytest.raises(HostError, match="does not match the file at fuzz 0"):
        check_and_apply(shifted, lines, root / MODULE)
