"""Read an RPM's payload: the one decompressor and the one newc cpio reader, with one set of path checks.

rpm writes its payload as a cpio archive in the "new ASCII" (newc) format,
compressed as the header's PAYLOADCOMPRESSOR says. It is decompressed here
as a stream (gzip, bzip2, xz as in Fedora 18, zstd as rpm >= 4.14 writes;
never the whole payload in memory), and read member by member in one pass,
so that directories, symlinks, hard links and full mode bits are seen.

Every member's name is checked here, once, for every reader (source
unpacking, the build root's tar, ``verify --rpm``): a name that is empty,
holds a NUL byte, is absolute, has a ``..`` component, or appears twice in
one payload is refused with one :class:`UnpackError` naming the RPM and the
member. A symlink's target is read with its member. Whether a member may be
*written* somewhere (links that lead out, writes through links) is the
writer's question: see :mod:`netnsfix.rpm.extract`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import posixpath
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

import zstandard

from netnsfix.errors import UnpackError
from netnsfix.rpm.header import RpmHeader, read_header

SUPPORTED_COMPRESSORS = ("gzip", "bzip2", "xz", "zstd")
CPIO_NEWC = b"070701"
CPIO_HEADER_SIZE = 110
TRAILER = "TRAILER!!!"
CHUNK = 1 << 20
LINK_MAX = 4095  # PATH_MAX - 1: the longest symlink target Linux stores


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Member:
    """One cpio member. ``data`` reads its content (a regular file's), and only until the next member."""

    name: str  # as stored
    path: str  # normalised and relative, "." for the archive's own root
    mode: int  # full st_mode, with the type bits
    size: int
    ino: int
    nlink: int
    mtime: int
    rdev: int
    linkto: str  # a symlink's target, "" for any other member
    data: MemberData = field(compare=False, repr=False)

    @property
    def kind(self) -> int:
        return stat.S_IFMT(self.mode)


class MemberData:
    """Exactly ``size`` bytes of the payload (one member's data), then EOF."""

    def __init__(self, stream: Readable, size: int, rpm: Path, name: str) -> None:
        self._stream, self.left, self._rpm, self._name = stream, size, rpm, name

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self._stream.read(size)
        if not data:
            raise UnpackError(self._rpm, f"the payload ends inside member {self._name!r} (a truncated or corrupt RPM)")
        self.left -= len(data)
        return data

    def drain(self) -> None:
        while self.left > 0:
            self.read(CHUNK)


# -- decompression -------------------------------------------------------------------------


class Payload:
    """The decompressed payload of one RPM as a stream; any decompression failure is an UnpackError."""

    def __init__(self, rpm: Path, compressor: str, raw: IO[bytes], stream: Readable) -> None:
        self.rpm, self.compressor, self._raw, self._stream = rpm, compressor, raw, stream

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except EOFError:
            raise UnpackError(self.rpm, "the payload ends early (a truncated or corrupt RPM)") from None
        except (OSError, ValueError, lzma.LZMAError, zlib.error, zstandard.ZstdError) as error:
            raise UnpackError(
                self.rpm, f"cannot extract the {self.compressor} payload: {type(error).__name__}: {error}"
            ) from error

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        self._raw.close()

    def __enter__(self) -> Payload:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_payload(rpm: Path, header: RpmHeader | None = None) -> Payload:
    """The RPM's payload, decompressed as it is read (a context manager)."""
    rpm = Path(rpm)
    header = header or read_header(rpm)
    if header.payload_format != "cpio":
        raise UnpackError(rpm, f"payload format {header.payload_format!r} is not supported (only cpio)")
    compressor = header.payload_compressor
    if compressor not in SUPPORTED_COMPRESSORS:
        raise UnpackError(
            rpm, f"payload compressor {compressor!r} is not supported ({', '.join(SUPPORTED_COMPRESSORS)} are)"
        )
    try:
        raw = open(rpm, "rb")  # noqa: SIM115 - owned and closed by the Payload returned
    except OSError as error:
        raise UnpackError(rpm, f"cannot be read ({error.strerror or error})") from error
    raw.seek(header.payload_offset)
    stream: Readable
    if compressor == "xz":
        stream = lzma.LZMAFile(raw, format=lzma.FORMAT_XZ)  # noqa: SIM115 - as raw
    elif compressor == "gzip":
        stream = gzip.GzipFile(fileobj=raw)
    elif compressor == "bzip2":
        stream = bz2.BZ2File(raw)
    else:
        stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
    return Payload(rpm, compressor, raw, stream)


# -- the cpio reader -------------------------------------------------------------------------


def _read_exact(stream: Readable, count: int, rpm: Path) -> bytes:
    data = stream.read(count)
    while len(data) < count:
        block = stream.read(count - len(data))
        if not block:
            raise UnpackError(rpm, "the payload ends early (a truncated or corrupt RPM)")
        data += block
    return data


def normalise(rpm: Path, name: str) -> str:
    """The member's relative path ("." for the archive's root), or UnpackError naming what is wrong with it."""
    if "\0" in name:
        raise UnpackError(rpm, f"member {name!r} has a NUL byte in its name")
    stripped = name[2:] if name.startswith("./") else name
    if not stripped and name != "./":
        raise UnpackError(rpm, "a member has an empty name")
    if stripped.startswith("/"):
        raise UnpackError(rpm, f"member {name!r} has an absolute path")
    if ".." in stripped.split("/"):
        raise UnpackError(rpm, f"member {name!r} contains '..'")
    return posixpath.normpath(stripped) if stripped else "."


def members(stream: Readable, rpm: Path) -> Iterator[Member]:
    """Each member of the newc cpio archive in ``stream`` (decompressed), in order; ``rpm`` names it in errors.

    A member's ``data`` must be read (or not) before the next one is asked for.
    """
    rpm = Path(rpm)
    seen: set[str] = set()
    consumed = 0  # bytes of the archive read so far, for the 4-byte padding
    while True:
        header = stream.read(CPIO_HEADER_SIZE)
        if len(header) < CPIO_HEADER_SIZE:
            header += _read_exact(stream, CPIO_HEADER_SIZE - len(header), rpm) if header else b""
            if len(header) < CPIO_HEADER_SIZE:
                raise UnpackError(rpm, "the payload ends without a cpio trailer (a truncated or corrupt RPM)")
        magic = header[:6]
        if magic != CPIO_NEWC:
            if magic == b"07070X":
                raise UnpackError(rpm, "the payload is rpm's stripped cpio (large files), which is not supported")
            raise UnpackError(rpm, f"the payload is not a cpio (newc) archive: magic {magic!r} at byte {consumed}")
        try:
            values = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise UnpackError(rpm, f"corrupt cpio header at byte {consumed} of the payload") from None
        ino, mode, _uid, _gid, nlink, mtime, size, _maj, _min, rdev_major, rdev_minor, namesize, _check = values
        if namesize < 1:
            raise UnpackError(rpm, f"corrupt cpio header at byte {consumed} of the payload (no name)")
        raw_name = _read_exact(stream, namesize, rpm)
        consumed += CPIO_HEADER_SIZE + namesize
        _read_exact(stream, -consumed % 4, rpm)
        consumed += -consumed % 4
        if raw_name[-1:] != b"\0":
            raise UnpackError(rpm, "corrupt cpio header in the payload (a name without its NUL)")
        name = raw_name[:-1].decode("utf-8", "surrogateescape")
        if name == TRAILER:
            return
        path = normalise(rpm, name)
        if path != ".":
            if path in seen:
                raise UnpackError(rpm, f"member {name!r} appears twice in the payload")
            seen.add(path)
        linkto = ""
        if stat.S_ISLNK(mode):
            if not 0 < size <= LINK_MAX:
                raise UnpackError(rpm, f"member {name!r} is a symlink with a {size}-byte target")
            target = _read_exact(stream, size, rpm)
            if b"\0" in target:
                raise UnpackError(rpm, f"member {name!r} is a symlink whose target has a NUL byte")
            linkto = target.decode("utf-8", "surrogateescape")
        data = MemberData(stream, 0 if linkto else size, rpm, name)
        yield Member(
            name=name,
            path=path,
            mode=mode,
            size=size,
            ino=ino,
            nlink=nlink,
            mtime=mtime,
            rdev=os.makedev(rdev_major, rdev_minor),
            linkto=linkto,
            data=data,
        )
        data.drain()
        consumed += size
        _read_exact(stream, -consumed % 4, rpm)
        consumed += -consumed % 4


def read_members(rpm: Path, header: RpmHeader | None = None) -> Iterator[Member]:
    """Each member of the RPM's payload, decompressed as it is read."""
    with open_payload(rpm, header) as payload:
        yield from members(payload, rpm)
