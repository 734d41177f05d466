"""The command line's dispatch: each command loads its own module, and --help lists them all."""

from __future__ import annotations

import argparse
from importlib import import_module

import pytest

from netnsfix.cli import COMMAND_MODULES, COMMANDS, Exit, main


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    registered: dict[str, str] = {}
    for name in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        import_module(f"netnsfix.cli.{name}").register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    assert registered == COMMANDS


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)


def test_an_unknown_command_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["-v", "no-such-command"])
    assert stop.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser (host's and patch's subcommands as 'host plan', 'patch check', ...)."""
    root = argparse.ArgumentParser()
    subparsers = root.add_subparsers()
    for name in COMMAND_MODULES:
        import_module(f"netnsfix.cli.{name}").register(subparsers)
    found: dict[str, argparse.ArgumentParser] = {}
    for command, parser in subparsers.choices.items():
        found[command] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found.update({f"{command} {sub}": p for sub, p in action.choices.items()})
    return found


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings or a.dest == flag)


def test_options_that_mean_the_same_are_spelled_alike() -> None:
    parsers = _parsers()
    archive_commands = ("resolve", "fetch", "srpm", "image", "build")
    for flag in ("--mirror", "--lock", "--retries", "recipe"):
        spelled = {(type(a).__name__, a.metavar, a.help) for a in (_option(parsers[c], flag) for c in archive_commands)}
        assert len(spelled) == 1, (flag, spelled)
    mirror = _option(parsers["build"], "--mirror")
    assert mirror.metavar == "URL" and isinstance(mirror, argparse._AppendAction)
    assert _option(parsers["demo"], "recipe").help == _option(parsers["build"], "recipe").help
    assert _option(parsers["demo"], "--force").help == _option(parsers["build"], "--force").help
    assert {_option(parsers[c], "--port").help for c in ("serve", "demo-archive")} == {
        "port to serve on (default: a free one)"
    }
    assert {_option(parsers[c], "--out").metavar for c in ("srpm", "build")} == {"DIR"}
    assert {_option(parsers[c], "--srpm").metavar for c in ("image", "build")} == {"FILE"}


def test_every_help_prints_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """No literal %% (argparse formats help strings with %, not descriptions), no lower-case
    metavars made up from option names, and every positional says what it is."""
    for command, parser in _parsers().items():
        text = parser.format_help()
        assert "%%" not in text, command
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, (command, action.dest)
            if action.option_strings and action.nargs != 0 and not action.choices:
                assert action.metavar, (command, action.option_strings)
    assert "(Patch/%patch, Release, %changelog)" in " ".join(_parsers()["srpm"].format_help().split())


def _unforeseen(*_args: object, **_kwargs: object) -> None:
    raise KeyError("path")  # an error nobody foresaw, as the hostile probe met one


@pytest.mark.parametrize(
    ("module", "function", "argv"),
    [
        ("netnsfix.cli.host", "plan_steps", ["host", "plan", "--root", "{tmp}"]),
        ("netnsfix.cli.fleet", "run_action", ["fleet", "plan", "-i", "{tmp}/hosts", "--project", "{tmp}"]),
    ],
    ids=["host-plan", "fleet-plan"],
)
def test_an_unforeseen_error_in_a_plan_exits_2_not_would_change(
    module: str, function: str, argv: list[str], tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """`plan` exits 1 for "would change": an error nobody foresaw must not look like that to a script."""
    monkeypatch.setattr(import_module(module), function, _unforeseen)
    code = main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    out, err = capsys.readouterr()
    assert code == Exit.ERROR == 2 and out == ""
    assert err == "netnsfix: error: unexpected KeyError: 'path' (run with -v for the traceback)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_every_exit_status_is_in_the_readmes_table(project_root) -> None:
    readme = (project_root / "README.md").read_text()
    table = readme[readme.index("### Exit status") :]
    table = table[: table.index("\n\n", table.index("|"))]
    rows = {line.split("|")[1].strip(" `") for line in table.splitlines() if line.startswith("| `")}
    assert rows == {str(int(member)) for member in Exit}


def test_an_error_while_a_commands_module_loads_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the handler runs (a library the command's module imports is broken): still one line, 2;
    -v, given before the command, adds the traceback."""
    import netnsfix.cli

    def broken(name: str) -> None:
        raise ImportError(f"cannot import {name}: libcreaterepo_c.so.1 is missing")

    monkeypatch.setattr(netnsfix.cli, "import_module", broken)
    assert main(["publish", "out", "--repo", "repo"]) == Exit.ERROR
    err = capsys.readouterr().err
    assert err == (
        "netnsfix: error: unexpected ImportError: cannot import netnsfix.cli.publish: libcreaterepo_c.so.1 is "
        "missing (run with -v for the traceback)\n"
    )
    assert main(["-v", "publish", "out"]) == Exit.ERROR
    loud = capsys.readouterr().err
    assert loud.startswith("Traceback (most recent call last):\n") and loud.endswith(err)


def test_a_fleet_run_skips_logging_and_a_logging_command_still_logs_as_netnsfix(tmp_path) -> None:
    """`netnsfix fleet` loads nothing that logs, so it does not import logging (15 ms of its every run); a
    module that logs, imported by a handler, logs on stderr as netnsfix's once log_to_stderr has run."""
    import subprocess
    import sys

    fleet = (
        "import sys\nfrom netnsfix.cli import main\n"
        "code = main(['fleet', 'plan', '-i', sys.argv[1], '--project', sys.argv[1]])\n"
        "print(code, 'logging' in sys.modules, 'traceback' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", fleet, str(tmp_path / "none")], capture_output=True, text=True)
    assert done.stdout == "2 False False\n", done.stdout + done.stderr
    logs = (
        "import sys\nfrom netnsfix.cli import log_to_stderr\n"
        "log_to_stderr(True)\nimport netnsfix.archive.fetch as fetch\nfetch.log.info('before: not configured')\n"
        "log_to_stderr(True)\nfetch.log.info('fetched x')\n"
    )
    done = subprocess.run([sys.executable, "-c", logs], capture_output=True, text=True)
    assert done.stderr == "netnsfix: fetched x\n", done.stderr
