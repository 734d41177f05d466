"""Extract an RPM's payload into a folder safely: the one extraction, for source unpacking and ``verify --rpm``.

An RPM is hostile input until proven otherwise: a crafted payload may hold
members such as ``l -> .``, ``m -> l/..``, ``n -> m/..``, ``o -> n/..`` (each
harmless on its own, together a path to any ancestor) followed by a folder
``o`` with mode 0777, whose ``chmod`` would then land outside the destination.

Two layers keep every effect inside the destination:

1. **Decide first, against a model of the tree.** The whole payload is read
   once (decompressed into a spool, so the writing pass does not decompress it
   again) and every member is checked against a model of the tree the archive
   would make, before anything is created: a member may not be written
   through a symlink or inside a file, may not replace a symlink, file or
   folder that is already there (so no "link replaced by a folder" nor "folder
   over a link"), hard links join only regular files of the archive (by
   inode, as newc records them; every name in the set passes the same
   checks, so none is made through a link), and every symlink,
   resolved through the other links *of the final tree* (so links created
   earlier or later in the same archive count), must stay inside. The first
   offence refuses the whole archive: one :class:`UnpackError` naming the RPM
   and the member, and nothing is extracted. The member names themselves
   (absolute, ``..``, NUL, empty, twice) are checked by the one cpio reader,
   :mod:`netnsfix.rpm.payload`.
2. **Write without following links.** The writing pass walks the
   destination with directory descriptors, one component at a time, with
   ``O_NOFOLLOW`` (``os.open(..., dir_fd=...)``), and changes modes and times
   through descriptors (``fchmod``, ``futimens``), so even a tree changed
   under the extraction cannot turn a write, chmod or utime into one outside
   it. Files are created with ``O_EXCL``.

The model alone decides (it names the member at fault before anything is
written, which descriptor walking alone cannot: it would find the problem
halfway); the descriptors make the model's decision hold on the real file
system. Extraction goes to a temporary folder beside the destination, which
is renamed into place only when every member is in. Set-id and sticky bits
are dropped; folders keep owner access so they can be removed.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from netnsfix.errors import UnpackError
from netnsfix.rpm.header import read_header
from netnsfix.rpm.payload import CHUNK, Member, Readable, members, open_payload

SPOOL = 32 << 20  # a decompressed payload up to this size stays in memory between the two passes
MAX_HOPS = 40  # symlinks followed while resolving one path, as the kernel's MAXSYMLINKS
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_KIND_NAMES = {stat.S_IFREG: "file", stat.S_IFDIR: "folder", stat.S_IFLNK: "symlink"}


class _Refused(Exception):
    """A member the model refuses; the message names it (the RPM is added by :func:`extract`)."""


@dataclass
class _Node:
    kind: str  # "folder", "file" or "symlink"
    member: str = ""  # the name of the member that made it ("" for a folder made as a parent)
    linkto: str = ""


@dataclass
class _Model:
    """The tree the archive would make, relative paths to nodes ("." is the destination)."""

    nodes: dict[str, _Node] = field(default_factory=lambda: {".": _Node("folder")})
    links: list[Member] = field(default_factory=list)  # symlinks, in archive order


def _check_parents(model: _Model, member: Member) -> None:
    parts = member.path.split("/")
    for i in range(1, len(parts)):
        ancestor = "/".join(parts[:i])
        node = model.nodes.get(ancestor)
        if node is None:
            model.nodes[ancestor] = _Node("folder")
        elif node.kind == "symlink":
            raise _Refused(
                f"member {member.name!r} would be written through a symlink ({node.member!r} -> {node.linkto!r})"
            )
        elif node.kind != "folder":
            raise _Refused(f"member {member.name!r} would be written inside the file {node.member!r}")


def _check_link_alone(member: Member) -> None:
    target = member.linkto
    if target.startswith("/"):
        raise _Refused(f"member {member.name!r} is a symlink to the absolute path {target!r}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member.path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise _Refused(f"member {member.name!r} is a symlink to {target!r}, outside the destination")


def _resolve(model: _Model, folder: list[str], target: str, hops: int) -> tuple[list[str], int]:
    """``target`` resolved from ``folder`` through the model's symlinks; _Refused when it leaves the root."""
    stack = list(folder)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                raise _Refused("outside")
            stack.pop()
            continue
        stack.append(part)
        node = model.nodes.get("/".join(stack))
        if node is not None and node.kind == "symlink":
            hops += 1
            if hops > MAX_HOPS:
                raise _Refused("loop")
            stack.pop()
            if node.linkto.startswith("/"):
                raise _Refused("outside")
            stack, hops = _resolve(model, stack, node.linkto, hops)
    return stack, hops


def _check_member(model: _Model, member: Member) -> None:
    kind = member.kind
    if kind not in _KIND_NAMES:
        raise _Refused(f"member {member.name!r} is not a file, folder or symlink (mode {member.mode:o})")
    if member.path == ".":
        return  # the archive's own root: the destination, left as it is made
    _check_parents(model, member)
    existing = model.nodes.get(member.path)
    if existing is not None:
        if kind == stat.S_IFDIR and existing.kind == "folder" and not existing.member:
            existing.member = member.name  # a folder listed after its contents
            return
        what = f"the {existing.kind} {existing.member!r}" if existing.member else "the folder earlier members are in"
        raise _Refused(f"member {member.name!r} ({_KIND_NAMES[kind]}) would replace {what}")
    if kind == stat.S_IFLNK:
        _check_link_alone(member)
        model.links.append(member)
    model.nodes[member.path] = _Node(_KIND_NAMES[kind], member.name, member.linkto)


def _check_links(model: _Model) -> None:
    """Every symlink, resolved through the final tree's other links, stays inside."""
    for member in model.links:
        folder = posixpath.dirname(member.path)
        try:
            _resolve(model, folder.split("/") if folder else [], member.linkto, 0)
        except _Refused as reason:
            if str(reason) == "loop":
                raise _Refused(
                    f"member {member.name!r} is a symlink that resolves through more than {MAX_HOPS} links"
                ) from reason
            raise _Refused(f"member {member.name!r} is a symlink that resolves outside the destination") from reason


def _decide(stream: Iterator[Member]) -> _Model:
    model = _Model()
    for member in stream:
        _check_member(model, member)
    _check_links(model)
    return model


class _Tee:
    """Reads from ``source`` and keeps a copy of every byte in ``copy``."""

    def __init__(self, source: Readable, copy: IO[bytes]) -> None:
        self.source, self.copy = source, copy

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size)
        self.copy.write(data)
        return data


# -- writing, through descriptors --------------------------------------------------------------


class _Writer:
    """Writes members under ``root`` without following any link: one component at a time, O_NOFOLLOW."""

    def __init__(self, root: Path) -> None:
        self.root = os.open(root, _DIR_FLAGS)
        self.written: list[str] = []
        self.folders: list[tuple[str, int]] = []
        self.first_of_set: dict[int, str] = {}  # inode -> the path holding the set's data
        self.waiting: dict[int, list[Member]] = {}  # hard-link names seen before their data

    def close(self) -> None:
        os.close(self.root)

    def _folder(self, parts: list[str]) -> int:
        """A descriptor of the folder ``parts`` (made 0755 where missing); the caller closes it."""
        fd = os.dup(self.root)
        try:
            for part in parts:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _parent(self, path: str) -> tuple[int, str]:
        parts = path.split("/")
        return self._folder(parts[:-1]), parts[-1]

    def member(self, member: Member) -> None:
        if member.path == ".":
            return
        kind = member.kind
        if kind == stat.S_IFDIR:
            fd = self._folder(member.path.split("/"))
            try:
                os.fchmod(fd, (member.mode & 0o777) | 0o700)
            finally:
                os.close(fd)
            self.folders.append((member.path, member.mtime))
        elif kind == stat.S_IFLNK:
            parent, name = self._parent(member.path)
            try:
                os.symlink(member.linkto, name, dir_fd=parent)
            finally:
                os.close(parent)
            self.written.append(member.path)
        elif member.nlink > 1 and member.ino in self.first_of_set:
            self._link(self.first_of_set[member.ino], member.path)
        elif member.nlink > 1 and member.size == 0:
            self.waiting.setdefault(member.ino, []).append(member)  # newc keeps a set's data with its last name
        else:
            self._file(member, member.data)
            if member.nlink > 1:
                self.first_of_set[member.ino] = member.path
                for other in self.waiting.pop(member.ino, []):
                    self._link(member.path, other.path)

    def _file(self, member: Member, data: Readable) -> None:
        parent, name = self._parent(member.path)
        try:
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            while block := data.read(CHUNK):
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
            os.fchmod(fd, member.mode & 0o777)
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)
        self.written.append(member.path)

    def _link(self, existing: str, path: str) -> None:
        source_parent, source_name = self._parent(existing)
        try:
            parent, name = self._parent(path)
            try:
                os.link(source_name, name, src_dir_fd=source_parent, dst_dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(parent)
        finally:
            os.close(source_parent)
        self.written.append(path)

    def finish(self) -> None:
        for members_of_set in self.waiting.values():  # sets whose every name was empty: one empty file, linked
            first, *others = members_of_set
            self._file(first, _Empty())
            for other in others:
                self._link(first.path, other.path)
        self.waiting.clear()
        for path, mtime in reversed(self.folders):  # deepest last-listed first, after their contents
            fd = self._folder(path.split("/"))
            try:
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)


class _Empty:
    def read(self, size: int = -1, /) -> bytes:
        return b""


# -- the one entry point ------------------------------------------------------------------------


def extract(rpm_path: Path, dest: Path) -> tuple[Path, ...]:
    """Extract every member of the RPM into ``dest`` (new or empty); the files and links extracted.

    For a source RPM these are the spec, the sources and the patches. A
    refused member or a corrupt payload is one UnpackError naming the RPM and
    the member, and nothing is left in ``dest`` or beside it.
    """
    rpm_path, dest = Path(rpm_path), Path(dest)
    header = read_header(rpm_path)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise UnpackError(f"{dest}: exists and is not an empty folder; not extracting {rpm_path.name} into it")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        with open_payload(rpm_path, header) as payload:
            try:
                _decide(members(_Tee(payload, spool), rpm_path))
            except _Refused as refusal:
                raise UnpackError(rpm_path, f"{refusal}; nothing was extracted") from refusal
            except UnpackError as error:
                raise UnpackError(error.subject, f"{error.problem}; nothing was extracted") from error
        spool.seek(0)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".unpack", dir=dest.parent))
        try:
            writer = _Writer(tmp)
            try:
                for member in members(spool, rpm_path):
                    writer.member(member)
                writer.finish()
            except OSError as error:
                raise UnpackError(
                    f"{rpm_path}: cannot write the payload into {tmp}: {error.strerror or error}; nothing was extracted"
                ) from error
            finally:
                writer.close()
            if dest.exists():
                dest.rmdir()
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return tuple(dest / path for path in writer.written)


def spec_of(paths: Iterable[Path]) -> Path:
    """The one ``.spec`` among an extracted source RPM's files."""
    specs = sorted(p for p in paths if p.name.endswith(".spec") and not p.is_symlink())
    if len(specs) == 1:
        return specs[0]
    if not specs:
        raise UnpackError("no .spec file among the extracted files")
    raise UnpackError(f"more than one .spec file among the extracted files: {', '.join(str(p) for p in specs)}")
