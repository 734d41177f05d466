"""Read what dpkg recorded in a Debian root: packages, their files, diversions, alternatives.

The demo archive's binary side repackages a debootstrapped Debian as RPMs;
this module only reads the root's dpkg database (no dpkg needed on the host)
and says which package owns which path, with paths written as a merged-usr
system sees them (``/bin/x`` is ``/usr/bin/x``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import CommandError

MERGED = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


@dataclass(frozen=True)
class DebRelation:
    """One alternative of a Depends entry: ``name (op version)``."""

    name: str
    op: str | None = None  # >=, <=, =, <<, >>
    version: str | None = None


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str  # Debian's, with epoch and revision
    arch: str  # amd64 or all
    summary: str
    depends: tuple[tuple[DebRelation, ...], ...]  # Pre-Depends and Depends: a list of alternatives
    provides: tuple[str, ...]
    conffiles: tuple[str, ...]


@dataclass(frozen=True)
class Alternative:
    """An update-alternatives group: the links dpkg made and the link in /etc/alternatives."""

    name: str
    links: tuple[tuple[str, str], ...]  # (link path, name under /etc/alternatives)


def canonical(path: str) -> str:
    """The path under merged /usr: ``/bin/sh`` -> ``/usr/bin/sh``."""
    for top in MERGED:
        if path == top or path.startswith(top + "/"):
            return "/usr" + path
    return path


def _paragraphs(text: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line[1:]
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            result.append(fields)
    return result


_RELATION = re.compile(r"^\s*([A-Za-z0-9.+\-]+)(?::[a-z0-9]+)?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?")


def parse_relations(field: str) -> tuple[tuple[DebRelation, ...], ...]:
    """``a (>= 1) | b, c:any`` -> ((a>=1, b), (c,)); architecture qualifiers dropped."""
    groups = []
    for group in field.split(","):
        options = []
        for option in group.split("|"):
            match = _RELATION.match(option)
            if match and match.group(1):
                op = {"<": "<=", ">": ">="}.get(match.group(2) or "", match.group(2))
                options.append(DebRelation(match.group(1), op, match.group(3)))
        if options:
            groups.append(tuple(options))
    return tuple(groups)


def read_status(root: Path) -> dict[str, DebPackage]:
    """Every installed package of the root's /var/lib/dpkg/status, by name."""
    status = root / "var" / "lib" / "dpkg" / "status"
    try:
        text = status.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise CommandError(f"{status}: cannot read dpkg's status: {error.strerror or error}") from None
    packages: dict[str, DebPackage] = {}
    for fields in _paragraphs(text):
        if "install ok installed" not in fields.get("Status", ""):
            continue
        depends = ", ".join(v for v in (fields.get("Pre-Depends"), fields.get("Depends")) if v)
        conffiles = tuple(
            line.split()[0]
            for line in fields.get("Conffiles", "").splitlines()
            if line.strip() and not line.rstrip().endswith(("obsolete", "remove-on-upgrade"))
        )
        provides = tuple(rel.name for group in parse_relations(fields.get("Provides", "")) for rel in group)
        name = fields["Package"]
        packages[name] = DebPackage(
            name=name,
            version=fields.get("Version", "0"),
            arch=fields.get("Architecture", "all"),
            summary=fields.get("Description", name).splitlines()[0].strip() or name,
            depends=parse_relations(depends),
            provides=provides,
            conffiles=conffiles,
        )
    return packages


def read_diversions(root: Path) -> dict[str, tuple[str, str]]:
    """Diverted path -> (where it went, the package that diverted it)."""
    path = root / "var" / "lib" / "dpkg" / "diversions"
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    return {lines[i]: (lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)}


def file_list(root: Path, package: DebPackage) -> list[str]:
    """The paths dpkg recorded for ``package`` (files, links and directories), as listed."""
    info = root / "var" / "lib" / "dpkg" / "info"
    for candidate in (info / f"{package.name}.list", info / f"{package.name}:amd64.list"):
        if candidate.exists():
            return [
                line for line in candidate.read_text(errors="surrogateescape").splitlines() if line and line != "/."
            ]
    return []


def read_alternatives(root: Path) -> list[Alternative]:
    """The update-alternatives groups dpkg's maintainer scripts registered."""
    folder = root / "var" / "lib" / "dpkg" / "alternatives"
    groups = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        lines = entry.read_text().splitlines()
        if len(lines) < 2:
            continue
        links = [(lines[1], entry.name)]
        index = 2
        while index + 1 < len(lines) and lines[index]:
            links.append((lines[index + 1], lines[index]))
            index += 2
        groups.append(Alternative(entry.name, tuple(links)))
    return groups


def inside(root: Path, path: str) -> Path:
    """``path`` (absolute in the root) as a host path, without following its last component."""
    return root / path.lstrip("/")


def real_parent(root: Path, path: str) -> bool:
    """True when no component above ``path``'s last one is a symlink (after canonicalising)."""
    parent = inside(root, os.path.dirname(path))
    return os.path.realpath(parent) == os.path.normpath(str(parent))
