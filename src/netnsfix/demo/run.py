"""``netnsfix demo``: the whole pipeline against a local archive with the real layout.

The Fedora archive is out of reach here, so the demo makes one (source side:
``demoarchive``; binary side: ``demobinaries``), serves it on 127.0.0.1 and
runs every stage against it exactly as against the real archive with
``--mirror``: resolve and fetch the SRPM, verify and add the patch, bootstrap
the build root from the binary repodata and rebuild with the network off,
publish the RPMs, install them with dnf, and prove with the harness that the
installed ``ip`` keeps /sys/fs/cgroup and systemd alive while the unpatched
3.6.0-like ``ip`` breaks them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.layout import repo_urls
from netnsfix.build.image import BuildImage, ensure_image
from netnsfix.build.inputs import build_root_closure
from netnsfix.build.rebuild import BuildResult, rebuild
from netnsfix.demo.archive import build_demo_archive
from netnsfix.demo.binaries import build_demo_binary_repo
from netnsfix.demo.dnfinstall import Installed, install_from
from netnsfix.demo.ipvariants import build_named_variant
from netnsfix.errors import DemoError
from netnsfix.publish.repository import PublishResult, publish
from netnsfix.recipe import Recipe
from netnsfix.source.srpm import SrpmResult, build_patched_srpm
from netnsfix.tools.engine import connect
from netnsfix.util.httpserve import serving
from netnsfix.verify import CHECKS, VerifyResult, verify_binary

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    detail: str


@dataclass(frozen=True)
class DemoResult:
    workdir: Path
    mirror: str
    srpm: SrpmResult
    image: BuildImage
    build: BuildResult
    published: PublishResult
    installed: Installed
    fixed: VerifyResult  # the ip that dnf installed from the published repository
    unpatched: VerifyResult  # the 3.6.0-like ip, which must show the bug
    stages: tuple[Stage, ...]


class _Clock:
    """Times each stage and tells the caller when one starts and ends."""

    def __init__(self, notify: Notify) -> None:
        self.notify = notify
        self.stages: list[Stage] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        self.notify(f"== {name}")
        detail: list[str] = []
        started = time.monotonic()
        yield detail
        seconds = time.monotonic() - started
        self.stages.append(Stage(name, seconds, "; ".join(detail)))
        self.notify(f"   {name}: {'; '.join(detail)} ({seconds:.1f} s)")


def run_demo(
    recipe: Recipe,
    workdir: Path,
    *,
    fetcher: Fetcher | None = None,
    checks: Sequence[str] = CHECKS,
    force: bool = False,
    notify: Notify = lambda _: None,
    log_sink: Notify = lambda _: None,
) -> DemoResult:
    """Run every stage for ``recipe`` against the demo archive, under ``workdir``."""
    clock = _Clock(notify)
    out = workdir / "out" / recipe.name
    with clock.stage("demo archive") as detail:
        source = build_demo_archive(workdir / "archive")
        binaries = build_demo_binary_repo(workdir / "archive")
        detail.append(f"{source.nevra} and {len(binaries.packages)} binary packages in {source.root}")
    with serving(source.root) as served:
        fetcher = fetcher or Fetcher()
        with clock.stage("srpm") as detail:
            srpm = build_patched_srpm(
                recipe,
                fetcher,
                out / "srpm",
                mirrors=[served.url],
                lock_path=workdir / "locks" / f"{recipe.name}.lock.json",
            )
            detail.append(f"{srpm.resolved.nevra} -> {srpm.srpm.name}")
        with clock.stage("build root") as detail:
            binary_repos = repo_urls(recipe, served.url, "binary")
            closure = build_root_closure(fetcher, binary_repos, srpm.srpm)
            client = connect()
            image = ensure_image(closure, fetcher, client, notify=notify)
            detail.append(f"{len(closure.packages)} packages, image {image.tag}")
        with clock.stage("build") as detail:
            build = rebuild(srpm.srpm, image, out / "build", lambda: client, log_sink, force=force, recipe=recipe.name)
            detail.append(", ".join(p.name for p in build.rpms) + (" (up to date)" if build.reused else ""))
        with clock.stage("publish") as detail:
            published = publish(out / "build", workdir / "repo")
            detail.append(f"{len(published.added)} added, {len(published.unchanged)} unchanged in {published.repo}")
        with clock.stage("install with dnf") as detail:
            # the root starts empty: glibc and the rest come from the archive's binary repositories
            installed = install_from(workdir / "repo", [recipe.package], workdir / "dnf", dependencies=binary_repos)
            ours = [n for n in installed.packages if n.startswith(f"{recipe.package}-{recipe.version}-")]
            if not ours:
                raise DemoError(f"dnf did not install {recipe.package} into {installed.root}")
            detail.append(f"{ours[0]} and {len(installed.packages) - 1} dependencies into {installed.root}")
    with clock.stage("verify") as detail:
        ip = installed.root / "usr" / "sbin" / "ip"
        fixed = verify_binary(ip, checks, client=client, label="built and installed")
        unpatched = verify_binary(
            build_named_variant("unpatched", workdir / "variants"), checks, client=client, label="unpatched 3.6.0-like"
        )
        detail.append(
            f"fixed ip {'passes' if fixed.passed else 'FAILS'}; "
            f"unpatched ip {'shows the bug' if unpatched.bug_reproduced else 'does NOT show the bug'}"
        )
    result = DemoResult(
        workdir=workdir,
        mirror=served.url,
        srpm=srpm,
        image=image,
        build=build,
        published=published,
        installed=installed,
        fixed=fixed,
        unpatched=unpatched,
        stages=tuple(clock.stages),
    )
    if not fixed.passed:
        raise DemoError(f"the built ip ({ip}) did not pass the harness: {_failed(fixed)}")
    if not unpatched.bug_reproduced:
        raise DemoError(f"the harness did not catch the bug in the unpatched ip: {_failed(unpatched)}")
    return result


def _failed(result: VerifyResult) -> str:
    return ", ".join(f"{c.name}: {c.status}" for c in result.checks)
