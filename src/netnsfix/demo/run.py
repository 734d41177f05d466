"""``netnsfix demo``: the whole pipeline against a local archive with the real layout.

The Fedora archive is out of reach here, so the demo makes one (source side:
``demo.archive``; binary side: ``demo.binaries``), serves it on 127.0.0.1 and
runs every stage against it exactly as against the real archive with
``--mirror``, trusting the demo archive's own release key (``demo.signkey``)
in place of the recipe's Fedora key: resolve, fetch and check the signature
of the SRPM, verify and add the patch, bootstrap
the build root from the binary repodata and rebuild with the network off (the
same pipeline as ``netnsfix build``: :func:`netnsfix.pipeline.run_pipeline`),
publish the RPMs, install them with dnf, and prove with the harness that the
installed ``ip`` keeps /sys/fs/cgroup and systemd alive while the unpatched
3.6.0-like ``ip`` breaks them. Given the privatetmp step's drop-in, the verify
stage also runs the privatetmp check (Bug 881741) with the installed ``ip``: the
quantum-like unit as packaged must show the bug, and pass with the drop-in.
With ``fleet``, a last stage rolls the published repository out to two booted
nodes with ``netnsfix fleet`` (demo.fleet): plan, apply, plan, verify.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.layout import repo_urls
from netnsfix.archive.signature import GpgCheck
from netnsfix.build.image import ImageRef
from netnsfix.build.rebuild import BuildResult
from netnsfix.demo.archive import build_demo_archive
from netnsfix.demo.binaries import build_demo_binary_repo
from netnsfix.demo.dnfinstall import Installed, install_from
from netnsfix.demo.fleet import FleetDemo, check_ansible, run_fleet_demo
from netnsfix.demo.fleetnodes import find_glibc_rpm
from netnsfix.demo.ipvariants import build_named_variant
from netnsfix.demo.signkey import demo_key
from netnsfix.errors import DemoError
from netnsfix.fleet.run import FleetRun
from netnsfix.pipeline import Hooks, run_pipeline
from netnsfix.publish.repository import PublishResult, publish
from netnsfix.recipe import Recipe
from netnsfix.source.request import Request
from netnsfix.source.srpm import SrpmResult
from netnsfix.tools.engine import connect
from netnsfix.util.httpserve import serving
from netnsfix.util.timing import Span, StageTimer
from netnsfix.verify import DEFAULT_CHECKS, VerifyResult, verify_binary
from netnsfix.verify.privatetmp import StepFiles

Notify = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    workdir: Path
    mirror: str
    srpm: SrpmResult
    image: ImageRef
    build: BuildResult
    published: PublishResult
    installed: Installed
    fixed: VerifyResult  # the ip that dnf installed from the published repository
    unpatched: VerifyResult  # the 3.6.0-like ip, which must show the bug
    stages: tuple[Span, ...]
    privatetmp_packaged: VerifyResult | None = None  # privatetmp, unit as packaged: must show Bug 881741
    privatetmp_dropin: VerifyResult | None = None  # privatetmp with the step's drop-in: must pass
    fleet: FleetDemo | None = None  # with fleet=True: plan, apply, plan, verify on two booted nodes


def run_demo(
    recipe: Recipe,
    workdir: Path,
    *,
    fetcher: Fetcher | None = None,
    checks: Sequence[str] = DEFAULT_CHECKS,
    privatetmp_dropin: StepFiles | None = None,
    force: bool = False,
    notify: Notify = lambda _: None,
    log_sink: Notify = lambda _: None,
    gpgcheck: GpgCheck | None = None,
    fleet: bool = False,
    fleet_shown: Callable[[FleetRun], None] = lambda _: None,
) -> DemoResult:
    """Run every stage for ``recipe`` against the demo archive, under ``workdir``.

    The archive's packages are checked as ``gpgcheck`` says (default: against
    the demo archive's key, which is made first; ``GpgCheck.off()`` as ``--no-gpgcheck``). With ``fleet``, Ansible is
    checked first (a missing one stops the demo before anything is built) and
    each fleet run's results go to ``fleet_shown`` as they come.
    """
    if fleet:
        check_ansible()
    timer = StageTimer(
        started=lambda name: notify(f"== {name}"),
        ended=lambda span: notify(f"   {span.name}: {span.detail} ({span.seconds:.1f} s)"),
    )
    engine = functools.cache(connect)  # one client for the build and the harness, made when first needed
    with timer.stage("demo archive") as detail:
        key = demo_key()
        source = build_demo_archive(workdir / "archive", signer=key)
        binaries = build_demo_binary_repo(workdir / "archive", signer=key)
        detail.append(f"{source.nevra} and {len(binaries.packages)} binary packages in {source.root}")
    with serving(source.root) as served:
        fetcher = fetcher or Fetcher()
        request = Request.of(
            recipe,
            mirrors=[served.url],
            lock=workdir / "locks" / f"{recipe.name}.lock.json",
            gpgcheck=gpgcheck or key.gpgcheck(),
            out=workdir / "out",
            force=force,
        )
        layout = request.layout
        built = run_pipeline(request, fetcher, Hooks(engine=engine, timer=timer, notify=notify, log_sink=log_sink))
        with timer.stage("publish") as detail:
            # signed as netnsfix publish signs by default (its own kept key), so dnf below installs
            # with gpgcheck=1, importing the key netnsfix.repo names
            published = publish(layout.build(recipe.name), workdir / "repo", own_key=True)
            detail.append(f"{len(published.added)} added, {len(published.unchanged)} unchanged in {published.repo}")
        with timer.stage("install with dnf") as detail:
            # the root starts empty: glibc and the rest come from the archive's binary repositories
            binary_repos = repo_urls(recipe, request.base, "binary")
            installed = install_from(workdir / "repo", [recipe.package], workdir / "dnf", dependencies=binary_repos)
            ours = [n for n in installed.packages if n.startswith(f"{recipe.package}-{recipe.version}-")]
            if not ours:
                raise DemoError(f"dnf did not install {recipe.package} into {installed.root}")
            detail.append(f"{ours[0]} and {len(installed.packages) - 1} dependencies into {installed.root}")
    with timer.stage("verify") as detail:
        ip = installed.root / "usr" / "sbin" / "ip"
        client = engine()
        fixed = verify_binary(ip, checks, client=client, label="built and installed")
        unpatched = verify_binary(
            build_named_variant("unpatched", workdir / "variants"), checks, client=client, label="unpatched 3.6.0-like"
        )
        packaged = with_dropin = None
        if privatetmp_dropin is not None:
            packaged = verify_binary(ip, ("privatetmp",), client=client, label="built and installed, unit as packaged")
            with_dropin = verify_binary(
                ip,
                ("privatetmp",),
                client=client,
                label="built and installed, with the drop-in",
                dropin=privatetmp_dropin,
            )
        detail.append(
            f"fixed ip {'passes' if fixed.passed else 'FAILS'}; "
            f"unpatched ip {'shows the bug' if unpatched.bug_reproduced else 'does NOT show the bug'}"
        )
    fleet_demo = None
    if fleet and fixed.passed:
        with timer.stage("fleet") as detail:
            fleet_demo = run_fleet_demo(
                engine(),
                published.repo,
                find_glibc_rpm(binaries.root),
                workdir / "fleet",
                shown=fleet_shown,
                notify=notify,
            )
            detail.append(
                f"plan, apply, plan, verify on {', '.join(fleet_demo.nodes)}; project in {fleet_demo.project}"
            )
    if built.srpm.made is None:  # cannot happen: the demo gives no --srpm, so the srpm stage ran
        raise DemoError(f"{recipe.name}: the pipeline made no SRPM")
    result = DemoResult(
        workdir=workdir,
        mirror=served.url,
        srpm=built.srpm.made,
        image=built.image,
        build=built.build,
        published=published,
        installed=installed,
        fixed=fixed,
        unpatched=unpatched,
        stages=timer.spans,
        privatetmp_packaged=packaged,
        privatetmp_dropin=with_dropin,
        fleet=fleet_demo,
    )
    if not fixed.passed:
        raise DemoError(f"the built ip ({ip}) did not pass the harness: {_failed(fixed)}")
    if not unpatched.bug_reproduced:
        raise DemoError(f"the harness did not catch the bug in the unpatched ip: {_failed(unpatched)}")
    if packaged is not None and not packaged.bug_reproduced:
        raise DemoError(f"privatetmp did not catch Bug 881741 with the unit as packaged: {_failed(packaged)}")
    if with_dropin is not None and not with_dropin.passed:
        raise DemoError(f"privatetmp did not pass with the drop-in: {_failed(with_dropin)}")
    return result


def _failed(result: VerifyResult) -> str:
    return ", ".join(f"{c.name}: {c.status}" for c in result.checks)
