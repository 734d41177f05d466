"""Find the source RPM a recipe names in the archive's source repositories.

Every repository the recipe lists is read (release, then updates) and the
newest matching EVR wins, compared by rpm's own ``labelCompare``, as yum and
dnf would choose. The result records the repository and the location inside
it rather than only a URL, so the same result (and the lock that stores it)
works against any mirror.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cmp_to_key

import rpm

from netnsfix.archive.layout import base_url, repo_url
from netnsfix.archive.repodata import BytesSource, Package, load_repo
from netnsfix.errors import RepodataError, ResolveError
from netnsfix.recipe import Recipe

SOURCE_ARCH = "src"


@dataclass(frozen=True)
class Resolved:
    """One source RPM in one repository, with what is needed to fetch and check it."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    nevra: str
    repo: str  # repository path relative to the base, e.g. updates/18/SRPMS
    location: str  # path inside the repository, e.g. iproute-3.6.0-2.fc18.src.rpm
    url: str  # base (or mirror) + repo + location
    sha256: str
    size: int
    # when the lock was written: a later run reads it with the rest (the %changelog entry's day), the
    # lock read once; None for a package resolved from the repodata that no lock holds yet
    resolved_at: datetime | None = None

    @property
    def file_name(self) -> str:
        return self.location.rsplit("/", 1)[-1]

    @property
    def evr(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


def compare_evr(a: Package, b: Package) -> int:
    """rpm's ordering of two packages' (epoch, version, release): -1, 0 or 1."""
    return int(rpm.labelCompare((str(a.epoch), a.version, a.release), (str(b.epoch), b.version, b.release)))


def newest(packages: Iterable[Package]) -> Package:
    """The package with the highest EVR; on a tie the last one given (updates after release)."""
    ordered = sorted(packages, key=cmp_to_key(compare_evr))  # stable: ties keep their order
    if not ordered:
        raise ValueError("newest() of no packages")
    return ordered[-1]


def package_url(base: str, repo: str, location: str) -> str:
    return f"{repo_url(base, repo)}/{location.lstrip('/')}"


def source_urls(resolved: Resolved, recipe: Recipe, mirrors: Sequence[str | None] = (None,)) -> tuple[str, ...]:
    """The URLs to fetch ``resolved`` from: each mirror (``None``: the recipe's base) + repo + location."""
    return tuple(package_url(base_url(recipe, m), resolved.repo, resolved.location) for m in mirrors or (None,))


def rebase(resolved: Resolved, recipe: Recipe, mirror: str | None) -> Resolved:
    """The same package with its URL rebuilt against ``mirror`` (or the recipe's base)."""
    return replace(resolved, url=source_urls(resolved, recipe, (mirror,))[0])


def _versions(packages: Iterable[Package]) -> str:
    evrs = sorted({p.evr for p in packages})
    return ", ".join(evrs) if evrs else "none"


def find_srpm(recipe: Recipe, source: BytesSource, mirror: str | None = None) -> Resolved:
    """Read every source repository of the recipe and pick the newest SRPM of its name and version."""
    base = base_url(recipe, mirror)
    candidates: list[tuple[str, Package]] = []
    seen: list[str] = []
    for repo in recipe.source_repos:
        index = load_repo(source, repo_url(base, repo))
        named = [p for p in index.packages if p.name == recipe.package and p.arch == SOURCE_ARCH]
        seen.append(f"{index.url} ({recipe.package} {_versions(named)})")
        candidates += [(repo, p) for p in named if p.version == recipe.version]
    if not candidates:
        raise ResolveError(
            f"{recipe.package} {recipe.version} (arch {SOURCE_ARCH}) is in none of the repositories searched: "
            + "; ".join(seen)
        )
    winner = newest(p for _, p in candidates)
    repo = next(r for r, p in reversed(candidates) if p is winner)
    if winner.checksum_type.lower() != "sha256":
        raise RepodataError(
            f"{repo_url(base, repo)}: {winner.nevra} is listed with a {winner.checksum_type} checksum; "
            "netnsfix checks downloads by sha256"
        )
    return Resolved(
        name=winner.name,
        epoch=winner.epoch,
        version=winner.version,
        release=winner.release,
        arch=winner.arch,
        nevra=winner.nevra,
        repo=repo,
        location=winner.location,
        url=package_url(base, repo, winner.location),
        sha256=winner.checksum,
        size=winner.size,
    )
