"""Commands of the source pipeline: recipes, resolve, fetch, srpm, demo-archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from netnsfix.archive.fetch import Cache, Fetcher, Progress
from netnsfix.archive.recipelock import fetch_locked, locked_srpm
from netnsfix.archive.resolve import Resolved
from netnsfix.cli import Exit
from netnsfix.cli.options import (
    gpgcheck_arguments,
    out_argument,
    out_folder,
    port_argument,
    recipe_arguments,
    request_of,
)
from netnsfix.errors import RecipeError
from netnsfix.recipe import find_recipe, scan_recipes, specs_dir

if TYPE_CHECKING:
    from netnsfix.source.request import Request
    from netnsfix.source.srpm import SrpmResult


def register(subparsers: argparse._SubParsersAction) -> None:
    recipes = subparsers.add_parser("recipes", help="list the recipes in specs/")
    recipes.set_defaults(handler=_recipes)

    resolve = subparsers.add_parser(
        "resolve", help="find the recipe's source RPM in the archive's repodata and lock it"
    )
    recipe_arguments(resolve)
    resolve.add_argument("--refresh", action="store_true", help="resolve again even when a lock exists")
    resolve.set_defaults(handler=_resolve)

    fetch = subparsers.add_parser(
        "fetch", help="download the resolved source RPM into the cache (checked by sha256) and print its path"
    )
    recipe_arguments(fetch)
    fetch.add_argument("--refresh", action="store_true", help="resolve again even when a lock exists")
    fetch.set_defaults(handler=_fetch)

    srpm = subparsers.add_parser(
        "srpm",
        help="resolve, fetch, verify and add the recipe's patch: write the patched SRPM and its manifest",
        description="Resolve the recipe's source package in the archive's repodata, fetch it (sha256 checked), "
        "check the patch at fuzz 0 against Source0, add it to the spec (Patch/%patch, Release, %changelog) "
        "and write the patched SRPM with manifest.json beside it.",
    )
    recipe_arguments(srpm)
    srpm.add_argument("--refresh", action="store_true", help="resolve again even when a lock exists")
    out_argument(srpm)
    gpgcheck_arguments(srpm)
    srpm.set_defaults(handler=_srpm)

    demo = subparsers.add_parser(
        "demo-archive",
        help="make the whole demo archive (Fedora 18's layout: source and x86_64 repositories) in DIR",
        description="Make the demo archive in DIR: the source repositories (the iproute SRPM) and the x86_64 "
        "ones (a Debian 12 root repackaged as about 170 RPMs, debootstrapped once and cached), so that "
        "'netnsfix image' and 'netnsfix build --mirror URL' run against it by hand. The x86_64 side needs root, "
        "debootstrap and Debian's mirror the first time; --source-only skips it.",
    )
    demo.add_argument("dir", metavar="DIR", type=Path, help="the folder to write the archive into")
    demo.add_argument(
        "--source-only", action="store_true", help="only the source repositories (fast; enough for resolve/srpm)"
    )
    demo.add_argument("--serve", action="store_true", help="serve DIR on 127.0.0.1 until Ctrl-C")
    port_argument(demo)
    demo.set_defaults(handler=_demo_archive)


def _recipes(args: argparse.Namespace) -> int:
    """Every recipe, a broken one listed as broken (exit 2) without hiding the others."""
    broken = 0
    for entry in scan_recipes():
        if isinstance(entry, RecipeError):
            broken += 1
            print(f"{'(broken)':32} {entry}")
            continue
        print(f"{entry.name:32} {entry.package}-{entry.version}  bug {entry.bug}  {entry.description}")
    if broken:
        print(f"netnsfix: error: {broken} recipe(s) in {specs_dir()} are broken (listed above)", file=sys.stderr)
    return Exit.ERROR if broken else Exit.OK


class RichProgress:
    """fetch.Progress as a rich progress bar on stderr (only used on a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(
            "[bold]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task: object | None = None

    def start(self, name: str, total: int | None, done: int = 0) -> None:
        self._progress.start()
        self._task = self._progress.add_task(name, total=total, completed=done)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)  # type: ignore[arg-type]

    def finish(self) -> None:
        self._progress.stop()
        self._task = None


def progress_for(stream: TextIO) -> Progress | None:
    """A progress bar when ``stream`` is a terminal, none otherwise."""
    return RichProgress(stream) if stream.isatty() else None


def _resolved(args: argparse.Namespace, fetcher: Fetcher) -> tuple[Request, str, Resolved]:
    request = request_of(args, find_recipe(args.recipe))
    existed = request.lock.exists()
    resolved = locked_srpm(request.recipe, fetcher, request.base, request.lock, request.refresh)
    how = "reused" if existed and not request.refresh else "written"
    return request, how, resolved


def _resolve(args: argparse.Namespace) -> int:
    request, how, resolved = _resolved(args, Fetcher(Cache.default(), retries=args.retries))
    lock = request.lock
    print(f"nevra   {resolved.nevra}")
    print(f"url     {resolved.url}")
    print(f"sha256  {resolved.sha256}")
    print(f"size    {resolved.size}")
    print(f"lock    {lock} ({how})")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    fetcher = Fetcher(Cache.default(), retries=args.retries, progress=progress_for(sys.stderr))
    request, _how, resolved = _resolved(args, fetcher)
    path = fetch_locked(fetcher, request.recipe, resolved, request.bases, request.lock)
    print(path)
    return 0


def _srpm(args: argparse.Namespace) -> int:
    from netnsfix.source.srpm import build_patched_srpm

    out_folder(args.out)
    request = request_of(args, find_recipe(args.recipe))
    request.layout.check()
    fetcher = Fetcher(Cache.default(), retries=args.retries, progress=progress_for(sys.stderr))
    result = build_patched_srpm(request, fetcher)
    print_srpm_result(result)
    return 0


def print_srpm_result(result: SrpmResult) -> None:
    """What the srpm stage did, one fact a line."""
    print(f"resolved  {result.resolved.nevra}  sha256 {result.resolved.sha256}")
    for hunk in result.report.hunks:
        print(f"hunk      {hunk.file} #{hunk.hunk} {hunk.header} at line {hunk.found_line}, offset {hunk.offset}")
    change = result.change
    print(
        f"spec      {change.patch_line.split()[0]} {result.report.patch.name}; Release {change.old_release} -> "
        f"{change.new_release}"
    )
    print(f"evr       {change.old_evr} -> {change.new_evr} (dist {result.dist or 'none'})")
    print(f"srpm      {result.srpm}")
    print(f"manifest  {result.manifest}")


def _demo_archive(args: argparse.Namespace) -> int:
    from netnsfix.demo.archive import build_demo_archive
    from netnsfix.util.httpserve import make_server, serve_until_stopped

    archive = build_demo_archive(out_folder(args.dir, "DIR"))
    print(f"archive {archive.root}")
    print(f"srpm    {archive.repo}/{archive.location}  sha256 {archive.srpm_sha256}")
    if not args.source_only:
        from netnsfix.demo.binaries import build_demo_binary_repo

        binaries = build_demo_binary_repo(args.dir)
        print(f"x86_64  {binaries.repo} and {binaries.updates} ({len(binaries.packages)} packages)")
    if not args.serve:
        return 0
    server = make_server(archive.root, port=args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"mirror  {url}")
    print(f"gpg key {archive.key_file}  (netnsfix srpm --mirror {url} --gpg-key {archive.key_file})")
    use = "resolve" if args.source_only else "build"
    print(f"use     netnsfix {use} --mirror {url} --lock LOCKFILE   (Ctrl-C stops serving)", flush=True)
    serve_until_stopped(server)  # Ctrl-C or SIGTERM, even when started with SIGINT ignored
    return 0
