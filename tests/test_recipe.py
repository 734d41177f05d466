"""Recipes: the shipped ones load, and a broken one is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from netnsfix.errors import RecipeError
from netnsfix.recipe import find_recipe, list_recipes, load_recipe


def test_shipped_recipes_load(project_root: Path) -> None:
    names = {recipe.name for recipe in list_recipes(project_root)}
    assert {"iproute-3.6.0-fc18", "iproute-3.6.0-fc18-upstream"} <= names
    default = find_recipe(None, project_root)
    assert (default.package, default.version, default.bug) == ("iproute", "3.6.0", 882047)
    assert default.patch.name == "iproute-3.6.0-netns-keep-sys.patch"
    assert default.lock_path.name == "iproute-3.6.0-fc18.lock.json"


def _broken_recipe(tmp_path: Path, project_root: Path, old: str, new: str) -> Path:
    """The default recipe with ``old`` replaced by ``new``, beside a patches/ folder of its own."""
    text = (project_root / "specs" / "iproute-3.6.0-fc18.toml").read_text()
    assert old in text
    broken = tmp_path / "specs" / "broken.toml"
    broken.parent.mkdir()
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "iproute-3.6.0-netns-keep-sys.patch").write_text("")
    broken.write_text(text.replace(old, new))
    return broken


def test_missing_field_names_file_and_field(tmp_path: Path, project_root: Path) -> None:
    broken = _broken_recipe(tmp_path, project_root, 'version = "3.6.0"\n', "")
    with pytest.raises(RecipeError, match=r"broken\.toml: missing field 'package\.version'"):
        load_recipe(broken)


def test_unknown_recipe_lists_known_ones(project_root: Path) -> None:
    with pytest.raises(RecipeError, match=r"known: iproute-3\.6\.0-fc18"):
        find_recipe("no-such-recipe", project_root)


def test_recipe_names_its_distribution_and_glibc(tmp_path: Path, project_root: Path) -> None:
    """[distribution] says what the packages are built for (build warns when the root's glibc is newer)."""
    default = find_recipe(None, project_root)
    assert (default.distribution, default.glibc) == ("Fedora 18", "2.16")
    broken = _broken_recipe(tmp_path, project_root, 'glibc = "2.16"', 'glibc = "2.16; rm -rf /"')
    with pytest.raises(RecipeError, match=r"broken\.toml: field 'distribution\.glibc' .* is not a version"):
        load_recipe(broken)
