"""The command runner: the one place a program is run, and how each way of failing reads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from netnsfix.errors import CommandError, CommandTimeout, NotInstalled
from netnsfix.util.command import last_line, run, streamed


def test_output_is_captured_apart() -> None:
    result = run(["sh", "-c", "echo out; echo err >&2"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.argv == ("sh", "-c", "echo out; echo err >&2")


def test_merged_output_keeps_the_order() -> None:
    result = run(["sh", "-c", "echo one; echo two >&2; echo three"], merge_output=True)
    assert (result.stdout, result.stderr) == ("one\ntwo\nthree\n", "")


def test_input_env_and_cwd(tmp_path: Path) -> None:
    result = run(
        ["sh", "-c", 'cat; echo "$NETNSFIX_X"; pwd'],
        input="in\n",
        env={"NETNSFIX_X": "x", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.stdout == f"in\nx\n{tmp_path}\n"


def test_stdin_is_never_the_terminal() -> None:
    assert run(["sh", "-c", "cat"], timeout=10).stdout == ""


def test_undecodable_output_does_not_break_the_runner() -> None:
    assert run(["printf", "a\\377b"]).stdout == "a\ufffdb"


def test_missing_program_names_the_package() -> None:
    with pytest.raises(NotInstalled, match=r"^createrepo_c: not installed \(apt-get install createrepo-c\)$"):
        run(["createrepo_c", "--version"], env={"PATH": "/nonexistent"})
    with pytest.raises(
        NotInstalled, match=r"^netnsfix-no-such-tool: not installed \(apt-get install netnsfix-no-such-tool\)$"
    ):
        run(["netnsfix-no-such-tool"])


def test_a_path_that_cannot_run_is_not_called_missing(tmp_path: Path) -> None:
    text = tmp_path / "not-a-program"
    text.write_text("hello\n")
    text.chmod(0o644)
    with pytest.raises(CommandError, match=r"cannot run .*not-a-program: Permission denied") as raised:
        run([text])
    assert not isinstance(raised.value, NotInstalled)
    with pytest.raises(CommandError, match=r"cannot run in .*nowhere: no such folder"):
        run(["true"], cwd=tmp_path / "nowhere")


def test_failure_names_the_program_exit_code_and_last_line() -> None:
    script = "echo progress; echo first problem >&2; echo the real reason >&2; exit 4"
    with pytest.raises(CommandError, match=r"^sh failed \(exit 4\): the real reason$"):
        run(["sh", "-c", script])
    with pytest.raises(CommandError, match=r"^rpmbuild -bs x.spec failed \(exit 1\): only stdout$"):
        run(["sh", "-c", "echo only stdout; exit 1"], what="rpmbuild -bs x.spec")
    with pytest.raises(CommandError, match=r"^false failed \(exit 1\): no output$"):
        run(["false"])


def test_no_check_returns_the_failure() -> None:
    result = run(["sh", "-c", "echo why >&2; exit 9"], check=False)
    assert (result.returncode, result.stderr) == (9, "why\n")


def test_timeout_is_a_clear_error_and_kills_the_program() -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"^slow thing: no answer after 0.5 s$"):
        run(["sleep", "30"], timeout=0.5, what="slow thing")
    assert time.monotonic() - started < 10


def test_last_line() -> None:
    assert last_line("a\nb\n", "c") == "b"
    assert last_line("", "c\nd\n") == "d"
    assert last_line("", "  \n") == "no output"


def test_streamed_output_is_read_as_written_and_a_failure_raises_at_the_end() -> None:
    with streamed(["sh", "-c", "printf abc; printf def"]) as out:
        assert out.read() == b"abcdef"
    with pytest.raises(CommandError, match=r"^sh failed \(exit 3\): broken$"):
        with streamed(["sh", "-c", "echo broken >&2; exit 3"]) as out:
            out.read()
    with pytest.raises(NotInstalled, match=r"^no-such-program-xyz: not installed"):
        with streamed(["no-such-program-xyz"]):
            pass


def test_streamed_program_is_killed_when_the_reader_fails() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="reader broke"):
        with streamed(["sleep", "30"]):
            raise RuntimeError("reader broke")
    assert time.monotonic() - started < 10
