"""Check a patch against a source tree at fuzz 0, then apply it all or nothing.

rpmbuild's %patch runs GNU patch with ``%_default_patch_fuzz 0``: every
context and removed line must match exactly, though a hunk may sit a few
lines away from where its header says (an *offset*). :func:`check_patch`
answers, before rpmbuild runs, whether that will work and where each hunk
lands; :func:`apply_patch` writes the result only when every hunk matched,
so a failed patch never leaves a half-patched tree.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchedFile

from netnsfix.errors import PatchError, UnpackError
from netnsfix.util.inputfile import read_input

DEV_NULL = "/dev/null"
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")
_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


@dataclass(frozen=True)
class HunkCheck:
    """Where one hunk matched: ``offset`` is ``found_line - stated_line``, as GNU patch reports it."""

    file: str  # path inside the tree, after stripping
    hunk: int  # 1-based within the patch
    header: str  # "@@ -153,6 +153,7 @@"
    stated_line: int  # the old start line the header gives
    found_line: int  # the old-file line where the hunk matched
    offset: int


@dataclass(frozen=True)
class PatchReport:
    """A patch that matches the tree at fuzz 0, hunk by hunk."""

    patch: Path
    strip: int
    files: tuple[str, ...]
    hunks: tuple[HunkCheck, ...]


@dataclass
class _Text:
    """A file as lines without terminators, plus whether the last one ends in a newline."""

    lines: list[str]
    final_newline: bool

    @classmethod
    def parse(cls, data: str) -> _Text:
        if data == "":
            return cls([], True)
        parts = data.split("\n")
        if parts[-1] == "":
            return cls(parts[:-1], True)
        return cls(parts, False)

    def render(self) -> str:
        if not self.lines:
            return ""
        return "\n".join(self.lines) + ("\n" if self.final_newline else "")


@dataclass(frozen=True)
class _Change:
    """What applying the patch does to one file: new text (None deletes it) and its mode."""

    path: Path
    text: str | None
    mode: int


@dataclass(frozen=True)
class _Side:
    """One hunk split into the lines it expects and the lines it leaves."""

    old: tuple[str, ...]
    new: tuple[str, ...]
    old_no_eol: bool
    new_no_eol: bool
    prefix_context: int
    suffix_context: int


@dataclass(frozen=True)
class SourceTree:
    """A folder of sources and the name errors give it: the folder itself, or ``TARBALL:TOP`` for a
    tarball extracted into a temporary folder (which is gone by the time the user reads the error)."""

    folder: Path
    name: str

    @classmethod
    def of(cls, tree: Path | SourceTree) -> SourceTree:
        return tree if isinstance(tree, SourceTree) else cls(tree, str(tree))

    def show(self, rel: str) -> str:
        """How errors name ``rel`` in the tree."""
        return f"{self.name.rstrip('/')}/{rel}" if not self.name.endswith(":") else f"{self.name}{rel}"


def check_patch(patch: Path, tree: Path | SourceTree, strip: int = 1) -> PatchReport:
    """Check every file and hunk of ``patch`` against ``tree`` at fuzz 0; change nothing."""
    report, _ = _plan(_read_patch(patch), patch, tree, strip)
    return report


def check_patch_text(
    text: str, tree: Path | SourceTree, strip: int = 1, *, name: Path = Path("<patch>")
) -> PatchReport:
    """:func:`check_patch` for a patch held in memory; ``name`` stands for it in errors."""
    report, _ = _plan(text, name, tree, strip)
    return report


def apply_patch(patch: Path, tree: Path | SourceTree, strip: int = 1) -> PatchReport:
    """Check ``patch`` as :func:`check_patch` does, then write every changed file or none."""
    report, changes = _plan(_read_patch(patch), patch, tree, strip)
    _commit(changes)
    return report


@contextlib.contextmanager
def source_tree(path: Path) -> Iterator[SourceTree]:
    """Yield the sources: the folder ``path`` itself, or a tarball safely extracted.

    A tarball whose members all sit under one top folder (``iproute2-3.6.0/``)
    yields that folder, so patches with one leading component apply at ``-p1``;
    errors name its files as members of the tarball (``TARBALL:TOP/FILE``).
    """
    if path.is_dir():
        yield SourceTree.of(path)
        return
    if not path.is_file():
        raise PatchError(f"{path}: no such folder or tarball")
    if not path.name.endswith(TARBALL_SUFFIXES):
        raise PatchError(f"{path}: not a folder or a tarball ({', '.join(TARBALL_SUFFIXES)})")
    with tempfile.TemporaryDirectory(prefix="netnsfix-source-") as tmp:
        root = Path(tmp)
        _extract(path, root)
        entries = list(root.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() else root
        yield SourceTree(top, f"{path}:{top.relative_to(root).as_posix() if top != root else ''}")


def _extract(tarball: Path, dest: Path) -> None:
    """Extract ``tarball`` into ``dest``, refusing members that would land outside it."""
    try:
        with tarfile.open(tarball, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                _check_member(tarball, member)
            archive.extractall(dest, members=members, filter="data")
    except tarfile.FilterError as error:
        raise UnpackError(f"{tarball}: unsafe member: {error}") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UnpackError(f"{tarball}: cannot read the tarball: {error}") from None


def _check_member(tarball: Path, member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise UnpackError(f"{tarball}: member {member.name!r} would land outside the target folder")
    if member.issym():
        target = PurePosixPath(member.linkname)
        resolved = _normalize(name.parent / target)
        if target.is_absolute() or resolved is None:
            raise UnpackError(
                f"{tarball}: symlink {member.name!r} -> {member.linkname!r} points out of the target folder"
            )
    elif member.islnk():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or ".." in target.parts:
            raise UnpackError(
                f"{tarball}: hard link {member.name!r} -> {member.linkname!r} points out of the target folder"
            )
    elif not (member.isfile() or member.isdir()):
        raise UnpackError(f"{tarball}: member {member.name!r} is a device or fifo, not a source file")


def _normalize(path: PurePosixPath) -> PurePosixPath | None:
    """Collapse ``..`` lexically; None when it climbs above the start."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def _read_patch(patch: Path) -> str:
    """The patch's text (a FIFO, device or folder refused at once; bytes that are not UTF-8 kept as they are)."""
    return read_input(patch, PatchError, what="the patch", missing="no such patch").decode(**_ENCODING)


def _parse(text: str, patch: Path) -> PatchSet:
    if not text.strip():
        raise PatchError(f"{patch}: the patch is empty")
    try:
        patchset = PatchSet(text)
    except UnidiffParseError as error:
        raise PatchError(f"{patch}: not a unified diff: {error}") from None
    if not len(patchset):
        raise PatchError(f"{patch}: holds no unified diff (no '--- '/'+++ ' headers with '@@' hunks)")
    for patched in patchset:
        if patched.is_binary_file:
            raise PatchError(f"{patch}: binary diff for {patched.path!r} cannot be checked")
        if not len(patched):
            raise PatchError(f"{patch}: {patched.path!r} has headers but no hunks")
    return patchset


def _plan(text: str, patch: Path, given: Path | SourceTree, strip: int) -> tuple[PatchReport, list[_Change]]:
    """Match every hunk in memory; return the report and the files to write."""
    tree = SourceTree.of(given)
    if strip < 0:
        raise PatchError(f"{patch}: strip count must be 0 or more, not {strip}")
    if not tree.folder.is_dir():
        raise PatchError(f"{tree.name}: the source tree is not a folder")
    patchset = _parse(text, patch)
    root = tree.folder.resolve()
    files: list[str] = []
    checks: list[HunkCheck] = []
    texts: dict[str, _Text] = {}
    modes: dict[str, int] = {}
    deleted: set[str] = set()
    number = 0
    for patched in patchset:
        rel, created = _target(patched, patch, root, tree, strip)
        if rel not in texts:
            files.append(rel)
            if created:
                texts[rel] = _Text([], True)
                modes[rel] = 0o644
            else:
                path = root / rel
                texts[rel] = _Text.parse(path.read_text(**_ENCODING))
                modes[rel] = path.stat().st_mode & 0o7777
        elif rel in deleted:
            raise PatchError(f"{patch}: {rel} is patched after the patch deleted it")
        work = texts[rel]
        delta = 0  # lines added minus removed by earlier hunks of this file section
        last_offset = 0
        floor = 0  # no hunk may match before the end of the previous one
        for hunk in patched:
            number += 1
            side = _split(hunk)
            header = _header(hunk)
            stated = hunk.source_start
            base = (stated if hunk.source_length == 0 else stated - 1) + delta
            pos = _locate(work, side, base + last_offset, floor)
            if pos is None:
                raise PatchError(_mismatch(patch, tree, rel, number, header, work, side, base + last_offset, delta))
            offset = pos - base
            checks.append(HunkCheck(rel, number, header, stated, stated + offset, offset))
            end = pos + len(side.old)
            reaches_end = end == len(work.lines)
            work.lines[pos:end] = list(side.new)
            if reaches_end:
                work.final_newline = not side.new_no_eol
            floor = pos + len(side.new)
            delta += len(side.new) - len(side.old)
            last_offset = offset
        if patched.target_file == DEV_NULL:
            if work.lines:
                raise PatchError(f"{patch}: deletes {rel} but {len(work.lines)} lines would remain")
            deleted.add(rel)
    changes = [_Change(root / rel, None if rel in deleted else texts[rel].render(), modes[rel]) for rel in files]
    return PatchReport(patch, strip, tuple(files), tuple(checks)), changes


def _header(hunk: Hunk) -> str:
    return f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"


def _strip_name(name: str, strip: int, patch: Path) -> str:
    """Drop ``strip`` leading components as ``patch -pN`` does; refuse paths that leave the tree."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") and strip == 0:
        raise PatchError(f"{patch}: file name {name!r} is absolute")
    if len(parts) <= strip:
        raise PatchError(f"{patch}: cannot strip {strip} leading components from {name!r}")
    kept = parts[strip:]
    if ".." in kept:
        raise PatchError(f"{patch}: file name {name!r} climbs out of the tree ('..')")
    return "/".join(kept)


def _inside(root: Path, rel: str, tree: SourceTree) -> Path:
    """The real path of ``rel`` under ``root``; an error if a link leads outside."""
    path = (root / rel).resolve()
    if path != root and root not in path.parents:
        raise PatchError(f"{tree.show(rel)}: a symlink leads out of the source tree")
    return path


def _target(patched: PatchedFile, patch: Path, root: Path, tree: SourceTree, strip: int) -> tuple[str, bool]:
    """Which file in the tree a section patches (GNU patch's choice), and whether it is new."""
    old, new = patched.source_file, patched.target_file
    if old == DEV_NULL:
        if new == DEV_NULL:
            raise PatchError(f"{patch}: both file names are /dev/null")
        rel = _strip_name(new, strip, patch)
        if os.path.lexists(root / rel):
            raise PatchError(f"{patch}: creates {rel}, which already exists in {tree.name}")
        _inside(root, str(Path(rel).parent), tree)
        return rel, True
    names = [_strip_name(old, strip, patch)]
    if new != DEV_NULL:
        names.append(_strip_name(new, strip, patch))
    existing = [name for name in dict.fromkeys(names) if _inside(root, name, tree).is_file()]
    if not existing:
        shown = " or ".join(dict.fromkeys(names))
        raise PatchError(f"{patch}: names {shown}, which does not exist in {tree.name}")
    # GNU patch prefers the name with the fewest components, then the shortest base name, then the shortest.
    return min(existing, key=lambda n: (n.count("/"), len(n.rsplit("/", 1)[-1]), len(n))), False


def _content(value: str) -> str:
    return value[:-1] if value.endswith("\n") else value


def _split(hunk: Hunk) -> _Side:
    old: list[str] = []
    new: list[str] = []
    old_no_eol = new_no_eol = False
    previous = ""
    kinds: list[str] = []
    for line in hunk:
        kind = line.line_type
        if kind == "\\":
            if previous in (" ", "-"):
                old_no_eol = True
            if previous in (" ", "+"):
                new_no_eol = True
            continue
        if kind not in (" ", "-", "+"):
            continue  # unidiff's trailing empty lines after a hunk
        previous = kind
        kinds.append(kind)
        if kind in (" ", "-"):
            old.append(_content(line.value))
        if kind in (" ", "+"):
            new.append(_content(line.value))
    prefix = next((i for i, kind in enumerate(kinds) if kind != " "), len(kinds))
    suffix = next((i for i, kind in enumerate(reversed(kinds)) if kind != " "), len(kinds))
    return _Side(tuple(old), tuple(new), old_no_eol, new_no_eol, prefix, suffix)


def _matches_at(work: _Text, side: _Side, pos: int) -> bool:
    end = pos + len(side.old)
    if pos < 0 or end > len(work.lines):
        return False
    if tuple(work.lines[pos:end]) != side.old:
        return False
    # A "\ No newline at end of file" on the old side pins the hunk to a file without one.
    return not (side.old_no_eol and (end != len(work.lines) or work.final_newline))


def _locate(work: _Text, side: _Side, guess: int, floor: int) -> int | None:
    """Find the hunk as GNU patch does at fuzz 0: at the guess, then +1, -1, +2, -2, ..."""
    count = len(work.lines)
    if side.prefix_context < side.suffix_context:
        candidates: list[int] = [0]  # short leading context: the hunk sits at the start of the file
    elif side.suffix_context < side.prefix_context:
        candidates = [count - len(side.old)]  # short trailing context: at the end of the file
    else:
        candidates = []
    if candidates:
        return candidates[0] if candidates[0] >= floor and _matches_at(work, side, candidates[0]) else None
    highest = count - len(side.old)
    guess = min(max(guess, floor), max(highest, floor))
    if _matches_at(work, side, guess):
        return guess
    step = 1
    while guess + step <= highest or guess - step >= floor:
        if guess + step <= highest and _matches_at(work, side, guess + step):
            return guess + step
        if guess - step >= floor and _matches_at(work, side, guess - step):
            return guess - step
        step += 1
    return None


def _nearest_miss(work: _Text, side: _Side, guess: int) -> int:
    """Where the hunk comes closest: the longest run of its first lines, nearest to the guess."""

    def run(pos: int) -> int:
        count = 0
        for expected, found in zip(side.old, work.lines[pos:], strict=False):
            if expected != found:
                break
            count += 1
        return count

    guess = min(max(guess, 0), len(work.lines))
    best = max(range(len(work.lines) + 1), key=lambda pos: (run(pos), -abs(pos - guess)), default=guess)
    return best if run(best) else guess


def _mismatch(
    patch: Path, tree: SourceTree, rel: str, number: int, header: str, work: _Text, side: _Side, guess: int, delta: int
) -> str:
    """One line: the patch, the file, the hunk and the first line that differs where the header points."""
    where = f"{patch}: {tree.show(rel)}: hunk #{number} {header} does not match at fuzz 0"
    start = _nearest_miss(work, side, guess)
    for i, expected in enumerate(side.old):
        at = start + i
        found = work.lines[at] if at < len(work.lines) else None
        if found != expected:
            line = at - delta + 1
            shown = "end of file" if found is None else repr(found)
            return f"{where}: line {line}: expected {expected!r}, found {shown}"
    if side.old_no_eol:
        return f"{where}: expected no newline at the end of the file"
    if side.prefix_context != side.suffix_context:
        edge = "start" if side.prefix_context < side.suffix_context else "end"
        return f"{where}: its context is uneven, so it must sit at the {edge} of the file"
    return f"{where}: it would overlap the previous hunk"


def _commit(changes: list[_Change]) -> None:
    """Write every new text to a temporary name first, then rename them all into place."""
    staged: list[tuple[str, Path]] = []
    try:
        for change in changes:
            if change.text is None:
                continue
            change.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{change.path.name}.", suffix=".tmp", dir=change.path.parent)
            staged.append((tmp, change.path))
            with os.fdopen(fd, "wb") as stream:
                stream.write(change.text.encode(**_ENCODING))
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(tmp, change.mode)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    for change in changes:
        if change.text is None:
            change.path.unlink()


__all__ = [
    "HunkCheck",
    "PatchReport",
    "SourceTree",
    "apply_patch",
    "check_patch",
    "check_patch_text",
    "source_tree",
]
