"""Whether the build root can make packages for the recipe's distribution, said in one line.

A package is linked against the build root's glibc, and rpm's find-requires then asks
for every versioned symbol it used (``libc.so.6(GLIBC_2.34)(64bit)``): built against a
glibc newer than the distribution's, it will not install there. The demo archive is
such a case on purpose (Debian 12's binaries, glibc 2.36, standing in for Fedora 18's
2.16), and a mirror that mixes in newer packages would be one by accident.
"""

from __future__ import annotations

from collections.abc import Iterable

from netnsfix.archive.repodata import Package
from netnsfix.recipe import Recipe


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit()) if part else ""
        if not digits or not part.startswith(digits):
            break
        parts.append(int(digits))
    return tuple(parts)


def glibc_note(recipe: Recipe, packages: Iterable[Package]) -> str | None:
    """One line when the build root's glibc is newer than the recipe's distribution's, else None."""
    if not recipe.glibc:
        return None
    for package in packages:
        found = _version(package.version)[:2]
        if package.name == "glibc" and found > _version(recipe.glibc)[:2]:
            distribution = recipe.distribution or recipe.name
            return (
                f"warning: the build root's glibc is {package.version} ({package.name}-{package.evr}), newer than "
                f"{distribution}'s {recipe.glibc}: what is built here may need glibc "
                f"{'.'.join(map(str, found))} and then will not install on {distribution}"
            )
    return None
