"""Options that several commands take, defined once so they read alike in every ``--help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from netnsfix.errors import NetnsfixError
from netnsfix.recipe import DEFAULT_RECIPE, Recipe

if TYPE_CHECKING:
    from netnsfix.archive.signature import GpgCheck
    from netnsfix.source.request import Request

RECIPE_HELP = f"recipe name or .toml file (default: {DEFAULT_RECIPE})"
FORCE_HELP = "rebuild even when the outputs are up to date"


OUT_HELP = "output root: the stages write DIR/RECIPE/srpm and DIR/RECIPE/build (default: out)"


class _Recipe(argparse.Action):
    """RECIPE as a word or as ``--recipe NAME``: either sets it, giving two different ones is an error."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option: object = None
    ) -> None:
        if values is None:  # the positional, not given: keep what --recipe set
            return
        earlier = getattr(namespace, self.dest, None)
        if earlier is not None and earlier != values:
            parser.error(f"two recipes given: {earlier} and {values}")
        setattr(namespace, self.dest, values)


def recipe_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", nargs="?", action=_Recipe, help=RECIPE_HELP)
    parser.add_argument("--recipe", dest="recipe", metavar="NAME", action=_Recipe, help="the same as RECIPE")


def out_argument(parser: argparse.ArgumentParser) -> None:
    """--out DIR: one output root for every stage (manifest.OutputLayout)."""
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("out"), help=OUT_HELP)


def recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """RECIPE, --mirror, --lock and --retries: every command that reads the archive for a recipe."""
    recipe_argument(parser)
    parser.add_argument(
        "--mirror",
        metavar="URL",
        action="append",
        help="replace the archive's base URL (the part before releases/18/...); "
        "repeat to fetch from several in order (repodata is read from the first)",
    )
    parser.add_argument(
        "--lock", metavar="FILE", type=Path, help="lock file (default: NAME.lock.json beside the recipe)"
    )
    parser.add_argument(
        "--retries", metavar="N", type=count, default=3, help="tries after a failed request (default: 3)"
    )


def gpgcheck_arguments(parser: argparse.ArgumentParser, keys: bool = True) -> None:
    """--no-gpgcheck (and --gpg-key FILE): every command that unpacks the archive's packages."""
    parser.add_argument(
        "--no-gpgcheck",
        action="store_true",
        help="do not check the archive's GPG signatures (unsafe: a mirror can then serve anything)",
    )
    if keys:
        parser.add_argument(
            "--gpg-key",
            metavar="FILE",
            type=Path,
            action="append",
            help="trust the public key in FILE instead of the recipe's keys (repeat for several)",
        )


def gpgcheck_of(args: argparse.Namespace, recipe: Recipe) -> GpgCheck:
    """What the packages are checked against; with --no-gpgcheck, one warning line on stderr each run."""
    from netnsfix.archive.signature import GpgCheck, key_file_check

    if args.no_gpgcheck:
        print(
            "netnsfix: WARNING: --no-gpgcheck: the archive's GPG signatures are NOT checked; "
            "any package a mirror serves is believed",
            file=sys.stderr,
        )
        return GpgCheck.off()
    if getattr(args, "gpg_key", None):
        return key_file_check(args.gpg_key)
    return GpgCheck.of_recipe(recipe)


def request_of(args: argparse.Namespace, recipe: Recipe) -> Request:
    """The one request a command makes from its options (those it lacks keep their defaults), handed to
    every stage it runs; --no-gpgcheck's warning is said here, once."""
    from netnsfix.source.request import Request

    return Request.of(
        recipe,
        mirrors=args.mirror or (),
        lock=args.lock,
        gpgcheck=gpgcheck_of(args, recipe) if hasattr(args, "no_gpgcheck") else None,
        out=getattr(args, "out", Path("out")),
        refresh=getattr(args, "refresh", False),
        srpm=getattr(args, "srpm", None),
        image=getattr(args, "image", None),
        force=getattr(args, "force", False),
        check_reproducible=getattr(args, "check_reproducible", False),
    )


def port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="N", type=port, default=0, help="port to serve on (default: a free one)")


def count(text: str) -> int:
    """A whole number, 0 or more (argparse names the option when it is not)."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number, 0 or more")
    return int(text)


def port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    if not text.strip().isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def out_folder(path: Path, option: str = "--out") -> Path:
    """``path`` when it is a folder or can become one; one clear error when a file is in the way."""
    if path.exists() and not path.is_dir():
        raise NetnsfixError(f"{option} {path}: not a folder")
    return path
