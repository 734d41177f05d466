"""Commands of the build side: image (the build root), build (rpmbuild --rebuild in it), doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netnsfix import doctor
from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.layout import repo_urls
from netnsfix.build.image import BuildImage, ensure_image, planned_image
from netnsfix.build.inputs import build_root_closure
from netnsfix.build.rebuild import rebuild, up_to_date
from netnsfix.recipe import Recipe, find_recipe
from netnsfix.tools.engine import connect


def register(subparsers: argparse._SubParsersAction) -> None:
    image = subparsers.add_parser("image", help="make (or find) the Fedora build root image for a recipe")
    _common(image)
    image.add_argument("--list", action="store_true", help="list the resolved packages and why each is there")
    image.set_defaults(handler=_image)

    build = subparsers.add_parser("build", help="rebuild the patched SRPM in the build root, network off")
    _common(build)
    build.add_argument("--out", type=Path, help="output folder (default: out/RECIPE/build)")
    build.add_argument("--image", help="use this image instead of the recipe's build root")
    build.add_argument("--force", action="store_true", help="rebuild even when the outputs are up to date")
    build.set_defaults(handler=_build)

    check = subparsers.add_parser("doctor", help="say what this machine lacks for netnsfix and how to fix it")
    check.set_defaults(handler=_doctor)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", nargs="?", help="recipe name or .toml path (default: iproute-3.6.0-fc18)")
    parser.add_argument("--mirror", help="archive base URL replacing the recipe's (…/pub/archive/fedora/linux)")
    parser.add_argument(
        "--srpm",
        type=Path,
        help="the source RPM to build (default: the recipe's patched SRPM, made or reused by the srpm stage)",
    )
    parser.add_argument("--lock", type=Path, help="the srpm stage's lock file (default: specs/RECIPE.lock.json)")


def _say(text: str) -> None:
    print(f"netnsfix: {text}", file=sys.stderr)


def _patched_srpm(args: argparse.Namespace, recipe: Recipe, fetcher: Fetcher) -> Path:
    """``--srpm``, or the srpm stage's output in out/RECIPE/srpm (kept when its inputs are unchanged)."""
    if args.srpm is not None:
        return args.srpm
    from netnsfix.source.srpm import build_patched_srpm

    out = Path("out") / recipe.name / "srpm"
    result = build_patched_srpm(recipe, fetcher, out, mirrors=[args.mirror], lock_path=args.lock)
    _say(f"srpm {result.srpm}{' (up to date)' if result.reused else ''}")
    return result.srpm


def _closure(args: argparse.Namespace, fetcher: Fetcher):
    recipe = find_recipe(args.recipe)
    srpm = _patched_srpm(args, recipe, fetcher)
    return recipe, srpm, build_root_closure(fetcher, repo_urls(recipe, args.mirror, "binary"), srpm)


def _image(args: argparse.Namespace) -> int:
    fetcher = Fetcher()
    _, _, closure = _closure(args, fetcher)
    if args.list:
        for reason in closure.reasons:
            print(f"{reason.package:50} {reason.requirement}  <- {reason.needed_by}")
    image = ensure_image(closure, fetcher, connect(), notify=_say)
    print(f"{image.tag} {image.id} ({len(image.packages)} packages{', reused' if image.reused else ''})")
    return 0


def _build(args: argparse.Namespace) -> int:
    recipe = find_recipe(args.recipe)
    out = args.out or Path("out") / recipe.name / "build"
    fetcher = Fetcher()
    srpm = _patched_srpm(args, recipe, fetcher)
    if args.image:
        image = BuildImage(tag=args.image, id="", packages=(), key="")
        result = rebuild(srpm, image, out, connect, print, force=args.force, recipe=recipe.name)
    else:
        closure = build_root_closure(fetcher, repo_urls(recipe, args.mirror, "binary"), srpm)
        planned = planned_image(closure)
        result = None if args.force else up_to_date(srpm, planned, out)
        if result is None:
            client = connect()
            image = ensure_image(closure, fetcher, client, notify=_say)
            # up_to_date said no just above, and the made image has the planned key: build without asking again
            result = rebuild(srpm, image, out, lambda: client, print, force=True, recipe=recipe.name)
    if result.reused:
        _say(f"up to date: {result.manifest} (use --force to rebuild)")
    for rpm in result.rpms:
        print(rpm)
    _say(f"log {result.log}, manifest {result.manifest} ({result.seconds:.2f} s)")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    results = doctor.diagnose()
    for check in results:
        mark = "ok" if check.ok else ("MISSING" if check.required else "optional")
        print(f"{mark:8} {check.name}: {check.detail}")
        if not check.ok:
            print(f"         needed for {check.needed_for}; fix: {check.fix}")
    healthy = doctor.healthy(results)
    print("netnsfix doctor: " + ("everything needed is here" if healthy else "something needed is missing"))
    return 0 if healthy else 1
