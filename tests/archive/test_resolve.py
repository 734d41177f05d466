"""Resolution: the newest matching source RPM across the release and updates repositories."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.repodata import Package
from netnsfix.archive.resolve import find_srpm, newest, rebase, source_urls
from netnsfix.errors import ResolveError
from netnsfix.util.httpserve import serving


def pkg(evr: str, name: str = "iproute") -> Package:
    epoch, _, vr = evr.rpartition(":")
    version, release = vr.split("-")
    return Package(name, "src", int(epoch or 0), version, release, "sha256", "0" * 64, f"{name}-{vr}.src.rpm", 1)


def test_update_wins_over_the_release(recipe, demo_archive, demo_mirror: str, fetcher: Fetcher) -> None:
    resolved = find_srpm(recipe, fetcher, demo_mirror)
    assert resolved.nevra == "iproute-3.6.0-2.fc18.src" == demo_archive.nevra
    assert (resolved.repo, resolved.location) == ("updates/18/SRPMS", "iproute-3.6.0-2.fc18.src.rpm")
    assert resolved.url == f"{demo_mirror}/updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm"
    assert (resolved.sha256, resolved.size) == (demo_archive.srpm_sha256, demo_archive.srpm_size)
    assert (resolved.epoch, resolved.arch, resolved.file_name) == (0, "src", demo_archive.srpm_name)


def test_newest_evr_by_rpm_order() -> None:
    assert newest([pkg("3.6.0-9.fc18"), pkg("3.6.0-10.fc18")]).release == "10.fc18"
    assert newest([pkg("1:3.6.0-1.fc18"), pkg("3.6.0-10.fc18")]).epoch == 1
    assert newest([pkg("3.6.0-2.fc18"), pkg("3.6.0-2.fc18.1")]).release == "2.fc18.1"
    a, b = pkg("3.6.0-2.fc18"), pkg("3.6.0-2.fc18")
    assert newest([a, b]) is b  # a tie goes to the later repository


def test_release_wins_when_it_is_newer(recipe, demo_archive, tmp_path: Path, fetcher: Fetcher, need_tool) -> None:
    need_tool("createrepo_c")
    root = tmp_path / "mirror"
    release, updates = root / "releases/18/Everything/source/SRPMS", root / "updates/18/SRPMS"
    (release / "i").mkdir(parents=True)
    updates.mkdir(parents=True)
    shutil.copy(demo_archive.srpm_path, release / "i")
    shutil.copy(demo_archive.root / "releases/18/Everything/source/SRPMS/i/iproute-3.6.0-1.fc18.src.rpm", updates)
    for repo in (release, updates):
        subprocess.run(["createrepo_c", "--quiet", "--general-compress-type=gz", str(repo)], check=True)
    with serving(root) as served:
        resolved = find_srpm(recipe, fetcher, served.url)
    assert (resolved.repo, resolved.location) == (
        "releases/18/Everything/source/SRPMS",
        "i/iproute-3.6.0-2.fc18.src.rpm",
    )


def test_nothing_found_names_package_version_and_every_repository(recipe, demo_mirror: str, fetcher: Fetcher) -> None:
    wanted = dataclasses.replace(recipe, version="3.5.0")
    with pytest.raises(ResolveError) as caught:
        find_srpm(wanted, fetcher, demo_mirror)
    message = str(caught.value)
    assert message.startswith("iproute 3.5.0 (arch src) is in none of the repositories searched: ")
    assert f"{demo_mirror}/releases/18/Everything/source/SRPMS (iproute 3.6.0-1.fc18)" in message
    assert f"{demo_mirror}/updates/18/SRPMS (iproute 3.6.0-2.fc18, 3.7.0-1.fc18)" in message
    assert "\n" not in message


def test_another_name_does_not_match(recipe, demo_mirror: str, fetcher: Fetcher) -> None:
    with pytest.raises(ResolveError, match=r"^iprout 3\.6\.0 .*SRPMS \(iprout none\)"):
        find_srpm(dataclasses.replace(recipe, package="iprout"), fetcher, demo_mirror)


def test_a_missing_repository_is_an_error_naming_it(recipe, demo_archive, tmp_path: Path, fetcher: Fetcher) -> None:
    root = tmp_path / "mirror"
    shutil.copytree(demo_archive.root / "updates", root / "updates")
    with serving(root) as served:
        with pytest.raises(Exception, match=r"releases/18/Everything/source/SRPMS/repodata/repomd\.xml: HTTP 404"):
            find_srpm(recipe, fetcher, served.url)


def test_urls_are_rebuilt_for_any_mirror(recipe, demo_mirror: str, fetcher: Fetcher) -> None:
    resolved = find_srpm(recipe, fetcher, demo_mirror)
    assert rebase(resolved, recipe, None).url == (
        "https://archives.fedoraproject.org/pub/archive/fedora/linux/updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm"
    )
    assert source_urls(resolved, recipe, ["http://a/x/", "http://b"]) == (
        "http://a/x/updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm",
        "http://b/updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm",
    )
