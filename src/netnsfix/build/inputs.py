"""What a build root is made of: the recipe's binary repositories, the base set, the SRPM's BuildRequires.

The one place that turns a recipe (+ --mirror) and a source RPM into a
resolved :class:`~netnsfix.build.depsolve.Closure`, for ``netnsfix image`` and
``netnsfix build`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from netnsfix.archive.repodata import BytesSource, Dependency, load_repo
from netnsfix.build.depsolve import BASE_BUILD_SET, Closure, solve
from netnsfix.errors import ResolveError
from netnsfix.rpm.header import read_header

_OPS = {"=": "EQ", "==": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}


def parse_dependency(text: str, source: str = "") -> Dependency:
    """``gcc >= 4.7`` / ``make`` / ``foo = 1:2.0-3`` as a Dependency."""
    parts = text.split()
    if len(parts) == 1:
        return Dependency(parts[0])
    if len(parts) != 3 or parts[1] not in _OPS:
        raise ResolveError(f"{source}: cannot read the requirement '{text}'")
    name, op, evr = parts
    match = re.fullmatch(r"(?:(\d+):)?([^-]+)(?:-(.+))?", evr)
    if not match:
        raise ResolveError(f"{source}: cannot read the version in '{text}'")
    epoch, version, release = match.groups()
    return Dependency(name, _OPS[op], epoch or "0", version, release)


def build_requires(srpm: Path) -> tuple[Dependency, ...]:
    """The BuildRequires of a source RPM, read from its header."""
    header = read_header(srpm)
    return tuple(parse_dependency(text, str(srpm)) for text in header.build_requires)


def build_root_closure(
    source: BytesSource,
    repo_urls: Sequence[str],
    srpm: Path | None = None,
    base_set: Sequence[str] = BASE_BUILD_SET,
) -> Closure:
    """Load each repository's primary.xml and resolve the base set plus the SRPM's BuildRequires."""
    repos = [load_repo(source, url) for url in repo_urls]
    extra = build_requires(srpm) if srpm else ()
    origin = f"BuildRequires of {srpm.name}" if srpm else "BuildRequires"
    return solve(repos, base_set, extra, origin)
