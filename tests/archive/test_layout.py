"""The Fedora archive's layout: repository URLs under the base or a mirror."""

from __future__ import annotations

import pytest

from netnsfix.archive.layout import ARCHIVE_BASE_URL, package_location, repo_urls
from netnsfix.errors import FetchError


def test_source_repositories_under_the_archive(recipe) -> None:
    assert recipe.base_url == ARCHIVE_BASE_URL
    assert repo_urls(recipe, None, "source") == (
        "https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/18/Everything/source/SRPMS",
        "https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/18/SRPMS",
    )


def test_binary_repositories_under_a_mirror(recipe) -> None:
    assert repo_urls(recipe, "http://127.0.0.1:8080/fedora/", "binary") == (
        "http://127.0.0.1:8080/fedora/releases/18/Everything/x86_64/os",
        "http://127.0.0.1:8080/fedora/updates/18/x86_64",
    )


@pytest.mark.parametrize("mirror", ["ftp://mirror/fedora", "/srv/fedora", "http://"])
def test_a_mirror_must_be_an_http_url(recipe, mirror: str) -> None:
    with pytest.raises(FetchError, match=r"--mirror .*(not an http:// or https:// URL|names no host)"):
        repo_urls(recipe, mirror, "source")


def test_release_trees_use_first_letter_folders_updates_are_flat() -> None:
    assert (
        package_location("releases/18/Everything/source/SRPMS", "iproute-3.6.0-1.fc18.src.rpm")
        == "i/iproute-3.6.0-1.fc18.src.rpm"
    )
    assert (
        package_location("releases/18/Everything/x86_64/os", "NetworkManager-0.9.fc18.x86_64.rpm")
        == "Packages/n/NetworkManager-0.9.fc18.x86_64.rpm"
    )
    assert package_location("updates/18/SRPMS", "iproute-3.6.0-2.fc18.src.rpm") == "iproute-3.6.0-2.fc18.src.rpm"
