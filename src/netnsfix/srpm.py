"""The source pipeline: from the archive's repodata to a patched, verified SRPM.

One short function drives the stages through the archive seam (a Fetcher)
and rpmbuild; each stage is a module of its own:

    obtain (resolve or lock, fetch with sha256, header check, unpack)
      -> check the patch against Source0 at fuzz 0 (patching)
      -> add Patch/%patch, bump Release, %changelog (specedit)
      -> rpmbuild -bs -> manifest.json
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import SpecError
from netnsfix.fetch import Fetcher
from netnsfix.fsutil import atomic_copy
from netnsfix.manifest import FileRecord, Manifest
from netnsfix.obtain import obtain_source
from netnsfix.patching import PatchReport, check_patch, source_tree
from netnsfix.recipe import Recipe
from netnsfix.resolve import Resolved
from netnsfix.rpmbuild import run_rpmbuild
from netnsfix.specedit import SpecChange, add_patch, source0


@dataclass(frozen=True)
class SrpmResult:
    srpm: Path
    manifest: Path
    resolved: Resolved
    original: Path  # the archive's SRPM in the download cache
    report: PatchReport
    change: SpecChange
    dist: str


def dist_of(built_release: str, spec_release: str) -> str:
    """The dist tag the archive built with: "2.fc18" less the spec's "2%{?dist}" is ".fc18"."""
    base = spec_release.replace("%{?dist}", "").replace("%{dist}", "")
    return built_release[len(base):] if built_release.startswith(base) else ""


def build_patched_srpm(
    recipe: Recipe,
    fetcher: Fetcher,
    out: Path,
    *,
    mirrors: Sequence[str | None] = (None,),
    lock_path: Path | None = None,
    refresh: bool = False,
    day: datetime.date | None = None,
) -> SrpmResult:
    """Obtain the recipe's SRPM, verify and add its patch, and write the patched SRPM and manifest to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".srpm-", dir=out) as scratch:
        work = Path(scratch)
        source = obtain_source(recipe, fetcher, work / "SOURCES", mirrors, lock_path, refresh)
        with source_tree(source0(source.spec)) as tree:
            report = check_patch(recipe.patch, tree)
        shutil.copy2(recipe.patch, source.folder / recipe.patch.name)
        change = add_patch(
            source.spec,
            recipe.patch.name,
            release_suffix=recipe.release_suffix,
            bug=recipe.bug,
            author=recipe.changelog_author,
            text=recipe.changelog_text,
            day=day or datetime.date.today(),
        )
        dist = dist_of(source.header.release, change.old_release)
        built = work / "SRPMS"
        run_rpmbuild("-bs", source.spec, work / "top", sourcedir=source.folder, srcrpmdir=built, defines={"dist": dist})
        produced = sorted(built.glob("*.src.rpm"))
        if len(produced) != 1:
            raise SpecError(f"{source.spec}: rpmbuild -bs wrote {len(produced)} source packages, expected one")
        srpm = out / produced[0].name
        atomic_copy(produced[0], srpm)
        patched_spec = FileRecord.of(source.spec, name=source.spec.name, kind="spec")
    resolved = source.resolved
    manifest = Manifest(
        stage="srpm",
        recipe=recipe.name,
        inputs=(
            FileRecord(path=resolved.url, sha256=resolved.sha256, size=resolved.size, kind="srpm"),
            FileRecord.of(recipe.patch, kind="patch"),
            FileRecord.of(recipe.path, kind="recipe"),
        ),
        outputs=(FileRecord.of(srpm, name=srpm.name, kind="srpm"),),
        extra={
            "resolved": resolved.nevra,
            "old_evr": change.old_evr,
            "new_evr": change.new_evr,
            "dist": dist,
            "patch_number": change.patch_number,
            "patched_spec_sha256": patched_spec.sha256,
            "hunks": [
                {"file": h.file, "hunk": h.hunk, "header": h.header, "line": h.found_line, "offset": h.offset}
                for h in report.hunks
            ],
        },
    )
    return SrpmResult(
        srpm=srpm,
        manifest=manifest.write(out),
        resolved=resolved,
        original=source.srpm,
        report=report,
        change=change,
        dist=dist,
    )
