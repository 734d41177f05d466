"""The source pipeline: from the archive's repodata to a patched, verified SRPM.

One short function drives the stages through the archive seam (a Fetcher)
and rpmbuild; each stage is a module of its own:

    obtain (resolve or lock, fetch with sha256, header check, unpack)
      -> check the patch against Source0 at fuzz 0 (patching)
      -> add Patch/%patch, bump Release, %changelog (specedit)
      -> rpmbuild -bs -> manifest.json
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.recipelock import locked_srpm
from netnsfix.archive.resolve import Resolved
from netnsfix.archive.signature import GpgCheck
from netnsfix.errors import SpecError
from netnsfix.manifest import MANIFEST_NAME, FileRecord, Manifest, reusable
from netnsfix.recipe import Recipe
from netnsfix.source.obtain import obtain_source
from netnsfix.source.patching import HunkCheck, PatchReport, check_patch, source_tree
from netnsfix.source.request import Request
from netnsfix.source.specedit import SpecChange, add_patch, source0
from netnsfix.tools.rpmbuild import day_start, run_rpmbuild
from netnsfix.util.fsutil import atomic_copy


@dataclass(frozen=True)
class SrpmResult:
    srpm: Path
    manifest: Path
    resolved: Resolved
    original: Path | None  # the archive's SRPM in the download cache (None when reused)
    report: PatchReport
    change: SpecChange
    dist: str
    reused: bool = False  # True: the inputs were unchanged and the SRPM already there


def dist_of(built_release: str, spec_release: str) -> str:
    """The dist tag the archive built with: "2.fc18" less the spec's "2%{?dist}" is ".fc18"."""
    base = spec_release.replace("%{?dist}", "").replace("%{dist}", "")
    return built_release[len(base) :] if built_release.startswith(base) else ""


def build_epoch(day: datetime.date, changelog_times: Sequence[int] = ()) -> int:
    """The build's time, from the inputs: the start (00:00 UTC) of the newest %changelog entry's day.

    rpm dates an entry at noon; the start of that day is used instead so that the
    time is never later than a build made that day (the lock's day): rpm 4.18
    clamps only the file times later than SOURCE_DATE_EPOCH, so a time in the
    future would leave the files it makes itself (build-id links, %doc) unclamped.
    """
    midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)
    return day_start(max(int(midnight.timestamp()), *changelog_times))


def build_patched_srpm(request: Request, fetcher: Fetcher, *, day: datetime.date | None = None) -> SrpmResult:
    """Obtain the request's SRPM, verify and add its patch, and write the patched SRPM and manifest to
    its layout's srpm folder.

    When that folder already holds the SRPM made from the same inputs (the
    archive's SRPM, the patch, the recipe), it is kept: rpmbuild stamps a new
    build time on every run, and a new SRPM would make every later stage
    rebuild for nothing. The archive's SRPM must be signed as the request's
    ``gpgcheck`` says; a result made under another check (say,
    ``--no-gpgcheck``) is not kept. ``day``: the %changelog entry's day
    (default: the day the lock was resolved).
    """
    recipe, gpgcheck = request.recipe, request.gpgcheck
    out = request.layout.srpm(recipe.name)
    resolved = locked_srpm(recipe, fetcher, request.base, request.lock, request.refresh)
    inputs = (
        FileRecord(path=resolved.url, sha256=resolved.sha256, size=resolved.size, kind="srpm"),
        FileRecord.of(recipe.patch, kind="patch"),
        FileRecord.of(recipe.path, kind="recipe"),
    )
    previous = _previous(recipe, resolved, inputs, out, gpgcheck)
    if previous is not None:
        return previous
    made = [folder for folder in (out, *out.parents) if not folder.exists()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".srpm-", dir=out) as scratch:
            work = Path(scratch)
            source = obtain_source(request, fetcher, work / "SOURCES", resolved=resolved)
            with source_tree(source0(source.spec)) as tree:
                report = check_patch(recipe.patch, tree)
            shutil.copy2(recipe.patch, source.folder / recipe.patch.name)
            locked_on = resolved.resolved_at.date() if resolved.resolved_at else None
            entry_day = day or locked_on or datetime.date.today()
            change = add_patch(
                source.spec,
                recipe.patch.name,
                release_suffix=recipe.release_suffix,
                bug=recipe.bug,
                author=recipe.changelog_author,
                text=recipe.changelog_text,
                day=entry_day,
            )
            dist = dist_of(source.header.release, change.old_release)
            if dist and not re.fullmatch(r"[A-Za-z0-9._+~^]+", dist):  # it becomes --define 'dist DIST'
                raise SpecError(
                    f"{source.srpm}: its release {source.header.release!r} gives the dist tag {dist!r}, "
                    "which may only hold letters, digits and . _ + ~ ^"
                )
            built = work / "SRPMS"
            epoch = build_epoch(entry_day, source.header.changelog_times)
            for path in (source.spec, *source.folder.iterdir()):
                os.utime(path, (epoch, epoch), follow_symlinks=False)  # the SRPM records every file's mtime
            run_rpmbuild(
                "-bs",
                source.spec.relative_to(work),
                Path("top"),
                sourcedir=source.folder.relative_to(work),
                srcrpmdir=built.relative_to(work),
                defines={"dist": dist},
                epoch=epoch,
                cwd=work,
            )
            produced = sorted(built.glob("*.src.rpm"))
            if len(produced) != 1:
                raise SpecError(f"{source.spec}: rpmbuild -bs wrote {len(produced)} source packages, expected one")
            srpm = out / produced[0].name
            atomic_copy(produced[0], srpm)
            patched_spec = FileRecord.of(source.spec, name=source.spec.name, kind="spec")
            change = replace(change, spec=Path(source.spec.name))  # the scratch folder goes away
    except BaseException:
        for folder in made:  # innermost first: a refused input leaves no empty output tree behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    manifest = Manifest(
        stage="srpm",
        recipe=recipe.name,
        inputs=inputs,
        outputs=(FileRecord.of(srpm, name=srpm.name, kind="srpm"),),
        extra={
            "resolved": resolved.nevra,
            "old_evr": change.old_evr,
            "new_evr": change.new_evr,
            "dist": dist,
            "patch_number": change.patch_number,
            "patched_spec_sha256": patched_spec.sha256,
            "spec_change": {**asdict(change), "spec": change.spec.name},
            "hunks": [asdict(h) for h in report.hunks],
            "patch_files": list(report.files),
            "strip": report.strip,
            "gpgcheck": gpgcheck.label,
        },
    )
    for stale in out.glob("*.src.rpm"):
        if stale != srpm:
            stale.unlink()
    return SrpmResult(
        srpm=srpm,
        manifest=manifest.write(out),
        resolved=resolved,
        original=source.srpm,
        report=report,
        change=change,
        dist=dist,
    )


def _previous(
    recipe: Recipe, resolved: Resolved, inputs: tuple[FileRecord, ...], out: Path, gpgcheck: GpgCheck
) -> SrpmResult | None:
    """The result already in ``out`` when it was made from exactly ``inputs``, under the same
    signature check, and is intact."""
    reuse = reusable(out, "srpm", inputs, recipe=recipe.name, needs=("srpm",))
    if reuse.manifest is None or reuse.manifest.extra.get("gpgcheck") != gpgcheck.label:
        return None
    extra = reuse.manifest.extra
    try:
        change = SpecChange(**{**extra["spec_change"], "spec": Path(extra["spec_change"]["spec"])})
        report = PatchReport(
            patch=recipe.patch,
            strip=extra["strip"],
            files=tuple(extra["patch_files"]),
            hunks=tuple(HunkCheck(**h) for h in extra["hunks"]),
        )
        dist = str(extra["dist"])
    except (KeyError, TypeError, ValueError):
        return None  # a manifest from an older netnsfix that lacks what the result reports: make it again
    return SrpmResult(
        srpm=out / reuse.manifest.output("srpm")[0].path,
        manifest=out / MANIFEST_NAME,
        resolved=resolved,
        original=None,
        report=report,
        change=change,
        dist=dist,
        reused=True,
    )
