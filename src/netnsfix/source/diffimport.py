"""Turn a diff pasted from notes into a patch that ``patch -p1`` and rpmbuild apply.

Diffs copied from blogs and notes come with prose around them, a ``# diff``
command line, file names like ``ip/ipnetns.c.orig``/``.new`` that no source
tree holds, timestamps, and blank context lines whose leading space an editor
ate. The hunk headers' line counts say exactly where each hunk ends, so the
text can be cut and repaired without guessing; the result is then checked
against the real sources at fuzz 0 before anyone trusts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import PatchError
from netnsfix.source.patching import PatchReport, SourceTree, check_patch_text, source_tree
from netnsfix.util.inputfile import read_input

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
# Suffixes people give the two copies they diff: ipnetns.c.orig, ipnetns.c.new, ipnetns.c~ ...
COPY_SUFFIX = re.compile(
    r"(\.orig|\.original|\.new|\.old|\.bak|\.backup|\.rej|\.save|\.sav|\.tmp|\.prev|\.patched|\.mine|~)$",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(
    r"(\t.*"  # diff -u puts a tab before the time
    r"|\s+\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[+-]\d{4})?"  # tab pasted as spaces
    r"|\s+(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d"
    r" \d\d:\d\d:\d\d \d{4})\s*$"
)
_COMMAND = re.compile(r"^\s*[#$]?\s*diff\s")
DEV_NULL = "/dev/null"


@dataclass(frozen=True)
class ImportResult:
    """A pasted diff made into a patch, what was repaired, and how it matched the sources."""

    text: str
    path_in_tree: str
    changes: tuple[str, ...]  # human sentences of what was normalized
    report: PatchReport


@dataclass(frozen=True)
class _Hunk:
    header: str
    lines: tuple[str, ...]
    restored: tuple[int, ...]  # 1-based lines of the paste whose blank context got its space back


@dataclass(frozen=True)
class _Section:
    first_line: int  # 1-based line of the '---' header in the paste
    last_line: int  # 1-based last line of its last hunk
    old_name: str
    new_name: str
    stamped: bool
    hunks: tuple[_Hunk, ...]


def import_pasted(pasted: Path, source: Path) -> ImportResult:
    """Read a pasted diff from ``pasted`` and make it a patch for ``source`` (folder or tarball)."""
    data = read_input(pasted, PatchError, missing="no such file")  # a FIFO or a folder is refused at once
    return import_text(data.decode("utf-8", errors="surrogateescape"), source, origin=pasted)


def import_text(text: str, source: Path, *, origin: Path = Path("<pasted>")) -> ImportResult:
    """Normalize the one diff in ``text``, then check it at fuzz 0 against ``source``."""
    changes: list[str] = []
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
        changes.append("converted CRLF line endings to LF")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sections = _sections(lines, origin)
    if not sections:
        raise PatchError(f"{origin}: holds no unified diff (no '--- '/'+++ ' header pair followed by an '@@' hunk)")
    if len(sections) > 1:
        where = ", ".join(f"{s.old_name} at line {s.first_line}" for s in sections)
        raise PatchError(f"{origin}: holds {len(sections)} diffs ({where}); paste one diff of one file at a time")
    section = sections[0]
    with source_tree(source) as tree:
        rel, created, deleted = _resolve(section, tree, origin)
        text_out = _render(section, rel, created, deleted)
        changes.extend(_describe(lines, section, rel, created, deleted))
        report = check_patch_text(text_out, tree, 1, name=origin)
    return ImportResult(text_out, rel, tuple(changes), report)


def _header_at(lines: list[str], i: int) -> bool:
    return (
        i + 2 < len(lines)
        and lines[i].startswith("--- ")
        and lines[i + 1].startswith("+++ ")
        and HUNK_HEADER.match(lines[i + 2]) is not None
    )


def _sections(lines: list[str], origin: Path) -> list[_Section]:
    """Every file section in the paste, each cut where its hunk counts say it ends."""
    sections: list[_Section] = []
    i = 0
    while i < len(lines):
        if not _header_at(lines, i):
            i += 1
            continue
        section, i = _section(lines, i, origin)
        sections.append(section)
    return sections


def _name(header: str) -> tuple[str, bool]:
    """The file name of a '--- '/'+++ ' line, and whether a timestamp followed it."""
    rest = header[4:]
    stripped = _TIMESTAMP.sub("", rest)
    stamped = stripped != rest.rstrip()
    return stripped.rstrip(), stamped


def _section(lines: list[str], start: int, origin: Path) -> tuple[_Section, int]:
    old_name, old_stamp = _name(lines[start])
    new_name, new_stamp = _name(lines[start + 1])
    i = start + 2
    hunks: list[_Hunk] = []
    while i < len(lines) and (match := HUNK_HEADER.match(lines[i])):
        number = len(hunks) + 1
        old_left = int(match.group(2) if match.group(2) is not None else 1)
        new_left = int(match.group(4) if match.group(4) is not None else 1)
        header = lines[i].rstrip()
        body: list[str] = []
        restored: list[int] = []
        i += 1
        while old_left > 0 or new_left > 0:
            if i >= len(lines):
                raise PatchError(
                    f"{origin}: hunk {number} ({header}) is cut short: the text ends while "
                    f"{old_left} old and {new_left} new lines are still due"
                )
            line = lines[i]
            kind = line[:1]
            if line == "" and old_left > 0 and new_left > 0:
                line, kind = " ", " "
                restored.append(i + 1)
            if kind == " " and old_left > 0 and new_left > 0:
                old_left -= 1
                new_left -= 1
            elif kind == "-" and old_left > 0:
                old_left -= 1
            elif kind == "+" and new_left > 0:
                new_left -= 1
            elif kind != "\\":
                raise PatchError(
                    f"{origin}: hunk {number} ({header}) ends early at line {i + 1} ({line!r}): its header "
                    f"promises {old_left} more old and {new_left} more new lines"
                )
            body.append(line)
            i += 1
        if i < len(lines) and lines[i].startswith("\\"):
            body.append(lines[i])
            i += 1
        if i < len(lines) and lines[i][:1] in ("+", "-") and not _header_at(lines, i):
            raise PatchError(
                f"{origin}: hunk {number} ({header}) has more lines than its header counts "
                f"(line {i + 1}: {lines[i]!r}); fix the counts in the '@@' line"
            )
        hunks.append(_Hunk(header, tuple(body), tuple(restored)))
    section = _Section(start + 1, i, old_name, new_name, old_stamp or new_stamp, tuple(hunks))
    return section, i


def _parts(name: str) -> list[str]:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return [] if ".." in parts else parts


def _bare(base: str) -> str:
    """``ipnetns.c.orig`` -> ``ipnetns.c``; ``x.c.orig~`` -> ``x.c``."""
    while COPY_SUFFIX.search(base) and COPY_SUFFIX.sub("", base):
        base = COPY_SUFFIX.sub("", base)
    return base


def _candidates(name: str) -> list[str]:
    """Paths ``name`` may stand for: fewest leading folders dropped first, without copy suffixes first."""
    parts = _parts(name)
    found: list[str] = []
    for drop in range(len(parts)):
        for last in dict.fromkeys((_bare(parts[-1]), parts[-1])):
            found.append("/".join([*parts[drop:-1], last]))
    return found


def _resolve(section: _Section, tree: SourceTree, origin: Path) -> tuple[str, bool, bool]:
    """The path in the tree both headers mean; whether the diff creates or deletes it."""
    root = tree.folder.resolve()

    def inside(candidate: str) -> bool:
        path = (root / candidate).resolve()
        return root in path.parents and path.is_file()

    def existing(name: str) -> str | None:
        for candidate in _candidates(name):
            if inside(candidate):
                return candidate
        parts = _parts(name)
        if not parts:
            return None
        # Last resort: a diff made inside a subfolder (ipnetns.c for ip/ipnetns.c), if only one file fits.
        base = _bare(parts[-1])
        fits = [
            rel for path in root.rglob("*") if path.name == base and inside(rel := path.relative_to(root).as_posix())
        ]
        return fits[0] if len(fits) == 1 else None

    created = section.old_name == DEV_NULL
    deleted = section.new_name == DEV_NULL
    if created and deleted:
        raise PatchError(f"{origin}: both file names are /dev/null")
    if created:
        for candidate in _candidates(section.new_name):
            parent = (root / candidate).parent.resolve()
            if (parent == root or root in parent.parents) and parent.is_dir():
                return candidate, True, False
        raise PatchError(f"{origin}: creates {section.new_name}, but no folder for it exists in {tree.name}")
    names = [section.old_name] + ([] if deleted else [section.new_name])
    resolved = {name: existing(name) for name in names}
    hits = {path for path in resolved.values() if path}
    if not hits:
        tried = " or ".join(dict.fromkeys(names))
        raise PatchError(
            f"{origin}: names {tried}; no such file (with or without copy suffixes and leading folders) in {tree.name}"
        )
    if len(hits) > 1:
        raise PatchError(f"{origin}: the headers name two different files in {tree.name}: {' and '.join(sorted(hits))}")
    return hits.pop(), False, deleted


def _render(section: _Section, rel: str, created: bool, deleted: bool) -> str:
    out = [
        f"--- {DEV_NULL if created else 'a/' + rel}",
        f"+++ {DEV_NULL if deleted else 'b/' + rel}",
    ]
    for hunk in section.hunks:
        out.append(hunk.header)
        out.extend(hunk.lines)
    return "\n".join(out) + "\n"


def _describe(lines: list[str], section: _Section, rel: str, created: bool, deleted: bool) -> list[str]:
    """What was changed, in sentences a user can check against the paste."""
    said: list[str] = []
    before = lines[: section.first_line - 1]
    if before:
        commands = [line.strip() for line in before if _COMMAND.match(line)]
        what = f", including the command line {commands[-1]!r}" if commands else ""
        said.append(f"dropped {len(before)} line{'s' * (len(before) != 1)} before the first file header{what}")
    old = f"--- {DEV_NULL if created else 'a/' + rel}"[4:]
    new = f"+++ {DEV_NULL if deleted else 'b/' + rel}"[4:]
    if (section.old_name, section.new_name) != (old, new):
        said.append(
            f"rewrote the file headers {section.old_name!r} / {section.new_name!r} as {old!r} / {new!r} "
            f"({rel} is the file in the source tree)"
        )
    if section.stamped:
        said.append("removed the timestamps from the file headers")
    for number, hunk in enumerate(section.hunks, 1):
        if hunk.restored:
            count = len(hunk.restored)
            where = ", ".join(str(n) for n in hunk.restored)
            said.append(
                f"restored the leading space of {count} blank context line{'s' * (count != 1)} in hunk {number} "
                f"(line{'s' * (count != 1)} {where} of the paste)"
            )
    after = lines[section.last_line :]
    if after:
        said.append(f"dropped {len(after)} line{'s' * (len(after) != 1)} after the last hunk")
    return said


__all__ = ["ImportResult", "import_pasted", "import_text"]
