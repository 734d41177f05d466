"""Read an RPM's header: the one place header values are read, typed, without rpm or a database.

rpmfile parses the signature and main headers underneath; its values are
turned into one typed :class:`RpmHeader` here, with one set of value helpers,
so no other module sees rpmfile's loose types (bytes or lists of bytes, ints or
tuples, string keys for the tags it knows and numbers for those it does not).

Before rpmfile reads anything, the file's structure is checked here: the RPM
lead, each header's magic and whether the file is long enough for the sizes
its headers declare. rpmfile reports a damaged header with bare exceptions
("offset overhead", failed assertions, struct errors); those never reach the
user: every failure is one :class:`UnpackError` naming the file.

rpmfile checks no digest (neither the header's nor the payload's): the bytes
are trusted because the fetcher checked the package's sha256 against the
repodata first.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rpmfile

from netnsfix.errors import UnpackError
from netnsfix.util.inputfile import kind_of

RPM_LEAD_MAGIC = b"\xed\xab\xee\xdb"
LEAD_SIZE = 96  # rpm's struct rpmlead
HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_HEADER_INTRO = struct.Struct("!4s4xii")  # magic, reserved, index entries, data size
_MAX_ENTRIES = 1 << 16  # rpm's own header limits (hdrchkTags, hdrchkData)
_MAX_DATA = 256 << 20

# rpmds.h: RPMSENSE_LESS, RPMSENSE_GREATER, RPMSENSE_EQUAL
_LESS, _GREATER, _EQUAL = 0x02, 0x04, 0x08
_OPERATORS = {_LESS: "<", _GREATER: ">", _EQUAL: "=", _LESS | _EQUAL: "<=", _GREATER | _EQUAL: ">="}

RPMFILE_GHOST = 1 << 6  # rpmfiles.h: a %ghost file is in the header but not in the payload
TAG_FILERDEVS = 1033  # rpmtag.h; rpmfile has no name for it, so it keeps the number

_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFCHR: "chr",
    stat.S_IFBLK: "blk",
    stat.S_IFIFO: "fifo",
}


@dataclass(frozen=True)
class FileEntry:
    """One path of one package, as its header describes it (``%ghost`` files too)."""

    path: str  # as packaged: absolute for a binary package, a bare name in a source package
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
    caps: str = ""  # file capabilities, "" for none

    @property
    def kind(self) -> str:
        return _KINDS.get(stat.S_IFMT(self.mode), "other")

    @property
    def ghost(self) -> bool:
        return bool(self.flags & RPMFILE_GHOST)


@dataclass(frozen=True)
class RpmHeader:
    """What the pipeline needs from a package's header.

    ``arch`` is ``src`` for a source package (its ARCH tag names the host it
    was built on); ``build_requires`` are a source package's requirements
    without the ``rpmlib(...)`` features, rendered like ``gcc >= 4.7``.
    ``payload_offset`` is where the compressed payload starts in the file.
    """

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    is_source: bool
    sourcerpm: str
    payload_compressor: str
    payload_format: str
    payload_offset: int
    build_requires: tuple[str, ...]
    requires: tuple[str, ...]
    provides: tuple[str, ...]
    files: tuple[str, ...]
    entries: tuple[FileEntry, ...]
    changelog_times: tuple[int, ...] = ()  # each %changelog entry's date, newest first
    buildtime: int = 0
    buildhost: str = ""
    tags: tuple[tuple[str, str], ...] = ()  # every main-header tag as text, for comparing two builds

    @property
    def nevra(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{prefix}{self.version}-{self.release}.{self.arch}"


class _Malformed(ValueError):
    """A header value of the wrong shape; its message says which."""


# -- value helpers: rpmfile gives bytes or lists of bytes, an int or a tuple of ints ----------


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (bytes, str)):
        value = [value]
    return [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v) for v in value]


def _text(value: Any) -> str:
    texts = _texts(value)
    return texts[0] if texts else ""


def _ints(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (bytes, str)):
        raise _Malformed(f"a number was expected, not {_text(value)!r}")
    return [int(v) for v in value]


def _dependencies(headers: Mapping[Any, Any], kind: str) -> tuple[str, ...]:
    """``requirename``/``requireflags``/``requireversion`` (or provides) rendered like ``gcc >= 4.7``."""
    names = _texts(headers.get(f"{kind}name") if kind == "require" else headers.get("provides"))
    flags = _ints(headers.get(f"{kind}flags"))
    versions = _texts(headers.get(f"{kind}version"))
    rendered = []
    for i, name in enumerate(names):
        flag = (flags[i] if i < len(flags) else 0) & (_LESS | _GREATER | _EQUAL)
        version = versions[i] if i < len(versions) else ""
        op = _OPERATORS.get(flag)
        rendered.append(f"{name} {op} {version}" if op and version else name)
    return tuple(rendered)


def _paths(headers: Mapping[Any, Any]) -> list[str]:
    basenames = _texts(headers.get("basenames"))
    if not basenames:
        return _texts(headers.get("oldfilenames"))
    dirnames = _texts(headers.get("dirnames"))
    indexes = _ints(headers.get("dirindexes"))
    if len(indexes) != len(basenames) or any(not 0 <= i < len(dirnames) for i in indexes):
        raise _Malformed(f"{len(basenames)} file names but {len(indexes)} folder indexes into {len(dirnames)} folders")
    return [dirnames[i] + b for i, b in zip(indexes, basenames, strict=True)]


def _entries(headers: Mapping[Any, Any], paths: list[str]) -> tuple[FileEntry, ...]:
    count = len(paths)
    if not count:
        return ()
    columns: dict[str, list[Any]] = {
        "mode": _ints(headers.get("filemodes")),
        "user": _texts(headers.get("fileusername")),
        "group": _texts(headers.get("filegroupname")),
        "mtime": _ints(headers.get("filemtimes")),
        "digest": _texts(headers.get("filemd5s")),
        "linkto": _texts(headers.get("filelinktos")),
        "size": _ints(headers.get("longfilesizes")) or _ints(headers.get("filesizes")),
        "inode": _ints(headers.get("fileinodes")),
        "flags": _ints(headers.get("fileflags")),
    }
    for name, column in columns.items():
        if len(column) != count:
            raise _Malformed(f"the header has {count} files but {len(column)} {name} values")
    rdevs = _ints(headers.get(TAG_FILERDEVS))
    caps = _texts(headers.get("filecaps"))
    return tuple(
        FileEntry(
            path=paths[i],
            mode=columns["mode"][i] & 0xFFFF,
            user=columns["user"][i],
            group=columns["group"][i],
            mtime=columns["mtime"][i],
            digest=columns["digest"][i],
            linkto=columns["linkto"][i],
            size=columns["size"][i],
            inode=columns["inode"][i],
            rdev=rdevs[i] if i < len(rdevs) else 0,
            flags=columns["flags"][i],
            caps=caps[i] if i < len(caps) else "",
        )
        for i in range(count)
    )


def _header_of(headers: Mapping[Any, Any], payload_offset: int) -> RpmHeader:
    sourcerpm = _text(headers.get("sourcerpm"))
    is_source = not sourcerpm
    requires = _dependencies(headers, "require")
    epoch = _ints(headers.get("serial"))
    paths = _paths(headers)
    return RpmHeader(
        name=_text(headers.get("name")),
        epoch=epoch[0] if epoch else 0,
        version=_text(headers.get("version")),
        release=_text(headers.get("release")),
        arch="src" if is_source else _text(headers.get("arch")),
        is_source=is_source,
        sourcerpm=sourcerpm,
        payload_compressor=_text(headers.get("archive_compression")) or "gzip",
        payload_format=_text(headers.get("archive_format")) or "cpio",
        payload_offset=payload_offset,
        build_requires=tuple(r for r in requires if not r.startswith("rpmlib(")) if is_source else (),
        requires=requires,
        provides=_dependencies(headers, "provide"),
        files=tuple(paths),
        entries=_entries(headers, paths),
        changelog_times=tuple(_ints(headers.get("changelogtime"))),
        buildtime=next(iter(_ints(headers.get("buildtime"))), 0),
        buildhost=_text(headers.get("buildhost")),
        tags=_rendered(headers),
    )


# Tags of the signature header and of the header's own structure: rpmfile merges the signature
# header into the main one, and neither says anything about what was built.
_NOT_CONTENT = frozenset(rpmfile.headers.sigtags) | {
    "headerimmutable",
    "headerimage",
    "headersignatures",
    "headerregions",
    "headeri18ntable",
    "signature",
    "rsaheader",
}


def _rendered(headers: Mapping[Any, Any]) -> tuple[tuple[str, str], ...]:
    """Every main-header tag as ``(NAME, text)``, sorted: numbers and strings joined by newlines."""
    rendered = []
    for key, value in headers.items():
        name = str(key) if isinstance(key, str) else f"TAG{key}"
        if name in _NOT_CONTENT:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        text = "\n".join(v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v) for v in items)
        rendered.append((name.upper(), text))
    return tuple(sorted(rendered))


# -- the file's structure, checked before rpmfile reads it ------------------------------------


def _check_structure(path: Path) -> None:
    """The lead and both headers are where their sizes say, and the file is long enough for them."""
    try:
        # without blocking: a FIFO given as an RPM is refused at once, not waited on
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise UnpackError(f"{path}: is {kind_of(info.st_mode)}, not an RPM")
            size = info.st_size
            if stream.read(4) != RPM_LEAD_MAGIC:
                raise UnpackError(path, "not an RPM (no RPM lead)")
            offset = LEAD_SIZE
            for which in ("signature", "main"):
                stream.seek(offset)
                intro = stream.read(_HEADER_INTRO.size)
                if len(intro) < _HEADER_INTRO.size:
                    raise UnpackError(path, f"truncated header: the file ends inside the RPM's {which} header")
                magic, entries, data = _HEADER_INTRO.unpack(intro)
                if magic != HEADER_MAGIC:
                    raise UnpackError(path, f"not an RPM: no {which} header at byte {offset}")
                if not (0 < entries <= _MAX_ENTRIES and 0 <= data <= _MAX_DATA):
                    raise UnpackError(path, f"corrupt RPM {which} header ({entries} entries, {data} bytes of data)")
                offset += _HEADER_INTRO.size + 16 * entries + data
                if offset > size:
                    raise UnpackError(
                        path, f"truncated header: the RPM's {which} header needs {offset} bytes, the file has {size}"
                    )
                if which == "signature":
                    offset += (8 - offset % 8) % 8  # the signature header is padded to 8 bytes
    except FileNotFoundError:
        raise UnpackError(path, "no such file") from None
    except IsADirectoryError:
        raise UnpackError(path, "is a folder, not an RPM") from None
    except PermissionError:
        raise UnpackError(path, "cannot be read (permission denied)") from None


def read_header(path: Path) -> RpmHeader:
    """The header of the RPM at ``path`` (nothing is decompressed)."""
    path = Path(path)
    _check_structure(path)
    try:
        with rpmfile.open(os.fspath(path)) as package:
            headers, payload_offset = package.headers, package.data_offset
    except OSError as error:
        raise UnpackError(path, f"cannot be read ({error.strerror or error})") from None
    except Exception:  # noqa: BLE001 - rpmfile raises bare Exceptions, assertions and struct errors
        raise UnpackError(path, "corrupt RPM header (its index does not match its data)") from None
    try:
        header = _header_of(headers, payload_offset)
    except _Malformed as error:
        raise UnpackError(path, f"corrupt RPM header: {error}") from None
    except (TypeError, ValueError, IndexError):
        raise UnpackError(path, "corrupt RPM header (a value has the wrong type)") from None
    if not header.name or not header.version:
        raise UnpackError(path, "the RPM header has no name or version")
    return header
