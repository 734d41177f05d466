"""Check an RPM's own digests before its payload is trusted: publish and the fleet export call this.

A build folder's manifest (or a repository's sha256) says which bytes a file
had when it was listed, not that those bytes are a whole, unaltered package:
an RPM whose payload was changed after the build, with the manifest updated to
match, passes every sha256 check. The package's headers say what its payload
must be, so that is checked, as ``rpmkeys --checksig --nosignature`` does:

- the main header's payload digest (``PAYLOADDIGEST``, rpm 4.14+; the
  algorithm in ``PAYLOADDIGESTALGO``): the compressed payload;
- the signature header's MD5 (``SIGMD5``, every rpm including Fedora 18's
  4.10): the main header and the payload together;
- the signature header's ``SHA1HEADER``/``SHA256HEADER``: the main header;
- ``SIZE``/``LONGSIZE``: the bytes after the signature header.

Every digest present must match, and at least one that covers the payload must
be present. Tag numbers and layouts are rpm's (lib/rpmtag.h, rpmio/rpmpgp.h;
the same since rpm 4.10 apart from PAYLOADDIGEST, added in 4.14). Read here
in streaming fashion, so a large package costs no memory.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import UnpackError
from netnsfix.rpm.header import HEADER_MAGIC, LEAD_SIZE, RPM_LEAD_MAGIC

_INTRO = struct.Struct("!4s4xii")
_ENTRY = struct.Struct("!iiii")

# signature header tags (lib/rpmtag.h: RPMSIGTAG_*)
SIG_SIZE, SIG_MD5, SIG_SHA1, SIG_SHA256, SIG_LONGSIZE = 1000, 1004, 269, 273, 270
# main header tags
TAG_PAYLOADDIGEST, TAG_PAYLOADDIGESTALGO = 5092, 5093
# rpmio/rpmpgp.h PGPHASHALGO_*
_HASHES = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_TYPE_INT32, _TYPE_INT64, _TYPE_STRING, _TYPE_BIN, _TYPE_STRING_ARRAY = 4, 5, 6, 7, 8
_MAX_ENTRIES, _MAX_DATA = 1 << 16, 256 << 20
_BLOCK = 1 << 20


@dataclass(frozen=True)
class DigestCheck:
    """What was checked: the names of the digests that matched (``payload sha256``, ``md5``...)."""

    path: Path
    checked: tuple[str, ...]


def _header(stream: object, offset: int, path: Path, which: str) -> tuple[dict[int, tuple[int, bytes, int]], int]:
    """One header's entries {tag: (type, data from its offset, count)} and its end offset."""
    read = stream.read  # type: ignore[attr-defined]
    stream.seek(offset)  # type: ignore[attr-defined]
    intro = read(_INTRO.size)
    if len(intro) < _INTRO.size:
        raise UnpackError(f"{path}: truncated header: the file ends inside the RPM's {which} header")
    magic, count, size = _INTRO.unpack(intro)
    if magic != HEADER_MAGIC or not (0 < count <= _MAX_ENTRIES and 0 <= size <= _MAX_DATA):
        raise UnpackError(f"{path}: not an RPM: no valid {which} header at byte {offset}")
    index = read(_ENTRY.size * count)
    data = read(size)
    if len(index) < _ENTRY.size * count or len(data) < size:
        raise UnpackError(f"{path}: truncated header: the file ends inside the RPM's {which} header")
    entries: dict[int, tuple[int, bytes, int]] = {}
    for number in range(count):
        tag, kind, start, items = _ENTRY.unpack_from(index, number * _ENTRY.size)
        if 0 <= start <= size:
            entries[tag] = (kind, data[start:], items)
    return entries, offset + _INTRO.size + len(index) + size


def _string(entry: tuple[int, bytes, int] | None) -> str | None:
    if entry is None or entry[0] not in (_TYPE_STRING, _TYPE_STRING_ARRAY):
        return None
    return entry[1].split(b"\0", 1)[0].decode("ascii", "replace").lower()


def _number(entry: tuple[int, bytes, int] | None) -> int | None:
    if entry is None:
        return None
    if entry[0] == _TYPE_INT32 and len(entry[1]) >= 4:
        return int(struct.unpack_from("!I", entry[1])[0])
    if entry[0] == _TYPE_INT64 and len(entry[1]) >= 8:
        return int(struct.unpack_from("!Q", entry[1])[0])
    return None


def _digest(path: Path, start: int, end: int | None, names: tuple[str, ...]) -> dict[str, str]:
    """Hex digests of the file's bytes from ``start`` to ``end`` (None: the end of the file), read once."""
    hashes = {name: hashlib.new(name) for name in names}
    with open(path, "rb") as stream:
        stream.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            block = stream.read(_BLOCK if left is None else min(_BLOCK, left))
            if not block:
                break
            for digest in hashes.values():
                digest.update(block)
            if left is not None:
                left -= len(block)
    return {name: digest.hexdigest() for name, digest in hashes.items()}


def verify_payload(path: Path) -> DigestCheck:
    """Every digest ``path``'s headers carry must match its bytes; UnpackError naming the file and the digest.

    Raises when a digest differs (the payload or header was altered or cut short),
    or when the package carries no digest that covers its payload.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            if stream.read(4) != RPM_LEAD_MAGIC:
                raise UnpackError(f"{path}: not an RPM (no RPM lead)")
            signature, end = _header(stream, LEAD_SIZE, path, "signature")
            main_start = end + (8 - end % 8) % 8
            main, payload_start = _header(stream, main_start, path, "main")
            file_size = os.fstat(stream.fileno()).st_size
    except OSError as error:
        raise UnpackError(f"{path}: cannot be read ({error.strerror or error})") from None
    wanted: list[tuple[str, str, int, str]] = []  # (label, algorithm, start, expected hex) over start..EOF or header
    payload_digest = _string(main.get(TAG_PAYLOADDIGEST))
    if payload_digest:
        algo = _HASHES.get(_number(main.get(TAG_PAYLOADDIGESTALGO)) or 8)
        if algo is None:
            raise UnpackError(f"{path}: its payload digest uses an algorithm netnsfix does not know")
        wanted.append((f"payload {algo}", algo, payload_start, payload_digest))
    md5 = signature.get(SIG_MD5)
    if md5 is not None and md5[0] == _TYPE_BIN and md5[2] == 16:
        wanted.append(("md5 (header and payload)", "md5", main_start, md5[1][:16].hex()))
    if not wanted:
        raise UnpackError(f"{path}: carries no digest of its payload (neither PAYLOADDIGEST nor MD5); refusing it")
    header_only = [
        (label, algo, expected)
        for label, algo, tag in (("header sha1", "sha1", SIG_SHA1), ("header sha256", "sha256", SIG_SHA256))
        if (expected := _string(signature.get(tag)))
    ]
    size = _number(signature.get(SIG_LONGSIZE)) or _number(signature.get(SIG_SIZE))
    if size is not None and size != file_size - main_start:
        raise UnpackError(
            f"{path}: header and payload are {file_size - main_start} bytes, but its signature header says {size}: "
            "cut short or altered"
        )
    checked: list[str] = []
    actual_at = {
        start: _digest(path, start, None, tuple(sorted({algo for _, algo, s, _ in wanted if s == start})))
        for start in {start for _, _, start, _ in wanted}
    }
    for label, algo, start, expected in wanted:  # the payload's own digest first: it names what was altered
        actual = actual_at[start][algo]
        if actual != expected:
            raise UnpackError(
                f"{path}: {label} digest is {actual}, but its header says {expected}: "
                "the package was altered or cut short after it was built"
            )
        checked.append(label)
    if header_only:
        header_digests = _digest(path, main_start, payload_start, tuple(sorted({algo for _, algo, _ in header_only})))
        for label, algo, expected in header_only:
            if header_digests[algo] != expected:
                raise UnpackError(
                    f"{path}: {label} digest is {header_digests[algo]}, but its signature header says {expected}"
                )
            checked.append(label)
    return DigestCheck(path, tuple(checked))


__all__ = ["DigestCheck", "verify_payload"]
