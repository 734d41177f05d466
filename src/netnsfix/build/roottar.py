"""Unpack RPM payloads into one tar stream, for ``docker import``.

This is the part of a bootstrap that rpm itself cannot do without a root to
run in: lay the packages' files down. The tar must be exactly what rpm would
have written, so that the root's own rpm, registering the same packages
afterwards (``rpm -i --justdb``), finds ``rpm -V`` clean:

- metadata comes from each package's header (mode, owner and group names,
  mtime, symlink target, hard-link sets), file contents from its payload;
- owner names become ids through the ``/etc/passwd`` and ``/etc/group`` that
  the packages themselves ship (``setup``), as on an installed system; a name
  they do not list becomes 0 and is reported;
- paths are resolved through the packages' own directory symlinks (Fedora 18
  is after UsrMove: ``/bin`` -> ``usr/bin``), so ``/bin/sh`` and
  ``/usr/bin/sh`` are one file;
- a path shipped by two packages must be identical in both (rpm's file
  conflict rule); otherwise :class:`UnpackError` names both packages.
  Directories may be shared; the first package's metadata wins;
- ``%ghost`` files are not in payloads and are not created (as rpm does).

Headers are read by :mod:`netnsfix.rpm.header` and payloads by the one cpio
reader, :mod:`netnsfix.rpm.payload`, whose name checks (absolute, ``..``, NUL,
empty, twice) hold here as for every other reader. The tar is written member
by member while the payloads are decompressed (a few ahead, in threads): it
never sits in memory as a whole.
"""

from __future__ import annotations

import io
import os
import posixpath
import queue
import shutil
import stat
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from netnsfix.errors import UnpackError
from netnsfix.rpm.header import FileEntry, RpmHeader, read_header
from netnsfix.rpm.payload import Readable, members, open_payload, read_members
from netnsfix.util.fsutil import sha256_file

CHUNK = 1 << 20
SPOOL = 32 << 20  # a decompressed payload up to this size stays in memory
WORKERS = max(2, min(4, os.cpu_count() or 2))
AHEAD = WORKERS + 1  # payloads decompressed ahead of the one being written

Entry = FileEntry  # one path of one package, as its header describes it


def _same(one: Entry, other: Entry) -> bool:
    """rpm's file conflict rule: folders may be shared; anything else must be identical."""
    if one.kind == "dir" and other.kind == "dir":
        return True
    return (one.mode, one.user, one.group, one.digest, one.linkto, one.rdev) == (
        other.mode,
        other.user,
        other.group,
        other.digest,
        other.linkto,
        other.rdev,
    )


@dataclass(frozen=True)
class PackageFiles:
    rpm: Path
    header: RpmHeader

    @property
    def nevra(self) -> str:
        return self.header.nevra

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self.header.entries


@dataclass
class Plan:
    """Which package writes each (canonical) path, and the ids of owner names."""

    packages: tuple[PackageFiles, ...]
    owner: dict[str, tuple[int, Entry]] = field(default_factory=dict)  # canonical path -> (package index, entry)
    canonical: dict[tuple[int, str], str] = field(default_factory=dict)  # (package index, path) -> canonical
    uids: dict[str, int] = field(default_factory=dict)
    gids: dict[str, int] = field(default_factory=dict)
    unknown_owners: set[str] = field(default_factory=set)
    file_caps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RootfsReport:
    """What was written, for the image's record and the user's warnings."""

    files: int
    bytes: int
    unknown_owners: tuple[str, ...]
    file_caps: tuple[str, ...]  # files whose capabilities a tar cannot carry here


def read_files(rpm_path: Path) -> PackageFiles:
    """The file list of one package, from its header only."""
    return PackageFiles(rpm_path, read_header(rpm_path))


def _resolver(symlinks: dict[str, str]) -> Callable[[str], str]:
    """Canonical path: parent components followed through the packages' directory symlinks."""

    def canonical(path: str) -> str:
        parts = [p for p in path.split("/") if p]
        done = "/"
        hops = 0
        i = 0
        while i < len(parts) - 1:
            candidate = posixpath.join(done, parts[i])
            target = symlinks.get(candidate)
            if target is not None and hops < 40:
                hops += 1
                base = posixpath.normpath(posixpath.join(posixpath.dirname(candidate), target))
                parts = [p for p in base.split("/") if p] + parts[i + 1 :]
                done, i = "/", 0
                continue
            done = candidate
            i += 1
        return posixpath.normpath(posixpath.join(done, parts[-1])) if parts else "/"

    return canonical


def plan_rootfs(rpms: Sequence[Path]) -> Plan:
    """Read every header, resolve paths, detect conflicts, and map owner names to ids."""
    packages = tuple(read_files(p) for p in rpms)
    plan = Plan(packages)
    symlinks = {e.path.rstrip("/") or "/": e.linkto for pkg in packages for e in pkg.entries if e.kind == "symlink"}
    canonical = _resolver(symlinks)
    for index, pkg in enumerate(packages):
        for entry in pkg.entries:
            if entry.caps:
                plan.file_caps.append(f"{entry.path} ({pkg.nevra}: {entry.caps})")
        for entry in pkg.entries:
            if entry.ghost:
                continue
            path = canonical(entry.path)
            plan.canonical[(index, entry.path)] = path
            existing = plan.owner.get(path)
            if existing is None:
                plan.owner[path] = (index, entry)
                continue
            other_index, other = existing
            if not _same(entry, other):
                raise UnpackError(
                    f"{path}: shipped by {packages[other_index].nevra} and {pkg.nevra}, and they differ "
                    f"({_describe(other)} vs {_describe(entry)})"
                )
    passwd = _payload_text(plan, "/etc/passwd")
    group = _payload_text(plan, "/etc/group")
    plan.uids = {"root": 0, **_ids(passwd)}
    plan.gids = {"root": 0, **_ids(group)}
    for _, entry in plan.owner.values():
        if entry.user not in plan.uids:
            plan.unknown_owners.add(f"user {entry.user}")
        if entry.group not in plan.gids:
            plan.unknown_owners.add(f"group {entry.group}")
    return plan


def _describe(entry: Entry) -> str:
    detail = entry.linkto if entry.kind == "symlink" else entry.digest[:12]
    return f"{entry.kind} {oct(entry.mode & 0o7777)} {entry.user}:{entry.group} {detail}".strip()


def _ids(text: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            ids.setdefault(fields[0], int(fields[2]))
    return ids


def _payload_text(plan: Plan, path: str) -> str:
    """The content of ``path`` as the packages ship it ('' when none does)."""
    found = plan.owner.get(path)
    if found is None or found[1].kind != "file":
        return ""
    index, entry = found
    pkg = plan.packages[index]
    for member in read_members(pkg.rpm, pkg.header):
        if "/" + member.path == entry.path:
            return _read_all(member.data).decode("utf-8", "replace")
    return ""


def _read_all(data: Readable) -> bytes:
    blocks = []
    while block := data.read(CHUNK):
        blocks.append(block)
    return b"".join(blocks)


# -- the payload --------------------------------------------------------------


def _decompressed(pkg: PackageFiles, cache: Path | None = None) -> BinaryIO:
    """The whole decompressed payload: from ``cache`` when it was decompressed before, else
    decompressed now (into the cache when there is one, or spooled in memory up to SPOOL bytes)."""
    if cache is None:
        return _decompress_into(pkg, tempfile.SpooledTemporaryFile(max_size=SPOOL))  # type: ignore[arg-type]
    digest = sha256_file(pkg.rpm)
    kept = cache / digest[:2] / f"{digest}.cpio"
    try:
        return open(kept, "rb")
    except FileNotFoundError:
        pass
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by _decompress_into, renamed or removed here
        dir=kept.parent, prefix=f".{digest}.", suffix=".partial", delete=False
    )
    try:
        _decompress_into(pkg, partial).close()  # type: ignore[arg-type]
        os.replace(partial.name, kept)
    except BaseException:
        Path(partial.name).unlink(missing_ok=True)
        raise
    return open(kept, "rb")


def _decompress_into(pkg: PackageFiles, spool: BinaryIO) -> BinaryIO:
    try:
        with open_payload(pkg.rpm, pkg.header) as payload:
            while block := payload.read(CHUNK):
                spool.write(block)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


# -- writing the tar ----------------------------------------------------------


def write_tar(
    rpms: Sequence[Path], out: BinaryIO, plan: Plan | None = None, payload_cache: Path | None = None
) -> RootfsReport:
    """Write the union of the packages' files as one tar stream to ``out``.

    With ``payload_cache``, each package's decompressed payload is kept there
    (by the package's sha256), so the next image with that package skips the
    decompression, which is nearly all of this function's time (xz).
    """
    plan = plan or plan_rootfs(rpms)
    writer = _TarWriter(plan, out)
    # Decompression is nearly all the work (xz): a few payloads are decompressed
    # ahead in threads (lzma releases the GIL) while the tar is written in order.
    packages = plan.packages
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="payload") as pool:
        ahead: list[Future[BinaryIO] | None] = [
            pool.submit(_decompressed, pkg, payload_cache) for pkg in packages[:AHEAD]
        ]
        try:
            for index, pkg in enumerate(packages):
                if index + AHEAD < len(packages):
                    ahead.append(pool.submit(_decompressed, packages[index + AHEAD], payload_cache))
                future = ahead[index]
                assert future is not None
                payload = future.result()
                ahead[index] = None
                with payload:
                    writer.package(index, pkg, payload)
        finally:
            for future in ahead:
                if future is not None and future.cancel() is False and future.done() and not future.exception():
                    future.result().close()
    writer.close()
    return RootfsReport(
        files=writer.count,
        bytes=writer.data_bytes,
        unknown_owners=tuple(sorted(plan.unknown_owners)),
        file_caps=tuple(plan.file_caps),
    )


class _TarWriter:
    def __init__(self, plan: Plan, out: BinaryIO) -> None:
        self.plan = plan
        # copybufsize reaches TarFile, which typeshed does not say; closed by close()
        self.tar = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115
            fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=CHUNK
        )
        self.emitted: set[str] = {"/"}
        self.count = 0
        self.data_bytes = 0

    def close(self) -> None:
        self.tar.close()

    def _info(self, path: str, entry: Entry | None, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.type = kind
        if entry is None:  # a parent no package owns
            info.mode, info.uid, info.gid, info.uname, info.gname, info.mtime = 0o755, 0, 0, "root", "root", 0
            return info
        info.mode = entry.mode & 0o7777
        info.uid = self.plan.uids.get(entry.user, 0)
        info.gid = self.plan.gids.get(entry.group, 0)
        info.uname, info.gname = entry.user, entry.group
        info.mtime = entry.mtime
        return info

    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent in self.emitted:
            return
        self._parents(parent)
        owned = self.plan.owner.get(parent)
        entry = owned[1] if owned and owned[1].kind == "dir" else None
        self.tar.addfile(self._info(parent, entry, tarfile.DIRTYPE))
        self.emitted.add(parent)

    def _emit(self, path: str, entry: Entry, data: Readable | None = None, link: str | None = None) -> None:
        self._parents(path)
        kind = entry.kind
        if link is not None:
            info = self._info(path, entry, tarfile.LNKTYPE)
            info.linkname = link.lstrip("/")
        elif kind == "file":
            info = self._info(path, entry, tarfile.REGTYPE)
            info.size = entry.size if data is not None else 0
        elif kind == "dir":
            info = self._info(path, entry, tarfile.DIRTYPE)
        elif kind == "symlink":
            info = self._info(path, entry, tarfile.SYMTYPE)
            info.linkname = entry.linkto
        elif kind in ("chr", "blk", "fifo"):
            info = self._info(
                path, entry, {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            )
            info.devmajor, info.devminor = os.major(entry.rdev), os.minor(entry.rdev)
        else:
            raise UnpackError(f"{path}: unsupported file type {oct(stat.S_IFMT(entry.mode))}")
        self.tar.addfile(info, data if info.type == tarfile.REGTYPE and info.size else None)
        self.emitted.add(path)
        self.count += 1
        self.data_bytes += info.size

    def _mine(self, index: int, path: str) -> tuple[str, Entry] | None:
        canonical = self.plan.canonical.get((index, path))
        if canonical is None or canonical in self.emitted:
            return None
        owner = self.plan.owner.get(canonical)
        if owner is None or owner[0] != index:
            return None
        return canonical, owner[1]

    def package(self, index: int, pkg: PackageFiles, payload: Readable) -> None:
        """Emit the package's paths this package owns, in payload order (the payload: decompressed cpio)."""
        by_path = {e.path: e for e in pkg.entries}
        sets: dict[int, list[Entry]] = {}
        for e in pkg.entries:
            if e.kind == "file" and not e.ghost:
                sets.setdefault(e.inode, []).append(e)
        linked = {e.path: e.inode for group in sets.values() if len(group) > 1 for e in group}
        waiting: dict[int, list[tuple[str, Entry]]] = {}  # hard-link members seen before their data
        first_written: dict[int, str] = {}
        for member in members(payload, pkg.rpm):
            if member.path == ".":
                continue
            path, size = "/" + member.path, member.size
            data = member.data if member.kind == stat.S_IFREG else None
            entry = by_path.get(path)
            if entry is None:
                raise UnpackError(f"{pkg.rpm}: payload member {path} is not in the header")
            mine = self._mine(index, path)
            inode = linked.get(path)
            if inode is None:
                if mine:
                    self._emit(mine[0], mine[1], data)
                continue
            # A hard-link set: rpm writes the content with one member (the last), the others empty.
            if inode in first_written:
                if mine:
                    self._emit(mine[0], mine[1], link=first_written[inode])
                continue
            if mine:
                waiting.setdefault(inode, []).append(mine)
            if size or len(waiting.get(inode, [])) + self._written_elsewhere(index, sets[inode]) == len(sets[inode]):
                self._flush_set(inode, waiting.pop(inode, []), data if size else None, first_written)
        for inode, names in waiting.items():
            self._flush_set(inode, names, None, first_written)
        for entry in pkg.entries:  # directories the payload did not list
            mine = self._mine(index, entry.path)
            if mine and entry.kind == "dir":
                self._emit(mine[0], mine[1])

    def _written_elsewhere(self, index: int, group: list[Entry]) -> int:
        return sum(1 for e in group if self._mine(index, e.path) is None)

    def _flush_set(
        self, inode: int, names: list[tuple[str, Entry]], data: Readable | None, first_written: dict[int, str]
    ) -> None:
        if not names:
            return
        spool = None
        if data is not None:
            spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed below, after the emit
            shutil.copyfileobj(data, spool, CHUNK)
            spool.seek(0)
        head, entry = names[0]
        self._emit(head, entry, spool if spool is not None else io.BytesIO(b"") if entry.size == 0 else None)
        first_written[inode] = head
        for path, other in names[1:]:
            self._emit(path, other, link=head)
        if spool is not None:
            spool.close()


# -- streaming to the engine ----------------------------------------------------


class _QueueWriter(io.RawIOBase):
    def __init__(self, chunks: queue.Queue[bytes | BaseException | None], stop: threading.Event) -> None:
        self.chunks, self.stop, self.buffer = chunks, stop, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush_buffer()
        return len(data)

    def flush_buffer(self) -> None:
        while self.buffer:
            block = bytes(self.buffer[:CHUNK])
            del self.buffer[:CHUNK]
            while True:
                if self.stop.is_set():
                    raise _Stopped()
                try:
                    self.chunks.put(block, timeout=0.2)
                    break
                except queue.Full:
                    continue


class _Stopped(Exception):
    pass


def tar_chunks(
    rpms: Sequence[Path],
    plan: Plan | None = None,
    report: list[RootfsReport] | None = None,
    payload_cache: Path | None = None,
) -> Iterator[bytes]:
    """The tar of :func:`write_tar` as chunks, produced in a thread while the consumer sends them.

    Errors in the producer are raised here, in the consumer; a consumer that
    stops early stops the producer.
    """
    plan = plan or plan_rootfs(rpms)
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=16)
    stop = threading.Event()

    def produce() -> None:
        writer = _QueueWriter(chunks, stop)
        try:
            result = write_tar(rpms, writer, plan, payload_cache)  # type: ignore[arg-type]
            writer.flush_buffer()
            if report is not None:
                report.append(result)
            chunks.put(None)
        except _Stopped:
            return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            chunks.put(error)

    thread = threading.Thread(target=produce, name="rootfs tar", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=10)
