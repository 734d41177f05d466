"""The source side's first half in one call: resolve (or read the lock), fetch, unpack.

``netnsfix srpm`` and ``netnsfix demo`` start here and hand the extracted
spec and sources to the patch and spec stages. The package's GPG signature is
checked against the recipe's keys before any of it is read, and its own header
is compared with what the repodata promised, so a forged or mislabelled file
stops here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.recipelock import fetch_locked, locked_srpm
from netnsfix.archive.resolve import Resolved
from netnsfix.archive.signature import GpgCheck, verify_packages
from netnsfix.errors import SignatureError, UnpackError
from netnsfix.recipe import Recipe
from netnsfix.rpm.extract import extract, spec_of
from netnsfix.rpm.header import RpmHeader, read_header


@dataclass(frozen=True)
class SourcePackage:
    """A resolved, checked and extracted source RPM."""

    resolved: Resolved
    srpm: Path  # the checked file in the download cache
    header: RpmHeader
    files: tuple[Path, ...]  # everything extracted into ``folder``
    spec: Path
    folder: Path


def obtain_source(
    recipe: Recipe,
    fetcher: Fetcher,
    dest: Path,
    mirrors: Sequence[str | None] = (None,),
    lock_path: Path | None = None,
    refresh: bool = False,
    resolved: Resolved | None = None,
    gpgcheck: GpgCheck | None = None,
) -> SourcePackage:
    """Resolve the recipe's SRPM against the first mirror (or its lock), fetch it from the mirrors in order,
    and extract it into ``dest``.

    A caller that has resolved already passes ``resolved``. ``gpgcheck``: the
    keys the SRPM must be signed with (default: the recipe's).
    """
    mirrors = tuple(mirrors) or (None,)
    resolved = resolved or locked_srpm(recipe, fetcher, mirrors[0], lock_path, refresh)
    srpm = fetch_locked(fetcher, recipe, resolved, mirrors, lock_path)
    try:
        verify_packages(gpgcheck or GpgCheck.of_recipe(recipe), [(resolved.file_name, srpm)])
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
