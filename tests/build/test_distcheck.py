"""The one-line warning when the build root's glibc is newer than the recipe's distribution's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from netnsfix.archive.repodata import Package
from netnsfix.build.distcheck import glibc_note
from netnsfix.recipe import find_recipe


def _glibc(version: str) -> Package:
    return Package("glibc", "x86_64", 0, version, "9", "sha256", "0" * 64, "Packages/g/glibc.rpm", 1)


def test_newer_glibc_is_one_line_naming_both_versions(project_root: Path) -> None:
    recipe = find_recipe(None, project_root)  # Fedora 18, glibc 2.16
    note = glibc_note(recipe, [_glibc("2.36")])  # the demo archive's: Debian 12's glibc
    assert note is not None and "\n" not in note
    assert note.startswith("warning: the build root's glibc is 2.36 (glibc-2.36-9), newer than Fedora 18's 2.16")
    assert note.endswith("may need glibc 2.36 and then will not install on Fedora 18")
    demo = glibc_note(recipe, [_glibc("2.36.9+deb12u14")])  # the demo archive's version of Debian's 2.36-9+deb12u14
    assert demo is not None and "may need glibc 2.36 and" in demo


def test_the_distributions_own_glibc_or_older_says_nothing(project_root: Path) -> None:
    recipe = find_recipe(None, project_root)
    assert glibc_note(recipe, [_glibc("2.16")]) is None
    assert glibc_note(recipe, [_glibc("2.16.90")]) is None  # a 2.16 update
    assert glibc_note(recipe, [_glibc("2.12")]) is None
    assert glibc_note(dataclasses.replace(recipe, glibc=""), [_glibc("2.36")]) is None  # no [distribution]
    assert glibc_note(recipe, [dataclasses.replace(_glibc("2.36"), name="glibc-common")]) is None
