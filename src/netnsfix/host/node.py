"""The controller's side of the node library: ``netnsfix host`` runs the collection's module_utils in-process.

The library (``netnsfix.collection.plugins.module_utils``) is the code the
Ansible modules run on a node's Python 2.7; here it runs on this machine's
Python against ``--root``. This module is the glue: the runner seam (argv ->
rc, out, err through util.command, the only subprocess importer) and the
translation of the library's NodeError into HostError (exit 2), keeping the
cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from netnsfix.collection.plugins.module_utils.errors import NodeError
from netnsfix.collection.plugins.module_utils.plan import Node
from netnsfix.collection.plugins.module_utils.rootfs import RootFS
from netnsfix.collection.plugins.module_utils.settings import Settings
from netnsfix.errors import CommandError, HostError, NotInstalled
from netnsfix.util import command

TIMEOUT = 60
Runner = Callable[[list[str]], tuple[int, str, str]]


class Step(Protocol):
    """What the controller reads of a library step (module_utils/privatetmp.py and the others)."""

    name: str
    summary: str
    restarts: tuple[str, ...]

    def desired(self, settings: Any) -> Any: ...

    def plan(self, node: Any) -> Any: ...

    def verify(self, node: Any) -> None: ...


def run_command(argv: list[str]) -> tuple[int, str, str]:
    """The runner the library calls: a command on this machine, with a timeout, its output captured."""
    args = tuple(argv)
    try:
        result = command.run(args, timeout=TIMEOUT, check=False, what=" ".join(args))
    except NotInstalled as error:
        raise NodeError(f"{error} (needed for: {' '.join(args)})") from None
    except CommandError as error:  # no answer within TIMEOUT, or cannot run at all
        raise NodeError(str(error)) from None
    return result.returncode, result.stdout, result.stderr


def make_node(root: Path, settings: Settings, runner: Runner = run_command) -> Node:
    return Node(RootFS(str(root)), settings, runner)


@contextmanager
def host_errors() -> Iterator[None]:
    """The library's errors as HostError (one line, exit 2), the cause kept."""
    try:
        yield
    except NodeError as error:  # the file (or folder) is the subject, the reason the problem
        raise (HostError(error.path, error.reason) if error.path else HostError(error.reason)) from error
