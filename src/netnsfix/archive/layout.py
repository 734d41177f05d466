"""The Fedora archive's layout: where each Fedora 18 repository sits under a base URL.

The archive keeps Fedora 18 under ``pub/archive/fedora/linux/``; a mirror
(``--mirror``) replaces that base and keeps the rest, so a local copy with the
same layout (the demo archive) works with the same recipe.

Inside the repositories, the release trees keep packages in a folder named
for the package's first letter (``releases/18/Everything/source/SRPMS/d/distcache-1.4.5-23.src.rpm``,
``releases/18/Everything/x86_64/os/Packages/a/anaconda-18.37.11-1.fc18.x86_64.rpm``),
while the update trees are flat (``updates/18/x86_64/wget-1.14-5.fc18.x86_64.rpm``),
as download links to the archive show. The repodata's ``location`` says
which, so only a generated archive needs :func:`package_location`.
"""

from __future__ import annotations

from typing import Literal

from netnsfix.errors import FetchError
from netnsfix.recipe import Recipe
from netnsfix.util.urls import WEB, checked_url

ARCHIVE_BASE_URL = "https://archives.fedoraproject.org/pub/archive/fedora/linux"

RELEASE_SOURCE = "releases/18/Everything/source/SRPMS"
UPDATES_SOURCE = "updates/18/SRPMS"
RELEASE_BINARY = "releases/18/Everything/x86_64/os"
UPDATES_BINARY = "updates/18/x86_64"

SOURCE_REPOS = (RELEASE_SOURCE, UPDATES_SOURCE)
BINARY_REPOS = (RELEASE_BINARY, UPDATES_BINARY)

Kind = Literal["source", "binary"]


def base_url(recipe: Recipe, mirror: str | None = None) -> str:
    """The mirror when one is given, else the recipe's base URL; without a trailing slash."""
    if mirror is None:
        return recipe.base_url.rstrip("/")
    return checked_url(mirror, "--mirror", FetchError, WEB).rstrip("/")


def repo_url(base: str, repo: str) -> str:
    """``base`` joined with a repository path such as ``updates/18/SRPMS``."""
    return f"{base.rstrip('/')}/{repo.strip('/')}"


def repo_urls(recipe: Recipe, mirror: str | None, kind: Kind) -> tuple[str, ...]:
    """The URLs of the recipe's source or binary repositories, in the recipe's order."""
    if kind == "source":
        repos = recipe.source_repos
    elif kind == "binary":
        repos = recipe.binary_repos
    else:
        raise ValueError(f"kind must be 'source' or 'binary', not {kind!r}")
    base = base_url(recipe, mirror)
    return tuple(repo_url(base, repo) for repo in repos)


def package_location(repo: str, file_name: str) -> str:
    """Where the archive keeps a package inside ``repo``: a first-letter folder in release trees."""
    repo = repo.strip("/")
    if not repo.startswith("releases/"):
        return file_name
    letter = f"{file_name[0].lower()}/{file_name}"
    return f"Packages/{letter}" if repo.endswith("/os") else letter
