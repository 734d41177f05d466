"""Commands of the build side: image (the build root), build (rpmbuild --rebuild in it), doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from netnsfix import doctor
from netnsfix.archive.fetch import Fetcher
from netnsfix.cli import Exit
from netnsfix.cli.options import FORCE_HELP, gpgcheck_arguments, out_argument, recipe_arguments, request_of
from netnsfix.recipe import find_recipe
from netnsfix.util.timing import Span, StageTimer

if TYPE_CHECKING:
    from netnsfix.build.reproduce import ReproCheck


def register(subparsers: argparse._SubParsersAction) -> None:
    image = subparsers.add_parser("image", help="make (or find) the Fedora build root image for a recipe")
    _common(image)
    image.add_argument("--list", action="store_true", help="list the resolved packages and why each is there")
    image.set_defaults(handler=_image)

    build = subparsers.add_parser("build", help="rebuild the patched SRPM in the build root, network off")
    _common(build)
    build.add_argument("--image", metavar="IMAGE", help="use this image instead of the recipe's build root")
    build.add_argument("--force", action="store_true", help=FORCE_HELP)
    build.add_argument(
        "--check-reproducible",
        action="store_true",
        help="build twice in fresh containers (another host name, time zone, time and folder), compare the RPMs, "
        "print what differs; exit 1 when anything differs that should not",
    )
    build.set_defaults(handler=_build)

    check = subparsers.add_parser("doctor", help="say what this machine lacks for netnsfix and how to fix it")
    check.set_defaults(handler=_doctor)


def _common(parser: argparse.ArgumentParser) -> None:
    recipe_arguments(parser)
    out_argument(parser)
    gpgcheck_arguments(parser)
    parser.add_argument(
        "--srpm",
        metavar="FILE",
        type=Path,
        help="the source RPM to build (default: the recipe's patched SRPM in DIR/RECIPE/srpm, made or kept)",
    )


def _say(text: str) -> None:
    print(f"netnsfix: {text}", file=sys.stderr)


def _stage_done(span: Span) -> None:
    _say(f"{span.name}: {span.detail} ({span.seconds:.1f} s)")


def _image(args: argparse.Namespace) -> int:
    from netnsfix.build.image import ensure_image
    from netnsfix.pipeline import build_root_for, source_rpm
    from netnsfix.tools.engine import connect

    request = request_of(args, find_recipe(args.recipe))
    fetcher = Fetcher(retries=args.retries)
    source = source_rpm(request, fetcher)
    if source.made is not None:
        _say(f"srpm {source.path}{' (up to date)' if source.made.reused else ''}")
    closure = build_root_for(request, fetcher, source.path)
    if args.list:
        for reason in closure.reasons:
            print(f"{reason.package:50} {reason.requirement}  <- {reason.needed_by}")
    image = ensure_image(closure, fetcher, connect(), gpgcheck=request.gpgcheck, notify=_say)
    print(f"{image.tag} {image.id} ({len(image.packages)} packages{', reused' if image.reused else ''})")
    return 0


def _build(args: argparse.Namespace) -> int:
    from netnsfix.pipeline import Hooks, run_pipeline

    request = request_of(args, find_recipe(args.recipe))
    hooks = Hooks(timer=StageTimer(ended=_stage_done), notify=_say, log_sink=print)
    result = run_pipeline(request, Fetcher(retries=args.retries), hooks)
    build = result.build
    if build.reused:
        _say(f"up to date: {build.manifest} (use --force to rebuild)")
    for rpm in build.rpms:
        print(rpm)
    _say(f"log {build.log}, manifest {build.manifest} ({build.seconds:.2f} s)")
    return 0 if result.repro is None else _print_repro(result.repro)


def _print_repro(check: ReproCheck) -> int:
    """The second build's differences as a table; 0 only when none of them is unexpected."""
    rpm = ".".join(map(str, check.rpm_version)) if check.rpm_version else "unknown"
    allowed = ", ".join(sorted(check.may_differ)) or "nothing"
    print(f"reproducible check: {len(check.rpms)} RPMs built twice; build root's rpm {rpm}, may differ: {allowed}")
    if check.differences:
        rows = [("package", "field", "first build", "second build", "")]
        rows += [
            (d.package, d.field, d.first, d.second, "" if d in check.unexpected else "allowed")
            for d in check.differences
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            print(
                "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + ("  " + row[4] if row[4] else "")
            )
    if check.reproducible:
        print(
            "reproducible: the RPMs of both builds are the same"
            + (" (but for the fields allowed above)" if check.differences else "")
        )
        return Exit.OK
    print(f"NOT reproducible: {len(check.unexpected)} fields differ that should not")
    return Exit.RESULT


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
    return Exit.OK if healthy else Exit.RESULT
