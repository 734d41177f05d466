"""Read an RPM's header and extract its payload safely, without rpm or a database.

rpmfile parses the header and decompresses the payload (gzip, bzip2, xz,
zstd). The cpio archive inside is read here in one pass, so that directories,
symlinks, hard links and full mode bits are seen, and so that every member is
checked before anything reaches the destination: a member with an absolute
path or ``..``, a symlink that resolves outside the destination, or a write
through a symlink is refused. Extraction goes to a temporary folder beside the
destination, which is renamed into place only when every member is in.

rpmfile checks no digest (neither the header's nor the payload's): the bytes
are trusted because the fetcher checked the package's sha256 against the
repodata first.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import rpmfile

from netnsfix.errors import UnpackError

RPM_LEAD_MAGIC = b"\xed\xab\xee\xdb"
CPIO_NEWC = b"070701"
CPIO_HEADER_SIZE = 110
SUPPORTED_COMPRESSORS = ("gzip", "bzip2", "xz", "zstd")

# rpmds.h: RPMSENSE_LESS, RPMSENSE_GREATER, RPMSENSE_EQUAL
_LESS, _GREATER, _EQUAL = 0x02, 0x04, 0x08
_OPERATORS = {_LESS: "<", _GREATER: ">", _EQUAL: "=", _LESS | _EQUAL: "<=", _GREATER | _EQUAL: ">="}


@dataclass(frozen=True)
class RpmHeader:
    """What the pipeline needs from a package's header.

    ``arch`` is ``src`` for a source package (its ARCH tag names the host it
    was built on); ``build_requires`` are a source package's requirements
    without the ``rpmlib(...)`` features, rendered like ``gcc >= 4.7``.
    """

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    is_source: bool
    payload_compressor: str
    payload_format: str
    build_requires: tuple[str, ...]
    requires: tuple[str, ...]
    provides: tuple[str, ...]
    files: tuple[str, ...]

    @property
    def nevra(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{prefix}{self.version}-{self.release}.{self.arch}"


# -- header ----------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else b""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes):
        value = [value]
    return [v.decode("utf-8", "replace") for v in value]


def _ints(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return list(value)


def _dependencies(headers: dict[Any, Any], kind: str) -> tuple[str, ...]:
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


def _files(headers: dict[Any, Any]) -> tuple[str, ...]:
    basenames = _texts(headers.get("basenames"))
    if basenames:
        dirnames = _texts(headers.get("dirnames"))
        indexes = _ints(headers.get("dirindexes"))
        return tuple(f"{dirnames[i] if i < len(dirnames) else ''}{b}" for i, b in zip(indexes, basenames, strict=False))
    return tuple(_texts(headers.get("oldfilenames")))


def _open(path: Path) -> rpmfile.RPMFile:
    try:
        with open(path, "rb") as stream:
            if stream.read(4) != RPM_LEAD_MAGIC:
                raise UnpackError(f"{path}: not an RPM (no RPM lead)")
        return rpmfile.open(os.fspath(path))
    except UnpackError:
        raise
    except FileNotFoundError:
        raise UnpackError(f"{path}: no such file") from None
    except Exception as error:  # noqa: BLE001 - rpmfile raises bare Exceptions and assertions
        raise UnpackError(f"{path}: cannot read the RPM header: {error or type(error).__name__}") from None


def _header_of(path: Path, headers: dict[Any, Any]) -> RpmHeader:
    is_source = "sourcerpm" not in headers
    requires = _dependencies(headers, "require")
    epoch = _ints(headers.get("serial"))
    return RpmHeader(
        name=_text(headers.get("name")),
        epoch=epoch[0] if epoch else 0,
        version=_text(headers.get("version")),
        release=_text(headers.get("release")),
        arch="src" if is_source else _text(headers.get("arch")),
        is_source=is_source,
        payload_compressor=_text(headers.get("archive_compression")) or "gzip",
        payload_format=_text(headers.get("archive_format")) or "cpio",
        build_requires=tuple(r for r in requires if not r.startswith("rpmlib(")) if is_source else (),
        requires=requires,
        provides=_dependencies(headers, "provide"),
        files=_files(headers),
    )


def read_header(path: Path) -> RpmHeader:
    """The header of the RPM at ``path`` (nothing is decompressed)."""
    with _open(path) as package:
        header = _header_of(path, package.headers)
    if not header.name or not header.version:
        raise UnpackError(f"{path}: the RPM header has no name or version")
    return header


# -- payload ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    name: str  # as stored
    path: str  # normalised, relative
    mode: int
    ino: int
    nlink: int
    mtime: int
    size: int


def _normalise(rpm_path: Path, name: str) -> str | None:
    """The member's relative path, or None for the archive's own root (``.``)."""
    stripped = name[2:] if name.startswith("./") else name
    if stripped.startswith("/"):
        raise UnpackError(f"{rpm_path}: member {name!r} has an absolute path; nothing was extracted")
    if ".." in stripped.split("/"):
        raise UnpackError(f"{rpm_path}: member {name!r} contains '..'; nothing was extracted")
    normal = posixpath.normpath(stripped) if stripped else "."
    return None if normal == "." else normal


def _read_exact(stream: IO[bytes], count: int, rpm_path: Path) -> bytes:
    data = bytearray()
    while len(data) < count:
        block = stream.read(count - len(data))
        if not block:
            raise UnpackError(f"{rpm_path}: the payload ends early (a truncated or corrupt RPM)")
        data += block
    return bytes(data)


def _skip_padding(stream: IO[bytes], consumed: int, rpm_path: Path) -> None:
    _read_exact(stream, (4 - consumed % 4) % 4, rpm_path)


def _members(stream: IO[bytes], rpm_path: Path) -> Iterator[tuple[_Member, IO[bytes]]]:
    """Each cpio (newc) member in order, with the stream positioned at its data."""
    while True:
        header = stream.read(CPIO_HEADER_SIZE)
        if len(header) < CPIO_HEADER_SIZE:
            raise UnpackError(f"{rpm_path}: the payload ends without a cpio trailer (a truncated or corrupt RPM)")
        magic = header[:6]
        if magic != CPIO_NEWC:
            if magic == b"07070X":
                raise UnpackError(
                    f"{rpm_path}: the payload is rpm's stripped cpio (large files), which is not supported"
                )
            raise UnpackError(f"{rpm_path}: the payload is not a cpio (newc) archive: magic {magic!r}")
        try:
            values = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise UnpackError(f"{rpm_path}: corrupt cpio header in the payload") from None
        ino, mode, _uid, _gid, nlink, mtime, size, *_devs, namesize, _check = values
        raw_name = _read_exact(stream, namesize, rpm_path)
        _skip_padding(stream, CPIO_HEADER_SIZE + namesize, rpm_path)
        name = raw_name.rstrip(b"\x00").decode("utf-8", "surrogateescape")
        if name == "TRAILER!!!":
            return
        path = _normalise(rpm_path, name)
        member = _Member(name=name, path=path or ".", mode=mode, ino=ino, nlink=nlink, mtime=mtime, size=size)
        yield member, stream
        _skip_padding(stream, size, rpm_path)


def _inside(root: Path, candidate: str) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(candidate)]) == real_root


def _check_link(rpm_path: Path, member: _Member, target: str) -> None:
    if target.startswith("/"):
        raise UnpackError(
            f"{rpm_path}: member {member.name!r} is a symlink to the absolute path {target!r}; nothing was extracted"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member.path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnpackError(
            f"{rpm_path}: member {member.name!r} is a symlink to {target!r}, outside the destination; nothing "
            "was extracted"
        )


def _write_members(rpm_path: Path, stream: IO[bytes], root: Path) -> list[Path]:
    written: list[Path] = []
    links: list[tuple[_Member, Path]] = []
    hardlinks: dict[int, list[Path]] = {}
    dir_times: list[tuple[Path, int]] = []
    for member, data in _members(stream, rpm_path):
        if member.path == ".":
            _read_exact(data, member.size, rpm_path)
            continue
        target = root / member.path
        ancestor = root
        for part in member.path.split("/")[:-1]:
            ancestor = ancestor / part
            if ancestor.is_symlink():
                raise UnpackError(
                    f"{rpm_path}: member {member.name!r} would be written through a symlink; nothing was extracted"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        kind = stat.S_IFMT(member.mode)
        if kind == stat.S_IFDIR:
            _read_exact(data, member.size, rpm_path)
            target.mkdir(exist_ok=True)
            target.chmod((member.mode & 0o777) | 0o700)
            dir_times.append((target, member.mtime))
        elif kind == stat.S_IFLNK:
            link_to = _read_exact(data, member.size, rpm_path).decode("utf-8", "surrogateescape")
            _check_link(rpm_path, member, link_to)
            if target.is_symlink() or target.is_file():
                target.unlink()
            os.symlink(link_to, target)
            links.append((member, target))
            written.append(target)
        elif kind == stat.S_IFREG:
            if member.nlink > 1 and member.size == 0:
                # newc keeps a hard link's data with its last name; link the others to it then
                hardlinks.setdefault(member.ino, []).append(target)
                continue
            if target.is_symlink():
                target.unlink()  # a later member of the same name replaces the link, never writes through it
            with open(target, "wb") as out:
                remaining = member.size
                while remaining:
                    block = data.read(min(remaining, 1 << 20))
                    if not block:
                        raise UnpackError(f"{rpm_path}: the payload ends inside member {member.name!r}")
                    out.write(block)
                    remaining -= len(block)
            target.chmod(member.mode & 0o777)
            os.utime(target, (member.mtime, member.mtime))
            written.append(target)
            for other in hardlinks.pop(member.ino, []) if member.nlink > 1 else []:
                os.link(target, other)
                written.append(other)
        else:
            raise UnpackError(
                f"{rpm_path}: member {member.name!r} is not a file, folder or symlink (mode {member.mode:o}); "
                "nothing was extracted"
            )
    for names in hardlinks.values():  # empty files whose every name had no data
        for other in names:
            other.touch()
            written.append(other)
    for member, link in links:  # a chain of links may leave even when each link alone stays inside
        if not _inside(root, os.fspath(link)):
            raise UnpackError(
                f"{rpm_path}: member {member.name!r} is a symlink that resolves outside the destination; "
                "nothing was extracted"
            )
    for folder, mtime in reversed(dir_times):
        os.utime(folder, (mtime, mtime))
    return written


def extract(rpm_path: Path, dest: Path) -> tuple[Path, ...]:
    """Extract every member of the RPM into ``dest`` (new or empty); the files and links extracted.

    For a source RPM these are the spec, the sources and the patches. Nothing
    is left in ``dest`` when a member is refused or the payload is corrupt.
    """
    header = read_header(rpm_path)
    if header.payload_format != "cpio":
        raise UnpackError(f"{rpm_path}: payload format {header.payload_format!r} is not supported (only cpio)")
    if header.payload_compressor not in SUPPORTED_COMPRESSORS:
        raise UnpackError(
            f"{rpm_path}: payload compressor {header.payload_compressor!r} is not supported "
            f"({', '.join(SUPPORTED_COMPRESSORS)} are)"
        )
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UnpackError(f"{dest}: exists and is not an empty folder; not extracting {rpm_path.name} into it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".unpack", dir=dest.parent))
    try:
        with _open(rpm_path) as package:
            try:
                written = _write_members(rpm_path, package.data_file, tmp)
            except UnpackError:
                raise
            except Exception as error:  # noqa: BLE001 - gzip, lzma, bz2, zstandard and the file system each raise their own
                raise UnpackError(
                    f"{rpm_path}: cannot extract the {header.payload_compressor} payload: "
                    f"{type(error).__name__}: {error}"
                ) from None
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tuple(dest / p.relative_to(tmp) for p in written)


def spec_of(paths: Iterable[Path]) -> Path:
    """The one ``.spec`` among an extracted source RPM's files."""
    specs = sorted(p for p in paths if p.name.endswith(".spec") and not p.is_symlink())
    if len(specs) == 1:
        return specs[0]
    if not specs:
        raise UnpackError("no .spec file among the extracted files")
    raise UnpackError(f"more than one .spec file among the extracted files: {', '.join(str(p) for p in specs)}")
