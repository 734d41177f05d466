"""What each companion step wants on a node, as data: the one source of truth.

``netnsfix host`` plans from these records on a root folder, and ``netnsfix
fleet export`` turns the very same records into the Ansible role; neither
holds a fix value of its own (drop-in text, INI keys and values, the VIF
driver, the iptables lines). A step's :meth:`desired` answers from the
node's settings alone, without reading the node, so the exporter can ask it
for every node in an inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class WantedFile:
    """A whole file the step owns: these bytes, this mode."""

    path: PurePosixPath
    content: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class IniSetting:
    """``key = value`` in ``[section]`` of an INI file (comments, order and spacing kept).

    ``fallback``: the file to edit instead when ``path`` does not exist on the node.
    """

    path: PurePosixPath
    section: str
    key: str
    value: str
    fallback: PurePosixPath | None = None


@dataclass(frozen=True)
class CheckedPatch:
    """One line of an installed module changed, only where the lines around it are the release's.

    The module is found under the node's Python 2 library folders (``search``
    globs joined with ``module``). Lines ``first`` on must be ``released`` (then
    line ``line`` becomes ``new``) or one of ``already`` (nothing to do); any
    other file is not the one netnsfix knows, and nothing is changed.
    """

    module: str
    search: tuple[str, ...]
    first: int
    released: tuple[str, ...]
    already: tuple[tuple[str, ...], ...]
    line: int
    new: str


@dataclass(frozen=True)
class Bridge:
    """An Open vSwitch bridge, with the NIC that becomes its port (None: no port)."""

    name: str
    port: str | None = None


@dataclass(frozen=True)
class Desired:
    """Everything one step wants, and which services must take it.

    ``daemon_reload``: systemd must reread unit files; ``restart``: the
    services (without ``.service``) to restart when this step changed the node.
    """

    step: str
    files: tuple[WantedFile, ...] = ()
    ini: tuple[IniSetting, ...] = ()
    patches: tuple[CheckedPatch, ...] = ()
    bridges: tuple[Bridge, ...] = ()
    daemon_reload: bool = False
    restart: tuple[str, ...] = ()


def ini_values(settings: tuple[IniSetting, ...], path: PurePosixPath) -> dict[str, dict[str, str]]:
    """The settings for one file as section -> key -> value, in their order."""
    values: dict[str, dict[str, str]] = {}
    for setting in settings:
        if setting.path == path:
            values.setdefault(setting.section, {})[setting.key] = setting.value
    return values


def ini_files(settings: tuple[IniSetting, ...]) -> tuple[PurePosixPath, ...]:
    """The files ``settings`` touch, each once, in first-seen order."""
    return tuple(dict.fromkeys(setting.path for setting in settings))
