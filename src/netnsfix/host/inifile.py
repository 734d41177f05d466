"""INI edits that keep everything else: comments, order, spacing, other keys.

The way crudini or Ansible's ini_file would do it, with configupdater: a key
that exists gets its value replaced in place; a new key goes right after a
commented-out line for it (``# key = ...``, or ``# Default: key = ...`` as
quantum's plugin inis write them), else after the section's last option; a
missing section is added at the end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

from configupdater import ConfigUpdater
from configupdater.block import Block, Comment
from configupdater.option import Option
from configupdater.section import Section

from netnsfix.errors import HostError
from netnsfix.host.core import FileChange, Node
from netnsfix.host.desired import IniSetting, ini_files, ini_values
from netnsfix.host.noderoot import host_path, read_file, resolve


def set_options(data: bytes, where: Path, values: Mapping[str, Mapping[str, str]]) -> bytes:
    """``data`` with ``values`` (section -> key -> value) set; identical bytes when nothing differs."""
    text = data.decode("utf-8")
    updater = _parse(text, where)
    changed = False
    added = ""
    for section_name, options in values.items():
        if not updater.has_section(section_name):
            added += f"\n[{section_name}]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
            continue
        section = updater[section_name]
        for key, value in options.items():
            if section.has_option(key):
                option = section[key]
                if (option.value or "").strip() != value:
                    option.value = value
                    changed = True
                continue
            anchor = _anchor(section, key)
            if anchor is None:
                section[key] = value
            else:
                anchor.add_after.option(key, value)
            changed = True
    if not changed and not added:
        return data
    result = str(updater) if changed else text
    if added and result and not result.endswith("\n"):
        result += "\n"
    return (result + added).encode("utf-8")


def get_option(data: bytes, where: Path, section: str, key: str) -> str | None:
    updater = _parse(data.decode("utf-8"), where)
    if not updater.has_section(section) or not updater[section].has_option(key):
        return None
    return (updater[section][key].value or "").strip()


def _parse(text: str, where: Path) -> ConfigUpdater:
    updater = ConfigUpdater()
    try:
        updater.read_string(text, source=str(where))
    except Exception as error:  # noqa: BLE001 - configupdater raises configparser's many error types
        raise HostError(f"{where}: not an INI file netnsfix can edit: {' '.join(str(error).split())}") from None
    return updater


def _anchor(section: Section, key: str) -> Block | None:
    """Where a new key goes: after the comment that shows it, else after the section's last option.

    The comment is ``# key = ...`` (quantum.conf's ``# allow_overlapping_ips = False``) or, as quantum's
    plugin inis write them, ``# Default: key = ...`` / ``# Example: key = ...``; only the section's own
    comments count (the OVS plugin ini's [AGENT] holds sample ``# [OVS]`` lines).
    """
    commented = re.compile(commented_key(key))
    last_option = None
    for block in section.iter_blocks():
        if isinstance(block, Comment) and any(commented.match(line) for line in block.lines):
            return block
        if isinstance(block, Option):
            last_option = block
    return last_option


def ini_change(node: Node, step: str, path: PurePosixPath, values: dict[str, dict[str, str]]) -> FileChange | None:
    """The change that sets ``values`` in the INI file at ``path`` (symlinks followed), or None."""
    real = resolve(node.root, path)
    before = read_file(node.root, path, step)
    after = set_options(before, host_path(node.root, real), values)
    return None if after == before else FileChange(real, before, after)


def ini_changes(node: Node, step: str, settings: tuple[IniSetting, ...]) -> tuple[FileChange, ...]:
    """The changes that make every file in ``settings`` hold its values, one per file that differs.

    A setting whose file is missing while its ``fallback`` is there goes to the fallback.
    """
    placed = tuple(
        replace(s, path=s.fallback)
        if s.fallback is not None and not os.path.lexists(host_path(node.root, s.path))
        else s
        for s in settings
    )
    changes = [ini_change(node, step, path, ini_values(placed, path)) for path in ini_files(placed)]
    return tuple(change for change in changes if change is not None)


def commented_key(key: str) -> str:
    """The pattern of a comment line that shows ``key`` (``# key = ...``, ``# Default: key = ...``)."""
    return rf"^[ \t]*[#;][ \t]*(?:(?:Default|Example)[ \t]*:[ \t]*)?{re.escape(key)}[ \t]*[=:]"
