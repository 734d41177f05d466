"""Options that several commands take, defined once so they read alike in every ``--help``."""

from __future__ import annotations

import argparse
from pathlib import Path

from netnsfix.recipe import DEFAULT_RECIPE

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
    """--out DIR: one output root for every stage (pipeline.OutputLayout)."""
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
    parser.add_argument("--retries", metavar="N", type=int, default=3, help="tries after a failed request (default: 3)")


def port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="N", type=int, default=0, help="port to serve on (default: a free one)")
