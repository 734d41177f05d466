"""Commands of the build side: image (the build root), build (rpmbuild --rebuild in it), doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netnsfix import doctor
from netnsfix.archive.fetch import Fetcher
from netnsfix.cli.options import FORCE_HELP, recipe_arguments
from netnsfix.recipe import find_recipe
from netnsfix.util.timing import Span, StageTimer


def register(subparsers: argparse._SubParsersAction) -> None:
    image = subparsers.add_parser("image", help="make (or find) the Fedora build root image for a recipe")
    _common(image)
    image.add_argument("--list", action="store_true", help="list the resolved packages and why each is there")
    image.set_defaults(handler=_image)

    build = subparsers.add_parser("build", help="rebuild the patched SRPM in the build root, network off")
    _common(build)
    build.add_argument("--out", metavar="DIR", type=Path, help="output folder (default: out/RECIPE/build)")
    build.add_argument("--image", metavar="IMAGE", help="use this image instead of the recipe's build root")
    build.add_argument("--force", action="store_true", help=FORCE_HELP)
    build.set_defaults(handler=_build)

    check = subparsers.add_parser("doctor", help="say what this machine lacks for netnsfix and how to fix it")
    check.set_defaults(handler=_doctor)


def _common(parser: argparse.ArgumentParser) -> None:
    recipe_arguments(parser)
    parser.add_argument(
        "--srpm",
        metavar="FILE",
        type=Path,
        help="the source RPM to build (default: the recipe's patched SRPM in out/RECIPE/srpm, made or kept)",
    )


def _say(text: str) -> None:
    print(f"netnsfix: {text}", file=sys.stderr)


def _stage_done(span: Span) -> None:
    _say(f"{span.name}: {span.detail} ({span.seconds:.1f} s)")


def _image(args: argparse.Namespace) -> int:
    from netnsfix.build.image import ensure_image
    from netnsfix.pipeline import OutputLayout, build_root_for, source_rpm
    from netnsfix.tools.engine import connect

    recipe = find_recipe(args.recipe)
    fetcher = Fetcher(retries=args.retries)
    mirrors = args.mirror or [None]
    source = source_rpm(recipe, fetcher, OutputLayout(), mirrors=mirrors, lock_path=args.lock, given=args.srpm)
    if source.made is not None:
        _say(f"srpm {source.path}{' (up to date)' if source.made.reused else ''}")
    closure = build_root_for(recipe, fetcher, source.path, mirrors)
    if args.list:
        for reason in closure.reasons:
            print(f"{reason.package:50} {reason.requirement}  <- {reason.needed_by}")
    image = ensure_image(closure, fetcher, connect(), notify=_say)
    print(f"{image.tag} {image.id} ({len(image.packages)} packages{', reused' if image.reused else ''})")
    return 0


def _build(args: argparse.Namespace) -> int:
    from netnsfix.pipeline import OutputLayout, run_pipeline

    recipe = find_recipe(args.recipe)
    result = run_pipeline(
        recipe,
        Fetcher(retries=args.retries),
        OutputLayout(),
        mirrors=args.mirror or [None],
        lock_path=args.lock,
        srpm=args.srpm,
        image=args.image,
        out=args.out,  # today --out names the build folder itself
        force=args.force,
        timer=StageTimer(ended=_stage_done),
        notify=_say,
        log_sink=print,
    )
    build = result.build
    if build.reused:
        _say(f"up to date: {build.manifest} (use --force to rebuild)")
    for rpm in build.rpms:
        print(rpm)
    _say(f"log {build.log}, manifest {build.manifest} ({build.seconds:.2f} s)")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from netnsfix.fleet.ansible import doctor_check

    results = doctor.diagnose((*doctor.CHECKS, doctor_check))
    for check in results:
        mark = "ok" if check.ok else ("MISSING" if check.required else "optional")
        print(f"{mark:8} {check.name}: {check.detail}")
        if not check.ok:
            print(f"         needed for {check.needed_for}; fix: {check.fix}")
    healthy = doctor.healthy(results)
    print("netnsfix doctor: " + ("everything needed is here" if healthy else "something needed is missing"))
    return 0 if healthy else 1
