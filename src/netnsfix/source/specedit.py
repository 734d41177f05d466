"""Add one patch to a spec file the way a packager would, or refuse clearly.

Three edits go together: ``PatchN:`` plus the ``%patchN -p1`` that applies it
(none when ``%autosetup -p1``/``%autopatch`` applies every patch), a Release
that rpm sorts newer than the original (so ``dnf upgrade`` picks the fix),
and a ``%changelog`` entry naming the bug, dated without a time of day so
Fedora 18's rpm 4.10 can read it. A spec shape this module does not
understand is an error: silently leaving the patch unapplied would ship the
bug again under a new release number.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import rpm
from specfile import Specfile
from specfile.exceptions import SpecfileException
from specfile.options import Options
from specfile.prep import AutopatchMacro, AutosetupMacro, PatchMacro, SetupMacro

from netnsfix.errors import SpecError
from netnsfix.rpm.spectext import spec_literal
from netnsfix.util.fsutil import atomic_write_text

STRIP = 1  # every netnsfix patch is made for patch -p1 (a/ and b/ prefixes)
_DIST = re.compile(r"%(\{\??dist\}|dist\b)")
_RELEASE_SUFFIX = re.compile(r"^[A-Za-z0-9._+~^]+\Z")
_PATCH_NAME_CHARS = r"[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*"  # a file name rpm and patch take as it is: no macro, no space
_PATCH_NAME = re.compile(rf"^{_PATCH_NAME_CHARS}\Z")


@dataclass(frozen=True)
class SpecChange:
    """What :func:`add_patch` wrote: the lines it added and the release before and after."""

    spec: Path
    patch_number: int
    patch_line: str  # "Patch1:         iproute-3.6.0-netns-keep-sys.patch"
    prep_line: str | None  # "%patch1 -p1", or None when %autosetup -p1 / %autopatch applies it
    old_release: str  # as written: "2%{?dist}"
    new_release: str  # "2.netnsfix1%{?dist}"
    old_evr: str  # without dist: "3.6.0-2"
    new_evr: str  # "3.6.0-2.netnsfix1"


def add_patch(
    spec: Path,
    patch_name: str,
    *,
    release_suffix: str,
    bug: int,
    author: str,
    text: str,
    day: datetime.date,
) -> SpecChange:
    """Add ``patch_name`` to ``spec`` (Patch tag, %prep, Release, %changelog) and save it atomically.

    Nothing from the recipe is ever code in the spec: the patch name and release
    suffix must be plain (checked), the changelog's author and text are escaped
    for rpm's macro language (``%`` -> ``%%``) after a check for what a spec line
    cannot hold.
    """
    if not _PATCH_NAME.match(patch_name):
        raise SpecError(
            f"{spec}: patch name {patch_name!r} must be a plain file name (letters, digits and . _ + ~ -; "
            "it sits in SOURCES)"
        )
    if not _RELEASE_SUFFIX.match(release_suffix):
        raise SpecError(f"{spec}: release suffix {release_suffix!r} may only hold letters, digits and . _ + ~ ^")
    author = spec_literal(author, "changelog author", spec)
    text = spec_literal(text, "changelog text", spec)
    if isinstance(day, datetime.datetime):
        day = day.date()  # rpm 4.10 cannot parse a time of day in %changelog
    try:
        original = spec.read_text(encoding="utf-8", errors="surrogateescape")
        mode = spec.stat().st_mode & 0o7777
    except FileNotFoundError:
        raise SpecError(f"{spec}: no such spec file") from None
    if not re.search(r"^Release\s*:", original, re.IGNORECASE | re.MULTILINE):
        raise SpecError(f"{spec}: has no Release tag")
    try:
        edited = _edit(spec, original, patch_name, release_suffix, bug, author, text, day)
    except SpecfileException as error:
        raise SpecError(f"{spec}: rpm cannot parse the spec: {error}") from None
    content, change = edited
    atomic_write_text(spec, content, mode)
    return change


def source0(spec: Path) -> Path:
    """The file ``Source0`` names (macros expanded), beside the spec as an unpacked SRPM has it.

    That tarball is what a patch is checked against before the spec is touched.
    """
    try:
        specfile = Specfile(content=spec.read_text(encoding="utf-8", errors="surrogateescape"), sourcedir=spec.parent)
        with specfile.sources() as sources:
            numbered = sorted((source.number, source.expanded_location) for source in sources)
    except FileNotFoundError:
        raise SpecError(f"{spec}: no such spec file") from None
    except SpecfileException as error:
        raise SpecError(f"{spec}: rpm cannot parse the spec: {error}") from None
    if not numbered:
        raise SpecError(f"{spec}: has no Source tag")
    return spec.parent / Path(numbered[0][1]).name


def _edit(
    spec: Path, original: str, patch_name: str, suffix: str, bug: int, author: str, text: str, day: datetime.date
) -> tuple[str, SpecChange]:
    specfile = Specfile(content=original, sourcedir=spec.parent)
    with specfile.sections() as sections:
        ids = [section.normalized_id for section in sections]
    if "prep" not in ids:
        raise SpecError(f"{spec}: has no %prep section, so no patch could be applied")
    old_release = specfile.raw_release
    if not old_release:
        raise SpecError(f"{spec}: has no Release tag")
    if specfile.has_autorelease:
        raise SpecError(f"{spec}: Release uses %autorelease, which netnsfix cannot bump by a suffix")
    if specfile.has_autochangelog:
        raise SpecError(f"{spec}: %changelog uses %autochangelog, which takes entries from git, not from the spec")

    number, patch_line = _add_patch_tag(specfile, spec, patch_name)
    prep_line = _add_prep_line(specfile, spec, number)

    old_evr = _evr(specfile)
    new_release = _bumped(old_release, suffix)
    specfile.raw_release = new_release
    new_evr = _evr(specfile)
    if rpm.labelCompare(_evr_tuple(old_evr), _evr_tuple(new_evr)) >= 0:
        raise SpecError(
            f"{spec}: release suffix {suffix!r} gives {new_evr}, which rpm does not sort newer than {old_evr}"
        )

    if "changelog" not in ids:
        specfile = Specfile(content=str(specfile).rstrip("\n") + "\n\n%changelog\n", sourcedir=spec.parent)
    entry = text if re.search(rf"#{bug}\b", text) else f"{text} (#{bug})"
    lines = textwrap.wrap(
        entry, width=78, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
    )
    specfile.add_changelog_entry(lines, author=author, timestamp=day, evr=new_evr)

    change = SpecChange(spec, number, patch_line, prep_line, old_release, new_release, old_evr, new_evr)
    return str(specfile), change


def _add_patch_tag(specfile: Specfile, spec: Path, patch_name: str) -> tuple[int, str]:
    with specfile.patches() as patches:
        for patch in patches:
            if Path(patch.expanded_location).name == patch_name or Path(patch.location).name == patch_name:
                raise SpecError(f"{spec}: already has {patch_name} (Patch{patch.number})")
        number = max((patch.number for patch in patches), default=-1) + 1
    specfile.add_patch(patch_name, number=number)
    tag = re.compile(rf"^Patch0*{number}\s*:", re.IGNORECASE)
    line = next((raw for raw in str(specfile).splitlines() if tag.match(raw)), None)
    if line is None:
        raise SpecError(f"{spec}: could not add a Patch{number} tag")
    return number, line


def _add_prep_line(specfile: Specfile, spec: Path, number: int) -> str | None:
    """Apply patch ``number`` in %prep, unless %autosetup/%autopatch already applies every patch."""
    with specfile.prep() as prep:
        if prep is None:
            raise SpecError(f"{spec}: has no %prep section")
        macros = prep.macros
        autosetup = [m for m in macros if isinstance(m, AutosetupMacro)]
        autopatch = [m for m in macros if isinstance(m, AutopatchMacro)]
        if autopatch:
            strip = autopatch[-1].options.p
            if strip != STRIP:
                raise SpecError(f"{spec}: %autopatch applies patches with -p{strip or 0}; this patch needs -p{STRIP}")
            return None
        if autosetup and not autosetup[-1].options.N:
            strip = autosetup[-1].options.p
            if strip != STRIP:
                raise SpecError(f"{spec}: %autosetup applies patches with -p{strip or 0}; this patch needs -p{STRIP}")
            return None
        patch_macros = [m for m in macros if isinstance(m, PatchMacro)]
        setups = [i for i, m in enumerate(macros) if isinstance(m, (SetupMacro, AutosetupMacro))]
        if patch_macros:
            after = macros.index(patch_macros[-1])
            name, options = _patch_style(patch_macros[-1], number)
        elif setups:
            after = setups[-1]
            name, options = f"%patch{number}", f"-p{STRIP}"
        else:
            raise SpecError(
                f"{spec}: %prep has neither %setup/%autosetup nor %patch lines, "
                "so netnsfix cannot tell where to apply the patch"
            )
        macro = PatchMacro(name, Options(Options.tokenize(options), PatchMacro.OPTSTRING, PatchMacro.DEFAULTS), " ")
        macros.insert(after + 1, macro)
        return f"{name} {options}"


def _patch_style(last: PatchMacro, number: int) -> tuple[str, str]:
    """Write the new %patch line the way the spec's last one is written."""
    if re.search(r"\d$", last.name):
        return f"%patch{number}", f"-p{STRIP}"
    if last.options.P is not None:
        return "%patch", f"-P {number} -p{STRIP}"
    return "%patch", f"{number} -p{STRIP}"


def _bumped(release: str, suffix: str) -> str:
    """Insert ``suffix`` before ``%{?dist}`` (or at the end when there is none)."""
    match = _DIST.search(release)
    if match:
        return release[: match.start()] + suffix + release[match.start() :]
    return release + suffix


def _evr(specfile: Specfile) -> str:
    epoch = specfile.expanded_epoch
    prefix = f"{epoch}:" if epoch else ""
    return f"{prefix}{specfile.expanded_version}-{specfile.expanded_release}"


def _evr_tuple(evr: str) -> tuple[str | None, str, str]:
    epoch, _, rest = evr.rpartition(":")
    version, _, release = rest.rpartition("-")
    return (epoch or None, version, release)


__all__ = ["SpecChange", "add_patch", "source0"]
