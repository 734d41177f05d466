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

_INTRO = struct.Struct("!4s4sii")  # magic, reserved (zero), index entries, data size
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
    magic, reserved, count, size = _INTRO.unpack(intro)
    if magic != HEADER_MAGIC or reserved != bytes(4) or not (0 < count <= _MAX_ENTRIES and 0 <= size <= _MAX_DATA):
        raise UnpackError(f"{path}: not an RPM: no valid {which} header at byte {offset}")
    index = read(_ENTRY.size * count)
    data = read(size)
    if len(index) < _ENTRY.size * count or len(data) < size:
        raise UnpackError(f"{path}: truncated header: the file ends inside the RPM's {which} header")
    entries: dict[int, tuple[int, bytes, int]] = {}
    region = _REGIONS[which]
    previous_end, trailer_at = 0, size
    for number in range(count):
        tag, kind, start, items = _ENTRY.unpack_from(index, number * _ENTRY.size)
        problem = _entry_problem(kind, start, items, size)
        if problem is None and (number == 0) != (tag == region):
            problem = f"is where the region tag {region} belongs" if number == 0 else "repeats the region tag"
        if problem is None and _TYPES[which].get(tag, kind) != kind:
            problem = f"has type {kind}, not the type {_TYPES[which][tag]} rpm gives it"
        if problem is None and number > 0 and tag < 100:  # HEADER_I18NTABLE: no tag after the region is lower
            problem = "is not a tag rpm knows"
        if problem is None and number > 1 and start < previous_end:
            problem = "overlaps the data of the entry before it"
        if problem is None and number > 0 and start < trailer_at < start + _length(kind, data[start:], items):
            problem = "runs into the region's trailer"
        if problem is not None:
            raise UnpackError(f"{path}: corrupt RPM {which} header: entry {number} (tag {tag}) {problem}")
        entries[tag] = (kind, data[start:], items)
        if number == 0:
            _check_region(path, which, tag, data[start : start + _ENTRY.size], count)
            trailer_at = start
        else:
            previous_end = start + _length(kind, data[start:], items)
    return entries, offset + _INTRO.size + len(index) + size


# Each header opens with its region tag (HEADERSIGNATURES, HEADERIMMUTABLE), whose trailer closes the index.
_REGIONS = {"signature": 62, "main": 63}
# The types rpm gives the tags read here (lib/rpmtag.h); another type is a corrupt header.
_TYPES = {
    "signature": {
        62: _TYPE_BIN,
        SIG_SIZE: _TYPE_INT32,
        SIG_MD5: _TYPE_BIN,
        SIG_SHA1: _TYPE_STRING,
        SIG_SHA256: _TYPE_STRING,
        SIG_LONGSIZE: _TYPE_INT64,
        1007: _TYPE_INT32,  # PAYLOADSIZE
        271: _TYPE_INT64,  # LONGARCHIVESIZE
        1008: _TYPE_BIN,  # RESERVEDSPACE
    },
    "main": {63: _TYPE_BIN, TAG_PAYLOADDIGEST: _TYPE_STRING_ARRAY, TAG_PAYLOADDIGESTALGO: _TYPE_INT32},
}


def _length(kind: int, data: bytes, items: int) -> int:
    """How many bytes of the data store an entry takes (strings up to their terminating NULs)."""
    if kind in (_TYPE_STRING, _TYPE_STRING_ARRAY, 9):
        end = 0
        for _ in range(items):
            found = data.find(b"\0", end)
            end = len(data) if found < 0 else found + 1
        return end
    return items * _TYPE_SIZES[kind]


def _check_region(path: Path, which: str, tag: int, trailer: bytes, count: int) -> None:
    """The region's trailer, as rpm checks it: the same tag, type BIN, offset minus the index's length, 16."""
    if len(trailer) < _ENTRY.size or _ENTRY.unpack(trailer) != (tag, _TYPE_BIN, -_ENTRY.size * count, _ENTRY.size):
        raise UnpackError(f"{path}: corrupt RPM {which} header: its region trailer does not close its index")


# rpm's own checks of an index entry (lib/header.c, hdrchkType, hdrchkAlign, hdrchkRange): a type it
# knows, an offset inside the data store and aligned for the type, a count the data can hold
_TYPE_SIZES = {0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 1, 9: 1}
_ALIGN = {3: 2, 4: 4, 5: 8}


def _entry_problem(kind: int, start: int, items: int, size: int) -> str | None:
    if kind not in _TYPE_SIZES or kind == 0:
        return f"has type {kind}, which rpm does not know"
    if not 0 <= start < size or items < 1 or items > size:
        return f"points outside the header's data ({start}, {items} items)"
    if start % _ALIGN.get(kind, 1):
        return f"is not aligned for its type ({start})"
    if kind == _TYPE_STRING and items != 1:
        return f"is a string with {items} items"
    if start + items * _TYPE_SIZES[kind] > size:
        return f"runs past the header's data ({start} + {items} items)"
    return None


def _string(entry: tuple[int, bytes, int] | None) -> str | None:
    if entry is None or entry[0] not in (_TYPE_STRING, _TYPE_STRING_ARRAY):
        return None
    return entry[1].split(b"\0", 1)[0].decode("ascii", "replace")  # as written: rpm compares hex exactly


def _number(entry: tuple[int, bytes, int] | None) -> int | None:
    if entry is None:
        return None
    if entry[0] == _TYPE_INT32 and len(entry[1]) >= 4:
        return int(struct.unpack_from("!I", entry[1])[0])
    if entry[0] == _TYPE_INT64 and len(entry[1]) >= 8:
        return int(struct.unpack_from("!Q", entry[1])[0])
    return None


def _one_pass(path: Path, start: int, spans: list[tuple[str, str, int, int | None]]) -> dict[str, str]:
    """Each span's hex digest ((label, algorithm, first byte, end or None for the end of the file)), the file
    read once from ``start`` in blocks: a large package costs one read and no memory."""
    hashes = {label: (hashlib.new(algo), first, end) for label, algo, first, end in spans}
    with open(path, "rb") as stream:
        stream.seek(start)
        offset = start
        while block := stream.read(_BLOCK):
            for digest, first, end in hashes.values():
                lo, hi = max(first - offset, 0), len(block) if end is None else min(end - offset, len(block))
                if lo < hi:
                    digest.update(block[lo:hi] if (lo, hi) != (0, len(block)) else block)
            offset += len(block)
    return {label: digest.hexdigest() for label, (digest, _, _) in hashes.items()}


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
    spans: list[tuple[str, str, int, int | None, str]] = [
        (label, algo, start, None, expected) for label, algo, start, expected in wanted
    ]
    spans += [(label, algo, main_start, payload_start, expected) for label, algo, expected in header_only]
    actual = _one_pass(path, main_start, [(label, algo, first, stop) for label, algo, first, stop, _ in spans])
    checked: list[str] = []
    for label, _, _, stop, expected in spans:  # the payload's own digest first: it names what was altered
        if actual[label] != expected:
            raise UnpackError(
                f"{path}: {label} digest is {actual[label]}, but its "
                f"{'header' if stop is None else 'signature header'} says {expected}: "
                "the package was altered or cut short after it was built"
            )
        checked.append(label)
    return DigestCheck(path, tuple(checked))


__all__ = ["DigestCheck", "verify_payload"]
