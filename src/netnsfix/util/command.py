"""The one way netnsfix runs a program: :func:`run`, and what it left behind (:class:`CommandResult`).

Every module that runs a tool (rpmbuild, createrepo_c, gpg, dnf, debootstrap,
unshare, ...) calls :func:`run`, so "not installed", "failed" and "no answer"
are each one :class:`CommandError` worded the same way everywhere. Callers
that report another error type catch it and raise theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from netnsfix.errors import CommandError, CommandTimeout, NotInstalled

# The Debian package that ships a program, where its name differs from the program's.
PACKAGES: dict[str, str] = {
    "rpmbuild": "rpm",
    "rpmsign": "rpm",
    "createrepo_c": "createrepo-c",
    "gpg": "gnupg",
    "unshare": "util-linux",
    "ovs-vsctl": "openvswitch-switch",
    "systemctl": "systemd",
    "ip": "iproute2",
}


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str  # empty when stderr was merged into stdout


def last_line(stderr: str, stdout: str) -> str:
    """What a failed command said last: the last line of its stderr, else of its stdout, else "no output"."""
    lines = (stderr or stdout).strip().splitlines()
    return lines[-1] if lines else "no output"


def install_hint(program: str) -> str:
    """``apt-get install PKG`` for ``program`` (by its base name)."""
    name = os.path.basename(program)
    return f"apt-get install {PACKAGES.get(name, name)}"


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float | None = None,
    check: bool = True,
    merge_output: bool = False,
    what: str | None = None,
) -> CommandResult:
    """Run ``argv`` to the end with its output captured (text; undecodable bytes replaced).

    stdin is ``input`` or nothing (never the user's terminal). ``merge_output``
    puts stderr into stdout, in the order written. ``what`` names the command
    in messages (default: the program). Raises :class:`NotInstalled` when the
    program is missing, :class:`CommandTimeout` after ``timeout`` seconds, and
    (when ``check``) :class:`CommandError` with the exit code and the last line
    it printed when it exits non-zero.
    """
    args = tuple(os.fspath(part) for part in argv)
    if not args:
        raise CommandError("no command to run")
    name = what or args[0]
    try:
        done = subprocess.run(
            args,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            timeout=timeout,
            text=True,
            errors="replace",
            check=False,
        )
    except FileNotFoundError as error:
        if cwd is not None and not Path(cwd).is_dir():
            raise CommandError(f"{name}: cannot run in {cwd}: no such folder") from None
        if "/" not in args[0] and shutil.which(args[0], path=(env or os.environ).get("PATH")) is None:
            raise NotInstalled(f"{args[0]}: not installed ({install_hint(args[0])})") from None
        raise CommandError(f"{_cannot(what, args[0])}: {error.strerror or error}") from None
    except subprocess.TimeoutExpired:
        raise CommandTimeout(f"{name}: no answer after {timeout:g} s") from None
    except OSError as error:  # not executable, wrong architecture, ...
        raise CommandError(f"{_cannot(what, args[0])}: {error.strerror or error}") from None
    result = CommandResult(args, done.returncode, done.stdout or "", done.stderr or "")
    if check and done.returncode != 0:
        raise CommandError(f"{name} failed (exit {done.returncode}): {last_line(result.stderr, result.stdout)}")
    return result


def _cannot(what: str | None, program: str) -> str:
    return f"{what}: cannot run {program}" if what else f"cannot run {program}"


@contextmanager
def streamed(argv: Sequence[str | os.PathLike[str]], *, what: str | None = None) -> Iterator[IO[bytes]]:
    """Run ``argv`` and yield its stdout to read as it is written (``tar`` into ``docker import``).

    The program is killed when the reader fails; leaving the block waits for it and raises the
    same errors as :func:`run` (missing program, non-zero exit with its last line of stderr).
    """
    args = tuple(os.fspath(part) for part in argv)
    name = what or args[0]
    try:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise NotInstalled(f"{args[0]}: not installed ({install_hint(args[0])})") from None
    except OSError as error:
        raise CommandError(f"{_cannot(what, args[0])}: {error.strerror or error}") from None
    assert process.stdout is not None and process.stderr is not None
    try:
        yield process.stdout
    except BaseException:
        process.kill()
        raise
    finally:
        process.stdout.close()
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        code = process.wait()
    if code != 0:
        raise CommandError(f"{name} failed (exit {code}): {last_line(stderr, '')}")
