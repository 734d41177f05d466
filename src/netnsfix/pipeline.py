"""The build pipeline: srpm -> build root -> rebuild, one function for every command that builds.

``netnsfix build`` and ``netnsfix demo`` both reach the rebuild through
:func:`run_pipeline`, so both lay their outputs out the same way
(:class:`OutputLayout`), time the same stages with the same timer, and take
the same fast path: when the build folder's manifest says its outputs were
made from this SRPM in this build root and are intact, nothing touches the
engine. ``netnsfix image`` shares the first two steps (:func:`source_rpm`,
:func:`build_root_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.layout import repo_urls
from netnsfix.archive.signature import GpgCheck
from netnsfix.build.depsolve import Closure
from netnsfix.build.image import BuildImage, ensure_image, planned_image
from netnsfix.build.inputs import build_root_closure
from netnsfix.build.rebuild import BuildResult, rebuild, up_to_date
from netnsfix.build.reproduce import ReproCheck
from netnsfix.build.reproduce import check_reproducible as check_reproducible_build
from netnsfix.errors import BuildError, ManifestError
from netnsfix.manifest import MANIFEST_NAME
from netnsfix.recipe import Recipe
from netnsfix.tools.engine import connect
from netnsfix.util.confined import enclosing, inside
from netnsfix.util.inputfile import not_regular
from netnsfix.util.paths import cache_dir
from netnsfix.util.timing import Span, StageTimer

if TYPE_CHECKING:  # the srpm stage loads specfile and rpm: a no-op build with --srpm does without them
    from netnsfix.source.srpm import SrpmResult

Notify = Callable[[str], None]
EngineFactory = Callable[[], Any]


@dataclass(frozen=True)
class OutputLayout:
    """Where the stages write for a recipe: ``ROOT/RECIPE/srpm`` and ``ROOT/RECIPE/build``."""

    root: Path = Path("out")

    def srpm(self, recipe: str) -> Path:
        return self.root / recipe / "srpm"

    def build(self, recipe: str) -> Path:
        return self.root / recipe / "build"

    def check(self) -> None:
        """Refuse a root that is itself a stage's folder (writing under it would nest a second tree), or that
        lies in a yum repository or netnsfix's cache (what serve serves, what runs share)."""
        repository = enclosing(self.root, "repodata/repomd.xml")
        if repository is not None:
            raise ManifestError(
                f"{self.root}: is inside the yum repository {repository}; the outputs would be served with it: "
                "give --out a folder of its own"
            )
        if inside(self.root, cache_dir()):
            raise ManifestError(
                f"{self.root}: is inside netnsfix's cache {cache_dir()}; give --out a folder of its own"
            )
        for folder in (self.root, self.root.parent):
            if (folder / MANIFEST_NAME).is_file():
                raise ManifestError(
                    f"{self.root}: is inside a stage's output folder ({folder / MANIFEST_NAME}); --out takes the "
                    f"output root, the folder that holds RECIPE/srpm and RECIPE/build"
                )
        for stage in ("srpm", "build"):
            if (self.root / stage / MANIFEST_NAME).is_file():
                raise ManifestError(
                    f"{self.root}: is a recipe's output folder (it holds {stage}/{MANIFEST_NAME}); --out takes the "
                    f"output root above it, {self.root.parent}"
                )


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
    image: BuildImage  # id is empty when the outputs were current and the engine was not asked
    build: BuildResult
    stages: tuple[Span, ...]
    repro: ReproCheck | None = None  # the second build's comparison, when asked for


def source_rpm(
    recipe: Recipe,
    fetcher: Fetcher,
    layout: OutputLayout,
    *,
    mirrors: Sequence[str | None] = (None,),
    lock_path: Path | None = None,
    given: Path | None = None,
    gpgcheck: GpgCheck | None = None,
) -> SourceRpm:
    """``given``, or the recipe's patched SRPM in ``layout.srpm`` (made, or kept when its inputs are unchanged).

    The archive's SRPM must be signed by ``gpgcheck``'s keys (default: the recipe's); ``given`` is the
    user's own file and is not checked.
    """
    if given is not None:
        odd = not_regular(given)  # a FIFO or device is refused here, before anything waits on it
        if odd is not None:
            raise BuildError(f"--srpm {given}: {odd}")
        return SourceRpm(given, None)
    layout.check()
    from netnsfix.source.srpm import build_patched_srpm

    made = build_patched_srpm(
        recipe, fetcher, layout.srpm(recipe.name), mirrors=mirrors, lock_path=lock_path, gpgcheck=gpgcheck
    )
    return SourceRpm(made.srpm, made)


def build_root_for(recipe: Recipe, fetcher: Fetcher, srpm: Path, mirrors: Sequence[str | None] = (None,)) -> Closure:
    """The build root for ``srpm``, resolved from the recipe's binary repositories (on the first mirror)."""
    return build_root_closure(fetcher, repo_urls(recipe, mirrors[0] if mirrors else None, "binary"), srpm)


def run_pipeline(
    recipe: Recipe,
    fetcher: Fetcher,
    layout: OutputLayout,
    *,
    mirrors: Sequence[str | None] = (None,),
    lock_path: Path | None = None,
    srpm: Path | None = None,
    image: str | None = None,
    force: bool = False,
    engine: EngineFactory = connect,
    timer: StageTimer | None = None,
    notify: Notify = lambda _: None,
    log_sink: Notify = lambda _: None,
    gpgcheck: GpgCheck | None = None,
    check_reproducible: bool = False,
) -> PipelineResult:
    """Stages "srpm", "build root" and "build" for ``recipe``, each timed by ``timer``.

    ``srpm``: build this SRPM instead of the srpm stage's. ``image``: build in
    this image (a tag or id) instead of the recipe's build root; the build
    folder is ``layout.build(recipe)``. ``engine`` is called only
    when something has to run in it; ``force`` rebuilds even when the outputs
    are current. ``notify`` hears the build root's progress, ``log_sink``
    rpmbuild's log. ``gpgcheck``: the keys the archive's packages must be
    signed with (default: the recipe's; ``GpgCheck.off()`` for ``--no-gpgcheck``).
    ``check_reproducible`` builds (even when current) and then builds again in
    another container and compares the RPMs (stage "second build").
    """
    timer = timer or StageTimer()
    gpgcheck = gpgcheck or GpgCheck.of_recipe(recipe)
    force = force or check_reproducible
    layout.check()
    out = layout.build(recipe.name)
    with timer.stage("srpm") as detail:
        source = source_rpm(
            recipe, fetcher, layout, mirrors=mirrors, lock_path=lock_path, given=srpm, gpgcheck=gpgcheck
        )
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
        client = client or engine()
        return client

    with timer.stage("build root") as detail:
        if image is not None:  # named: rebuild asks the engine what it is
            target = BuildImage(tag=image, id="", packages=(), key="")
            detail.append(f"image {image}")
        else:
            closure = build_root_for(recipe, fetcher, source.path, mirrors)
            target = planned_image(closure, gpgcheck=gpgcheck)
            current = None if force else up_to_date(source.path, target, out)
            if current is None:
                target = ensure_image(closure, fetcher, connected(), gpgcheck=gpgcheck, notify=notify)
            detail.append(f"{len(closure.packages)} packages, image {target.tag}")
    with timer.stage("build") as detail:
        # the outputs were checked against the planned build root above: rebuild need not read them again
        checked = image is None and not force
        build = current or rebuild(
            source.path, target, out, connected, log_sink, force=force or checked, recipe=recipe.name
        )
        detail.append(", ".join(p.name for p in build.rpms) + (" (up to date)" if build.reused else ""))
    repro = None
    if check_reproducible:
        with timer.stage("second build") as detail:
            repro = check_reproducible_build(build, target, connected, log_sink)
            detail.append(f"{len(repro.differences)} differences, {len(repro.unexpected)} not allowed")
    return PipelineResult(srpm=source, closure=closure, image=target, build=build, stages=timer.spans, repro=repro)
