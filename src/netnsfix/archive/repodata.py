"""Read a yum repository's metadata: repomd.xml and primary.xml.

Both halves of the pipeline need it: the source side finds the SRPM, the
build root resolves binary packages' requires and provides. Checksums in
repomd.xml are checked before primary is trusted, and every location href must
be a plain path inside the repository (no ``..``, no absolute path, no URL),
so a hostile repository cannot point a download or a lock elsewhere.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from netnsfix.errors import RepodataError
from netnsfix.util.confined import unconfined_reason

NS_REPO = "http://linux.duke.edu/metadata/repo"
NS_COMMON = "http://linux.duke.edu/metadata/common"
NS_RPM = "http://linux.duke.edu/metadata/rpm"


class BytesSource(Protocol):
    """What the reader needs from the network: the bytes at a URL (see fetch.Fetcher)."""

    def get_bytes(self, url: str, limit: int | None = None) -> bytes: ...


@dataclass(frozen=True)
class RepomdRecord:
    type: str
    href: str
    checksum_type: str
    checksum: str
    size: int | None = None
    open_size: int | None = None  # the decompressed size: a cap on decompression


@dataclass(frozen=True)
class Dependency:
    """One entry of requires/provides/obsoletes/conflicts."""

    name: str
    flags: str | None = None  # EQ, LT, LE, GT, GE
    epoch: str | None = None
    version: str | None = None
    release: str | None = None
    pre: bool = False

    def __str__(self) -> str:
        if not self.flags:
            return self.name
        op = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}.get(self.flags, self.flags)
        evr = self.version or ""
        if self.epoch and self.epoch != "0":
            evr = f"{self.epoch}:{evr}"
        if self.release:
            evr = f"{evr}-{self.release}"
        return f"{self.name} {op} {evr}"


@dataclass(frozen=True)
class Package:
    name: str
    arch: str
    epoch: int
    version: str
    release: str
    checksum_type: str
    checksum: str
    location: str  # href relative to the repository's base URL
    size: int  # the package file's size
    repo_url: str = ""
    source_rpm: str = ""
    requires: tuple[Dependency, ...] = field(default=(), repr=False)
    provides: tuple[Dependency, ...] = field(default=(), repr=False)
    obsoletes: tuple[Dependency, ...] = field(default=(), repr=False)
    conflicts: tuple[Dependency, ...] = field(default=(), repr=False)
    files: tuple[str, ...] = field(default=(), repr=False)

    @property
    def evr(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    @property
    def url(self) -> str:
        return f"{self.repo_url.rstrip('/')}/{self.location}"


@dataclass(frozen=True)
class RepoIndex:
    url: str
    revision: str
    primary: RepomdRecord
    packages: tuple[Package, ...]


# Decompressed repodata is held in memory to be parsed: never more than repomd.xml's open-size
# says, and never more than this (Fedora 18's largest primary.xml, Everything x86_64, is about
# 60 MB; a gzip bomb of 1.5 MB would grow to gigabytes).
OPEN_SIZE_LIMIT = 256 << 20
REPOMD_LIMIT = 8 << 20  # repomd.xml lists a handful of files: a few kilobytes
_BLOCK = 1 << 20


def confined_href(href: str, source: str, what: str) -> str:
    """``href`` when it is a relative path inside the repository (percent-decoded too); RepodataError otherwise."""
    if unconfined_reason(href) is not None:
        raise RepodataError(f"{source}: {what} has location href {href!r}, which is not a path inside the repository")
    return href


def _size(text: str | None, source: str, what: str, field: str = "size") -> int | None:
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit():
        raise RepodataError(f"{source}: {what} has {field} {text.strip()!r}, which is not a number of bytes")
    return int(text)


def _decompressor(href: str) -> Callable[[], Any] | None:
    if href.endswith(".gz"):
        return lambda: zlib.decompressobj(wbits=47)  # a gzip (or zlib) header, as gzip.decompress reads
    if href.endswith(".xz"):
        return lzma.LZMADecompressor
    if href.endswith(".bz2"):
        return bz2.BZ2Decompressor
    if href.endswith(".zst"):
        raise RepodataError(f"{href}: zstd-compressed metadata is not supported (Fedora 18's repositories use gzip)")
    return None


def _blocks(make: Callable[[], Any], data: bytes) -> Iterator[bytes]:
    """The decompressed stream, ``_BLOCK`` bytes at a time: the caller can stop before it grows."""
    decompressor = make()
    pending = data
    while True:
        block = decompressor.decompress(pending, _BLOCK)
        yield block
        pending = getattr(decompressor, "unconsumed_tail", b"")
        if decompressor.eof:
            rest = decompressor.unused_data
            if not rest.strip(b"\0"):
                return
            decompressor, pending = make(), rest  # a further member or stream, as gzip.decompress reads it
        elif not block and not pending and getattr(decompressor, "needs_input", True):
            raise EOFError("the compressed data ends before its end-of-stream marker")


def _cap_text(open_size: int | None, limit: int) -> str:
    if open_size is not None and open_size <= limit:
        return f"the {open_size} bytes repomd.xml's open-size says"
    return f"{limit} bytes, netnsfix's limit for repodata"


def _decompress(
    data: bytes, href: str, open_size: int | None = None, limit: int = OPEN_SIZE_LIMIT
) -> bytes | bytearray:
    """``data`` decompressed by its suffix, in blocks: more than repomd's open-size (or ``limit``) stops it at once."""
    cap = min(open_size, limit) if open_size is not None else limit
    make = _decompressor(href)
    if make is None:
        if len(data) > cap:
            raise RepodataError(f"{href}: {len(data)} bytes, more than {_cap_text(open_size, limit)}")
        return data
    out = bytearray()
    try:
        for block in _blocks(make, data):
            out += block
            if len(out) > cap:
                raise RepodataError(
                    f"{href}: decompresses to more than {_cap_text(open_size, limit)}; refused (a compression bomb?)"
                )
    except (OSError, EOFError, lzma.LZMAError, ValueError, zlib.error) as error:
        raise RepodataError(f"{href}: cannot decompress: {error}") from None
    return out  # not copied to bytes: the parser reads a bytearray as it is, and a copy would double the peak


@dataclass(frozen=True)
class Repomd:
    revision: str
    records: dict[str, RepomdRecord]


def parse_repomd(data: bytes, source: str) -> Repomd:
    """repomd.xml's revision and its records by type (primary, filelists, other, *_db)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise RepodataError(f"{source}: not valid XML: {error}") from None
    records: dict[str, RepomdRecord] = {}
    for node in root.findall(f"{{{NS_REPO}}}data"):
        location = node.find(f"{{{NS_REPO}}}location")
        checksum = node.find(f"{{{NS_REPO}}}checksum")
        if location is None or checksum is None or not location.get("href") or not checksum.text:
            raise RepodataError(f"{source}: <data type='{node.get('type')}'> lacks a location or checksum")
        size_node = node.find(f"{{{NS_REPO}}}size")
        open_size_node = node.find(f"{{{NS_REPO}}}open-size")
        what = f"<data type='{node.get('type')}'>"
        records[node.get("type", "")] = RepomdRecord(
            type=node.get("type", ""),
            href=confined_href(location.get("href", ""), source, what),
            checksum_type=checksum.get("type", "sha256"),
            checksum=checksum.text.strip(),
            size=_size(size_node.text if size_node is not None else None, source, what),
            open_size=_size(open_size_node.text if open_size_node is not None else None, source, what, "open-size"),
        )
    if "primary" not in records:
        raise RepodataError(f"{source}: no primary metadata listed")
    return Repomd(revision=root.findtext(f"{{{NS_REPO}}}revision", "") or "", records=records)


def _dependencies(fmt: ET.Element | None, kind: str) -> tuple[Dependency, ...]:
    if fmt is None:
        return ()
    node = fmt.find(f"{{{NS_RPM}}}{kind}")
    if node is None:
        return ()
    return tuple(
        Dependency(
            name=entry.get("name", ""),
            flags=entry.get("flags"),
            epoch=entry.get("epoch"),
            version=entry.get("ver"),
            release=entry.get("rel"),
            pre=entry.get("pre") in ("1", "true"),
        )
        for entry in node.findall(f"{{{NS_RPM}}}entry")
    )


def parse_primary(data: bytes | bytearray, source: str, repo_url: str = "") -> tuple[Package, ...]:
    """Every package in primary.xml, with its dependencies and file provides."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise RepodataError(f"{source}: not valid XML: {error}") from None
    packages = []
    c = f"{{{NS_COMMON}}}"
    for node in root.findall(f"{c}package"):
        if node.get("type") != "rpm":
            continue
        try:
            version = node.find(f"{c}version")
            checksum = node.find(f"{c}checksum")
            location = node.find(f"{c}location")
            size = node.find(f"{c}size")
            fmt = node.find(f"{c}format")
            assert version is not None and checksum is not None and location is not None and size is not None
            source_rpm = fmt.find(f"{{{NS_RPM}}}sourcerpm") if fmt is not None else None
            packages.append(
                Package(
                    name=node.findtext(f"{c}name", ""),
                    arch=node.findtext(f"{c}arch", ""),
                    epoch=int(version.get("epoch") or 0),
                    version=version.get("ver", ""),
                    release=version.get("rel", ""),
                    checksum_type=checksum.get("type", "sha256"),
                    checksum=(checksum.text or "").strip(),
                    location=confined_href(
                        location.get("href", ""), source, f"package '{node.findtext(f'{c}name', '?')}'"
                    ),
                    size=_size(size.get("package"), source, f"package '{node.findtext(f'{c}name', '?')}'") or 0,
                    repo_url=repo_url,
                    source_rpm=(source_rpm.text or "") if source_rpm is not None else "",
                    requires=_dependencies(fmt, "requires"),
                    provides=_dependencies(fmt, "provides"),
                    obsoletes=_dependencies(fmt, "obsoletes"),
                    conflicts=_dependencies(fmt, "conflicts"),
                    files=tuple(f.text or "" for f in fmt.findall(f"{c}file")) if fmt is not None else (),
                )
            )
        except (AssertionError, ValueError) as error:
            name = node.findtext(f"{c}name", "?")
            raise RepodataError(f"{source}: package '{name}' is incomplete: {error or 'missing fields'}") from None
    return tuple(packages)


def load_repo(source: BytesSource, repo_url: str) -> RepoIndex:
    """Fetch repomd.xml and primary of the repository at ``repo_url``, checking primary's checksum."""
    base = repo_url.rstrip("/")
    repomd_url = f"{base}/repodata/repomd.xml"
    repomd = parse_repomd(source.get_bytes(repomd_url, limit=REPOMD_LIMIT), repomd_url)
    primary = repomd.records["primary"]
    primary_url = f"{base}/{primary.href}"
    raw = source.get_bytes(primary_url, limit=OPEN_SIZE_LIMIT)
    try:
        digest = hashlib.new(primary.checksum_type, raw).hexdigest()
    except ValueError:
        raise RepodataError(f"{repomd_url}: unknown checksum type '{primary.checksum_type}'") from None
    if digest != primary.checksum:
        raise RepodataError(
            f"{primary_url}: {primary.checksum_type} is {digest}, but repomd.xml says {primary.checksum}"
        )
    packages = parse_primary(_decompress(raw, primary_url, primary.open_size), primary_url, base)
    return RepoIndex(url=base, revision=repomd.revision, primary=primary, packages=packages)
