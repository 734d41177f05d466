"""Commands of the source pipeline: recipes (more arrive with the pipeline)."""

from __future__ import annotations

import argparse

from netnsfix.recipe import list_recipes


def register(subparsers: argparse._SubParsersAction) -> None:
    recipes = subparsers.add_parser("recipes", help="list the recipes in specs/")
    recipes.set_defaults(handler=_recipes)


def _recipes(args: argparse.Namespace) -> int:
    for recipe in list_recipes():
        print(f"{recipe.name:32} {recipe.package}-{recipe.version}  bug {recipe.bug}  {recipe.description}")
    return 0
