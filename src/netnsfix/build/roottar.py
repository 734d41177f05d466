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

The tar is written member by member while the payloads are decompressed: it
never sits in memory as a whole.
"""

from __future__ import annotations

import io
import lzma
import os
import posixpath
import queue
import shutil
import stat
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import rpmfile

from netnsfix.errors import UnpackError
from netnsfix.util.fsutil import sha256_file

RPMFILE_GHOST = 1 << 6
TAG_FILERDEVS = 1033
CHUNK = 1 << 20
SPOOL = 32 << 20  # a decompressed payload up to this size stays in memory
WORKERS = max(2, min(4, os.cpu_count() or 2))
AHEAD = WORKERS + 1  # payloads decompressed ahead of the one being written


@dataclass(frozen=True)
class Entry:
    """One path of one package, as its header describes it."""

    path: str  # as packaged
    mode: int  # full st_mode, with the type bits
    user: str
    group: str
    mtime: int
    digest: str
    linkto: str
    size: int
    inode: int
    rdev: int
    flags: int

    @property
    def kind(self) -> str:
        return _KINDS.get(stat.S_IFMT(self.mode), "other")

    def same_as(self, other: Entry) -> bool:
        if self.kind == "dir" and other.kind == "dir":
            return True
        return (self.mode, self.user, self.group, self.digest, self.linkto, self.rdev) == (
            other.mode,
            other.user,
            other.group,
            other.digest,
            other.linkto,
            other.rdev,
        )


_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFCHR: "chr",
    stat.S_IFBLK: "blk",
    stat.S_IFIFO: "fifo",
}


@dataclass(frozen=True)
class PackageFiles:
    rpm: Path
    nevra: str
    entries: tuple[Entry, ...]
    caps: tuple[str, ...] = ()  # file capabilities, parallel to entries ("" for none)


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


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (bytes, str, int)):
        return [value]
    return list(value)


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def read_files(rpm_path: Path) -> PackageFiles:
    """The file list of one package, from its header only."""
    try:
        with rpmfile.open(str(rpm_path)) as package:
            h = package.headers
            raw_rdevs = package.headers.get(TAG_FILERDEVS)
            caps = [_text(c) for c in _list(h.get("filecaps"))]
    except Exception as error:  # noqa: BLE001 - rpmfile raises plain exceptions
        raise UnpackError(f"{rpm_path}: not a readable RPM: {error}") from None
    names = [_text(b) for b in _list(h.get("basenames"))]
    dirs = [_text(d) for d in _list(h.get("dirnames"))]
    index = _list(h.get("dirindexes"))
    count = len(names)
    columns = {
        "mode": _list(h.get("filemodes")),
        "user": [_text(u) for u in _list(h.get("fileusername"))],
        "group": [_text(g) for g in _list(h.get("filegroupname"))],
        "mtime": _list(h.get("filemtimes")),
        "digest": [_text(d) for d in _list(h.get("filemd5s"))],
        "linkto": [_text(t) for t in _list(h.get("filelinktos"))],
        "size": _list(h.get("longfilesizes")) or _list(h.get("filesizes")),
        "inode": _list(h.get("fileinodes")),
        "flags": _list(h.get("fileflags")),
    }
    rdevs = _list(raw_rdevs) or [0] * count
    for name, column in columns.items():
        if len(column) != count:
            raise UnpackError(f"{rpm_path}: header has {count} files but {len(column)} {name} values")
    entries = []
    for i in range(count):
        entries.append(
            Entry(
                path=dirs[index[i]] + names[i],
                mode=int(columns["mode"][i]) & 0xFFFF,
                user=columns["user"][i],
                group=columns["group"][i],
                mtime=int(columns["mtime"][i]),
                digest=columns["digest"][i],
                linkto=columns["linkto"][i],
                size=int(columns["size"][i]),
                inode=int(columns["inode"][i]),
                rdev=int(rdevs[i]) if i < len(rdevs) else 0,
                flags=int(columns["flags"][i]),
            )
        )
    return PackageFiles(rpm_path, _nevra(h), tuple(entries), tuple(caps))


def _nevra(h: dict[str, Any]) -> str:
    epoch = h.get("serial")
    epoch_text = f"{_list(epoch)[0]}:" if epoch not in (None, [], ()) else ""
    arch = _text(h.get("arch", b"")) if h.get("sourcerpm") else "src"
    return f"{_text(h.get('name'))}-{epoch_text}{_text(h.get('version'))}-{_text(h.get('release'))}.{arch}"


def _resolver(symlinks: dict[str, str]):
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
    symlinks = {
        e.path.rstrip("/") or "/": e.linkto for pkg in packages for e in pkg.entries if e.kind == "symlink"
    }
    canonical = _resolver(symlinks)
    for index, pkg in enumerate(packages):
        for cap_path, cap in zip((e.path for e in pkg.entries), pkg.caps):
            if cap:
                plan.file_caps.append(f"{cap_path} ({pkg.nevra}: {cap})")
        for entry in pkg.entries:
            if entry.flags & RPMFILE_GHOST:
                continue
            path = canonical(entry.path)
            plan.canonical[(index, entry.path)] = path
            existing = plan.owner.get(path)
            if existing is None:
                plan.owner[path] = (index, entry)
                continue
            other_index, other = existing
            if not entry.same_as(other):
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
    ids = {}
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
    for name, _, data in _members(pkg.rpm, want={entry.path}):
        if name == entry.path and data is not None:
            return data.read().decode("utf-8", "replace")
    return ""


# -- the payload --------------------------------------------------------------

_NEWC = 110


def _safe_read(stream: BinaryIO, n: int) -> bytes:
    try:
        return stream.read(n)
    except (EOFError, OSError, ValueError, lzma.LZMAError, zlib.error) as error:  # damaged compression
        raise UnpackError(f"payload is damaged: {error}") from None


class _Bounded(io.RawIOBase):
    """Exactly ``size`` bytes of ``stream`` (a member's data), then EOF."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream, self.left = stream, size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = _safe_read(self.stream, n)
        if len(data) < n:
            raise UnpackError("payload ends inside a file")
        self.left -= len(data)
        return data

    def drain(self) -> None:
        while self.left > 0:
            self.read(CHUNK)


def _decompressed(rpm_path: Path, cache: Path | None = None) -> BinaryIO:
    """The whole decompressed payload: from ``cache`` when it was decompressed before, else
    decompressed now (into the cache when there is one, or spooled in memory up to SPOOL bytes)."""
    if cache is None:
        return _decompress_into(rpm_path, tempfile.SpooledTemporaryFile(max_size=SPOOL))  # type: ignore[arg-type]
    digest = sha256_file(rpm_path)
    kept = cache / digest[:2] / f"{digest}.cpio"
    try:
        return open(kept, "rb")
    except FileNotFoundError:
        pass
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = tempfile.NamedTemporaryFile(dir=kept.parent, prefix=f".{digest}.", suffix=".partial", delete=False)
    try:
        _decompress_into(rpm_path, partial).close()
        os.replace(partial.name, kept)
    except BaseException:
        Path(partial.name).unlink(missing_ok=True)
        raise
    return open(kept, "rb")


def _decompress_into(rpm_path: Path, spool: Any) -> BinaryIO:
    try:
        with rpmfile.open(str(rpm_path)) as package:
            stream = package.data_file
            while block := _safe_read(stream, CHUNK):
                spool.write(block)
    except UnpackError as error:
        spool.close()
        raise UnpackError(f"{rpm_path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - rpmfile raises plain exceptions
        spool.close()
        raise UnpackError(f"{rpm_path}: cannot open the payload: {error}") from None
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _members(
    rpm_path: Path, want: set[str] | None = None, payload: BinaryIO | None = None
) -> Iterator[tuple[str, int, _Bounded | None]]:
    """(path, cpio size, data) for each payload member; data is None for members not wanted."""
    try:
        package = rpmfile.open(str(rpm_path))
        stream = payload or package.data_file
    except Exception as error:  # noqa: BLE001
        raise UnpackError(f"{rpm_path}: cannot open the payload: {error}") from None
    with package:
        offset = 0

        def read(n: int) -> bytes:
            nonlocal offset
            try:
                data = _safe_read(stream, n)
            except UnpackError as error:
                raise UnpackError(f"{rpm_path}: {error}") from None
            if len(data) != n:
                raise UnpackError(f"{rpm_path}: payload truncated at byte {offset}")
            offset += n
            return data

        def skip_pad() -> None:
            if offset % 4:
                read(4 - offset % 4)

        while True:
            head = read(_NEWC)
            if head[:6] != b"070701":
                raise UnpackError(f"{rpm_path}: payload is not a newc cpio archive (magic {head[:6]!r})")
            fields = [int(head[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
            size, namesize = fields[6], fields[11]
            name = read(namesize)[:-1].decode("utf-8", "surrogateescape")
            skip_pad()
            if name == "TRAILER!!!":
                return
            path = "/" + name.lstrip(".").lstrip("/") if name.startswith(".") else "/" + name.lstrip("/")
            data = _Bounded(stream, size)
            yield path, size, data if (want is None or path in want) else None
            data.drain()
            offset += size
            skip_pad()


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
        ahead = [pool.submit(_decompressed, pkg.rpm, payload_cache) for pkg in packages[:AHEAD]]
        try:
            for index, pkg in enumerate(packages):
                if index + AHEAD < len(packages):
                    ahead.append(pool.submit(_decompressed, packages[index + AHEAD].rpm, payload_cache))
                payload = ahead[index].result()
                ahead[index] = None  # type: ignore[call-overload]
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
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=CHUNK)
        self.emitted: set[str] = {"/"}
        self.count = 0
        self.data_bytes = 0

    def close(self) -> None:
        self.tar.close()

    def _info(self, path: str, entry: Entry | None, kind: int) -> tarfile.TarInfo:
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

    def _emit(self, path: str, entry: Entry, data: BinaryIO | None = None, link: str | None = None) -> None:
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
            info = self._info(path, entry, {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind])
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

    def package(self, index: int, pkg: PackageFiles, payload: BinaryIO | None = None) -> None:
        by_path = {e.path: e for e in pkg.entries}
        sets: dict[int, list[Entry]] = {}
        for e in pkg.entries:
            if e.kind == "file" and not e.flags & RPMFILE_GHOST:
                sets.setdefault(e.inode, []).append(e)
        linked = {e.path: e.inode for group in sets.values() if len(group) > 1 for e in group}
        waiting: dict[int, list[tuple[str, Entry]]] = {}  # hard-link members seen before their data
        first_written: dict[int, str] = {}
        for path, size, data in _members(pkg.rpm, payload=payload):
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
        for inode, members in waiting.items():
            self._flush_set(inode, members, None, first_written)
        for entry in pkg.entries:  # directories the payload did not list
            mine = self._mine(index, entry.path)
            if mine and entry.kind == "dir":
                self._emit(mine[0], mine[1])

    def _written_elsewhere(self, index: int, group: list[Entry]) -> int:
        return sum(1 for e in group if self._mine(index, e.path) is None)

    def _flush_set(self, inode: int, members: list[tuple[str, Entry]], data: BinaryIO | None, first_written: dict[int, str]) -> None:
        if not members:
            return
        spool = None
        if data is not None:
            spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
            shutil.copyfileobj(data, spool, CHUNK)
            spool.seek(0)
        head, entry = members[0]
        self._emit(head, entry, spool if spool is not None else io.BytesIO(b"") if entry.size == 0 else None)
        first_written[inode] = head
        for path, other in members[1:]:
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
