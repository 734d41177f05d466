"""The build pipeline: srpm -> build root -> rebuild, one function for every command that builds.

``netnsfix build`` and ``netnsfix demo`` both reach the rebuild through
:func:`run_pipeline`, so both lay their outputs out the same way
(:class:`OutputLayout`), time the same stages with the same timer, and take
the same fast path: when the build folder's manifest says its outputs were
made from this SRPM in this build root and are intact, nothing touches the
engine. ``netnsfix image`` shares the first two steps (:func:`source_rpm`,
:func:`build_root_for`). What to build comes as one :class:`Request`, made once
by the CLI or the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.layout import repo_urls
from netnsfix.build.depsolve import Closure
from netnsfix.build.distcheck import glibc_note
from netnsfix.build.image import ImageRef, NamedImage, ensure_image, planned_image
from netnsfix.build.inputs import build_root_closure
from netnsfix.build.rebuild import BuildResult, rebuild, up_to_date
from netnsfix.build.reproduce import ReproCheck
from netnsfix.build.reproduce import check_reproducible as check_reproducible_build
from netnsfix.errors import BuildError
from netnsfix.manifest import MANIFEST_NAME
from netnsfix.source.request import Request
from netnsfix.tools.engine import connect
from netnsfix.util.inputfile import not_regular
from netnsfix.util.timing import Span, StageTimer

if TYPE_CHECKING:  # the srpm stage loads specfile and rpm: a no-op build with --srpm does without them
    from netnsfix.source.srpm import SrpmResult

Notify = Callable[[str], None]
EngineFactory = Callable[[], Any]


def build_folder_hint(given: Path) -> str | None:
    """When ``given`` is not a build folder but holds some (an output root, or a recipe's folder),
    or is the srpm stage's folder, which one publish wants; None when there is nothing to say."""
    if (given / MANIFEST_NAME).is_file():
        if given.name == "srpm" and (given.parent / "build" / MANIFEST_NAME).is_file():
            return f"{given}: is the srpm stage's folder; publish takes the build folder {given.parent / 'build'}"
        return None
    found = sorted({*given.glob(f"build/{MANIFEST_NAME}"), *given.glob(f"*/build/{MANIFEST_NAME}")})
    if not found:
        return None
    wanted = " or ".join(str(m.parent) for m in found)
    return f"{given}: not a build folder; publish takes DIR/RECIPE/build: {wanted}"


@dataclass(frozen=True)
class SourceRpm:
    """The SRPM to build: the srpm stage's output (``made``), or one the caller gave (``made`` is None)."""

    path: Path
    made: SrpmResult | None


@dataclass(frozen=True)
class PipelineResult:
    srpm: SourceRpm
    closure: Closure | None  # None when the caller named the image
    image: ImageRef  # planned (not looked up) when the outputs were current and the engine was not asked
    build: BuildResult
    stages: tuple[Span, ...]
    repro: ReproCheck | None = None  # the second build's comparison, when asked for


@dataclass(frozen=True)
class Hooks:
    """How a run talks to the world, apart from what it builds: the engine (asked only when something has
    to run in it), the stage timer, who hears the build root's progress and rpmbuild's log."""

    engine: EngineFactory = connect
    timer: StageTimer = field(default_factory=StageTimer)
    notify: Notify = lambda _: None
    log_sink: Notify = lambda _: None


def source_rpm(request: Request, fetcher: Fetcher) -> SourceRpm:
    """``request.srpm``, or the recipe's patched SRPM in the layout's srpm folder (made, or kept when its
    inputs are unchanged). The archive's SRPM must be signed as ``request.gpgcheck`` says; a given SRPM
    is the user's own file and is not checked."""
    if request.srpm is not None:
        odd = not_regular(request.srpm)  # a FIFO or device is refused here, before anything waits on it
        if odd is not None:
            raise BuildError(f"--srpm {request.srpm}: {odd}")
        return SourceRpm(request.srpm, None)
    request.layout.check()
    from netnsfix.source.srpm import build_patched_srpm

    made = build_patched_srpm(request, fetcher)
    return SourceRpm(made.srpm, made)


def build_root_for(request: Request, fetcher: Fetcher, srpm: Path) -> Closure:
    """The build root for ``srpm``, resolved from the recipe's binary repositories (on the first base URL)."""
    return build_root_closure(fetcher, repo_urls(request.recipe, request.base, "binary"), srpm)


def run_pipeline(request: Request, fetcher: Fetcher, hooks: Hooks | None = None) -> PipelineResult:
    """Stages "srpm", "build root" and "build" for ``request``, each timed by ``hooks.timer``.

    The build folder is ``request.layout.build(recipe)``. With ``request.image``
    the build runs in that image instead of the recipe's build root; the engine
    is asked only when something has to run in it; ``request.force`` rebuilds
    even when the outputs are current. ``request.check_reproducible`` builds
    (even when current) and then builds again in another container and compares
    the RPMs (stage "second build").
    """
    hooks = hooks or Hooks()
    recipe, layout, timer = request.recipe, request.layout, hooks.timer
    force = request.force or request.check_reproducible
    layout.check()
    out = layout.build(recipe.name)
    with timer.stage("srpm") as detail:
        source = source_rpm(request, fetcher)
        made = source.made
        detail.append(
            f"{made.resolved.nevra} -> {made.srpm.name}{' (up to date)' if made.reused else ''}"
            if made
            else f"given {source.path}"
        )
    closure = current = None
    client: Any = None

    def connected() -> Any:
        nonlocal client
        client = client or hooks.engine()
        return client

    with timer.stage("build root") as detail:
        if request.image is not None:  # named: rebuild asks the engine what it is
            target: ImageRef = NamedImage(request.image)
            detail.append(f"image {request.image}")
        else:
            closure = build_root_for(request, fetcher, source.path)
            note = glibc_note(request.recipe, closure.packages)
            if note is not None:
                hooks.notify(note)
            target = planned_image(closure, gpgcheck=request.gpgcheck)
            current = None if force else up_to_date(source.path, target, out)
            if current is None:
                target = ensure_image(closure, fetcher, connected(), gpgcheck=request.gpgcheck, notify=hooks.notify)
            detail.append(f"{len(closure.packages)} packages, image {target.tag}")
    with timer.stage("build") as detail:
        # the outputs were checked against the planned build root above: rebuild need not read them again
        checked = request.image is None and not force
        build = current or rebuild(
            source.path, target, out, connected, hooks.log_sink, force=force or checked, recipe=recipe.name
        )
        detail.append(", ".join(p.name for p in build.rpms) + (" (up to date)" if build.reused else ""))
    repro = None
    if request.check_reproducible:
        with timer.stage("second build") as detail:
            repro = check_reproducible_build(build, target, connected, hooks.log_sink)
            detail.append(f"{len(repro.differences)} differences, {len(repro.unexpected)} not allowed")
    return PipelineResult(srpm=source, closure=closure, image=target, build=build, stages=timer.spans, repro=repro)
