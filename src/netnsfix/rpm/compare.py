"""Compare two builds of one package field by field: what a reproducibility check reports.

Two RPMs are the same build when their payloads are byte-identical and their
main headers agree; the signature header (digests of the header, signatures)
follows from those and is not compared. The differences are reported the way
a packager looks for them: the payload's sha256, each file (digest, mode,
owner, group, mtime, size, link target, flags, inode), the requires and provides, the
scriptlets, and every other header tag by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from netnsfix.rpm.header import FileEntry, RpmHeader, read_header

# Header tags reported elsewhere: per file, as requires/provides, or the payload itself.
_FILE_TAGS = frozenset({"BASENAMES", "DIRNAMES", "DIRINDEXES", "OLDFILENAMES", "LONGFILESIZES", "TAG1033", "FILERDEVS"})
_DEPENDENCY_TAGS = frozenset({"REQUIRENAME", "REQUIREFLAGS", "REQUIREVERSION", "PROVIDES", "PROVIDEFLAGS"})
_DEPENDENCY_TAGS |= {"PROVIDEVERSION"}
SCRIPTLET_TAGS = frozenset(
    {"PREIN", "POSTIN", "PREUN", "POSTUN", "PRETRANS", "POSTTRANS", "VERIFYSCRIPT"}
    | {"PREINPROG", "POSTINPROG", "PREUNPROG", "POSTUNPROG", "PRETRANSPROG", "POSTTRANSPROG"}
    | {"TRIGGERSCRIPTS", "TRIGGERSCRIPTPROG"}
)
_FILE_FIELDS = ("digest", "mode", "user", "group", "mtime", "size", "linkto", "flags", "caps", "inode")


@dataclass(frozen=True)
class Difference:
    """One field that differs between two builds of ``package``."""

    package: str  # the RPM's file name
    field: str  # "payload sha256", "file /usr/sbin/ip mtime", "requires", "scriptlet POSTIN", "header BUILDTIME"
    first: str
    second: str

    @property
    def header_tag(self) -> str:
        """The header tag this difference is in ("" for the payload, files and dependencies)."""
        return self.field.removeprefix("header ") if self.field.startswith("header ") else ""


def payload_sha256(rpm: Path, header: RpmHeader | None = None) -> str:
    """The sha256 of the compressed payload: everything after the headers."""
    header = header or read_header(rpm)
    digest = hashlib.sha256()
    with open(rpm, "rb") as stream:
        stream.seek(header.payload_offset)
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def compare_rpms(first: Path, second: Path) -> list[Difference]:
    """Every field in which ``second`` differs from ``first`` (empty: the same build)."""
    a, b = read_header(first), read_header(second)
    name = first.name
    found: list[Difference] = []

    def differ(field: str, x: object, y: object) -> None:
        if x != y:
            found.append(Difference(name, field, _shown(x), _shown(y)))

    differ("payload sha256", payload_sha256(first, a), payload_sha256(second, b))
    files_a, files_b = _by_path(a.entries), _by_path(b.entries)
    for path in sorted(files_a.keys() | files_b.keys()):
        x, y = files_a.get(path), files_b.get(path)
        if x is None or y is None:
            differ(f"file {path}", "present" if x else "absent", "present" if y else "absent")
            continue
        for field in _FILE_FIELDS:
            shown_x, shown_y = getattr(x, field), getattr(y, field)
            if field == "mode":
                shown_x, shown_y = oct(shown_x), oct(shown_y)
            differ(f"file {path} {field}", shown_x, shown_y)
    differ("requires", a.requires, b.requires)
    differ("provides", a.provides, b.provides)
    tags_a, tags_b = dict(a.tags), dict(b.tags)
    for tag in sorted(tags_a.keys() | tags_b.keys()):
        if tag in _FILE_TAGS or tag.startswith("FILE") or tag in _DEPENDENCY_TAGS:
            continue
        kind = "scriptlet" if tag in SCRIPTLET_TAGS else "header"
        differ(f"{kind} {tag}", tags_a.get(tag, "(none)"), tags_b.get(tag, "(none)"))
    return found


def _by_path(entries: tuple[FileEntry, ...]) -> dict[str, FileEntry]:
    return {e.path: e for e in entries}


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
