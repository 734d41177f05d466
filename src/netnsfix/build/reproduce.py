"""``netnsfix build --check-reproducible``: build the SRPM a second time and compare the RPMs.

The first build is the ordinary one (in the build folder, with its manifest);
the second runs in a fresh container with another host name and time zone,
later, into a scratch folder beside the build folder (removed afterwards), so
nothing of it is mistaken for an output. Every RPM of the two builds is
compared field by field (:mod:`netnsfix.rpm.compare`); the check passes only
when nothing differs except what the build root's rpm cannot fix
(:attr:`~netnsfix.build.rebuild.BuildSettings.may_differ`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from netnsfix.build.image import ImageRef
from netnsfix.build.rebuild import SECOND_BUILD, BuildResult, EngineFactory, LogSink, rebuild
from netnsfix.errors import BuildError
from netnsfix.rpm.compare import Difference, compare_rpms


@dataclass(frozen=True)
class ReproCheck:
    """Two builds compared: what differs, and which of it the build root's rpm is allowed."""

    rpms: tuple[str, ...]  # the RPMs compared (file names)
    differences: tuple[Difference, ...]
    may_differ: frozenset[str]  # header tags the root's rpm cannot make agree
    rpm_version: tuple[int, ...] | None
    seconds: float  # the second build's

    @property
    def unexpected(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.header_tag not in self.may_differ)  # "" never is

    @property
    def reproducible(self) -> bool:
        return not self.unexpected


def check_reproducible(
    first: BuildResult,
    image: ImageRef,
    engine: EngineFactory,
    log_sink: LogSink = lambda _: None,
) -> ReproCheck:
    """Build ``first.srpm`` again as :data:`SECOND_BUILD` and compare its RPMs with ``first``'s."""
    out = first.manifest.parent
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-second-build-", dir=out.parent))
    try:
        second = rebuild(first.srpm, image, scratch, engine, log_sink, force=True, variant=SECOND_BUILD)
        differences: list[Difference] = []
        ours = {p.name: p for p in first.rpms}
        theirs = {p.name: p for p in second.rpms}
        for name in sorted(ours.keys() | theirs.keys()):
            if name not in ours or name not in theirs:
                differences.append(
                    Difference(
                        name, "package", "built" if name in ours else "absent", "built" if name in theirs else "absent"
                    )
                )
                continue
            differences.extend(compare_rpms(ours[name], theirs[name]))
        settings = second.settings
        if settings is None:  # pragma: no cover - a forced build always runs and says how
            raise BuildError(f"{first.srpm}: the second build ran no build")
        return ReproCheck(
            rpms=tuple(sorted(ours)),
            differences=tuple(differences),
            may_differ=settings.may_differ,
            rpm_version=settings.rpm_version,
            seconds=second.seconds,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
