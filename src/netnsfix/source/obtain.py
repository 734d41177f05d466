"""The source side's first half in one call: resolve (or read the lock), fetch, unpack.

``netnsfix srpm`` and ``netnsfix demo`` start here and hand the extracted
spec and sources to the patch and spec stages. The package's GPG signature is
checked against the recipe's keys before any of it is read, and its own header
is compared with what the repodata promised, so a forged or mislabelled file
stops here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.recipelock import fetch_locked, locked_srpm
from netnsfix.archive.resolve import Resolved
from netnsfix.archive.signature import verify_packages
from netnsfix.errors import SignatureError, UnpackError
from netnsfix.rpm.extract import extract, spec_of
from netnsfix.rpm.header import RpmHeader, read_header
from netnsfix.source.request import Request


@dataclass(frozen=True)
class SourcePackage:
    """A resolved, checked and extracted source RPM."""

    resolved: Resolved
    srpm: Path  # the checked file in the download cache
    header: RpmHeader
    files: tuple[Path, ...]  # everything extracted into ``folder``
    spec: Path
    folder: Path


def obtain_source(request: Request, fetcher: Fetcher, dest: Path, resolved: Resolved | None = None) -> SourcePackage:
    """Resolve the request's SRPM against its first base URL (or read its lock), fetch it from the bases in
    order, check its signature against the request's policy, and extract it into ``dest``.

    A caller that has resolved already passes ``resolved``.
    """
    recipe = request.recipe
    resolved = resolved or locked_srpm(recipe, fetcher, request.base, request.lock, request.refresh)
    srpm = fetch_locked(fetcher, recipe, resolved, request.bases, request.lock)
    try:
        verify_packages(request.gpgcheck, [(resolved.file_name, srpm)])
    except SignatureError:
        _read_header(srpm, resolved)  # a damaged file is named as damaged, not as "not signed"
        raise
    header = _read_header(srpm, resolved)
    found = (header.name, header.epoch, header.version, header.release, header.is_source)
    wanted = (resolved.name, resolved.epoch, resolved.version, resolved.release, True)
    if found != wanted:
        raise UnpackError(f"{resolved.url}: the package is {header.nevra}, but the repodata promised {resolved.nevra}")
    files = extract(srpm, dest)
    return SourcePackage(resolved=resolved, srpm=srpm, header=header, files=files, spec=spec_of(files), folder=dest)


def _read_header(srpm: Path, resolved: Resolved) -> RpmHeader:
    """The SRPM's header; a damaged one names the package the user asked for, not only its cache file."""
    try:
        return read_header(srpm)
    except UnpackError as error:
        raise UnpackError(resolved.url, f"{error.problem} (cached as {srpm})") from error
