"""The one seam to Ansible: ansible-playbook, ansible-inventory and their versions.

Everything runs through :func:`netnsfix.util.command.run`. The programs are
looked up beside the running Python first (the venv that ``netnsfix[fleet]``
installed them into), then on PATH. ansible-playbook's results come back as
the ``json`` stdout callback's document, which :mod:`netnsfix.fleet.results`
reads; nothing else here knows what a play result looks like.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netnsfix.errors import CommandError, FleetError, NotInstalled
from netnsfix.util.command import run

if TYPE_CHECKING:  # doctor_check's only: a fleet run does not load the doctor
    from netnsfix.doctor import Check

# ansible-core 2.16 is the last series that runs modules on Python 2.7 targets (Fedora 18).
CORE_SERIES = (2, 16)
PLAYBOOK_TIMEOUT = 3600.0
HINT = "install it with: pip install 'netnsfix[fleet]' (ansible>=9,<10, which bundles ansible-core 2.16)"


@dataclass(frozen=True)
class PlaybookRun:
    """What ansible-playbook said: the json callback's document, its exit code, its stderr."""

    document: Mapping[str, Any]
    returncode: int
    stderr: str
    seconds: float


def program(name: str) -> str:
    """The path of an Ansible program: beside this Python (its venv) first, then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FleetError(f"{name}: not installed; {HINT}")
    return found


def _installed_version(playbook: str) -> str | None:
    """ansible-core's version, when ``playbook`` is the script of an ansible-core installed on this Python's path.

    Saves starting ansible-playbook once per run (about a second) in the usual case, netnsfix and Ansible in
    one venv; any other ansible-playbook (another install, a wrapper script) is asked with --version. Read
    straight from the installation's ``ansible_core-VERSION.dist-info`` folder (the name carries the version,
    PEP 427) and its RECORD (which lists the script): importlib.metadata reads the same files, but importing
    it and parsing RECORD into objects costs 35 ms, a quarter of what ``netnsfix fleet`` adds to every
    ansible-playbook run.
    """
    target = Path(playbook).resolve()
    for entry in sys.path:
        folder = Path(entry or ".")
        for info in folder.glob("ansible_core-*.dist-info"):
            try:
                with open(info / "RECORD", encoding="utf-8") as record:
                    for line in record:
                        listed = line.split(",", 1)[0]
                        if listed.endswith("/ansible-playbook") and (folder / listed).resolve() == target:
                            return info.name.removeprefix("ansible_core-").removesuffix(".dist-info")
            except OSError:
                continue
    return None


def core_version() -> str:
    """ansible-core's version ("2.16.19"), or a FleetError naming what is wrong."""
    installed = _installed_version(program("ansible-playbook"))
    if installed is not None:
        return installed
    try:
        result = run([program("ansible-playbook"), "--version"], timeout=60, what="ansible-playbook --version")
    except NotInstalled:
        raise FleetError(f"ansible-playbook: not installed; {HINT}") from None
    except CommandError as error:
        raise FleetError(f"ansible-playbook --version: {error}") from None
    match = re.search(r"core (\d+)\.(\d+)\.(\d+)", result.stdout)
    if match is None:
        raise FleetError(f"ansible-playbook --version: cannot read ansible-core's version from {result.stdout[:80]!r}")
    return ".".join(match.groups())


def check_version() -> str:
    """ansible-core's version when it is the 2.16 series, else a FleetError saying why it must be."""
    version = core_version()
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) != CORE_SERIES:
        raise FleetError(
            f"ansible-core {version} is not 2.16.x: Fedora 18 nodes run Python 2.7, which ansible-core "
            f"2.17 and later cannot manage; {HINT}"
        )
    return version


def base_environment(project: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            # the programs of this venv (the docker connection and ssh use PATH too)
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if project is not None:
        env["ANSIBLE_CONFIG"] = str(project / "ansible.cfg")
    return env


def inventory(path: Path) -> dict[str, Any]:
    """``ansible-inventory --list`` of ``path``: groups and host variables, as Ansible itself reads them."""
    if not path.is_file():
        raise FleetError(f"{path}: inventory missing")
    argv = [program("ansible-inventory"), "-i", str(path), "--list"]
    try:
        result = run(argv, env=base_environment(), timeout=120, check=False, what="ansible-inventory")
    except CommandError as error:
        raise FleetError(f"{path}: {error}") from None
    if result.returncode != 0:
        raise FleetError(f"{path}: not an inventory Ansible can read: {_last_error(result.stderr)}")
    try:
        listing = json.loads(result.stdout)
    except ValueError:
        raise FleetError(f"{path}: ansible-inventory printed no JSON: {result.stdout[:80]!r}") from None
    if not isinstance(listing, dict):
        raise FleetError(f"{path}: ansible-inventory printed {type(listing).__name__}, not a listing")
    return listing


def playbook(
    project: Path,
    name: str,
    inventory_path: Path,
    *,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    forks: int | None = None,
    extra: Sequence[str] = (),
) -> PlaybookRun:
    """Run ``ansible-playbook NAME`` in ``project`` with the json callback; its document, whatever the outcome."""
    import time

    argv = [program("ansible-playbook"), "-i", str(inventory_path), name]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if limit:
        argv += ["--limit", limit]
    if forks:
        argv += ["--forks", str(forks)]
    argv += list(extra)
    env = base_environment(project)
    env["ANSIBLE_STDOUT_CALLBACK"] = "json"
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    started = time.monotonic()
    try:
        result = run(argv, env=env, cwd=project, timeout=PLAYBOOK_TIMEOUT, check=False, what=f"ansible-playbook {name}")
    except CommandError as error:
        raise FleetError(str(error)) from None
    seconds = time.monotonic() - started
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise FleetError(
            f"ansible-playbook {name} (exit {result.returncode}): {_last_error(result.stderr or result.stdout)}"
        ) from None
    if not isinstance(document, dict):
        raise FleetError(f"ansible-playbook {name}: the json callback printed {type(document).__name__}")
    return PlaybookRun(document, result.returncode, result.stderr, seconds)


def _last_error(text: str) -> str:
    """The line of Ansible's output that says what is wrong (its ERROR!/WARNING lines), on one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for marker in ("ERROR!", "[WARNING]: Unable to parse", "[WARNING]"):
        found = [line for line in lines if marker in line]
        if found:
            return found[0]
    return lines[-1] if lines else "no output"


def doctor_check() -> Check:
    """``netnsfix doctor``'s line for Ansible: missing, the wrong series, or the 2.16.x that fleet needs."""
    from netnsfix.doctor import Check

    try:
        version = check_version()
    except FleetError as error:
        return Check("ansible", False, str(error), HINT.removeprefix("install it with: "), "netnsfix fleet", False)
    return Check("ansible", True, f"ansible-core {version} ({program('ansible-playbook')})")
