"""The lock: written once, reused without the network, refreshed on request, checked when read."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.recipelock import locked_srpm, read_lock, write_lock
from netnsfix.errors import FetchError, RecipeError
from netnsfix.util.httpserve import serving


def test_written_then_reused_without_the_network(recipe, demo_archive, tmp_path: Path, fetcher: Fetcher) -> None:
    lock = tmp_path / "locks" / "iproute.lock.json"
    with serving(demo_archive.root) as served:
        first = locked_srpm(recipe, fetcher, served.url, lock)
    data = json.loads(lock.read_text())
    assert data["recipe"] == recipe.name and data["resolved_at"].endswith("Z")
    assert (data["nevra"], data["repo"], data["sha256"]) == (
        demo_archive.nevra,
        "updates/18/SRPMS",
        demo_archive.srpm_sha256,
    )
    assert sorted(p.name for p in lock.parent.iterdir()) == ["iproute.lock.json"]  # no temporary left
    # the server is gone: the lock answers, its URL rebuilt for whatever mirror is asked for now
    again = locked_srpm(recipe, fetcher, "http://mirror.invalid/fedora", lock)
    assert again == dataclasses.replace(
        first, url="http://mirror.invalid/fedora/updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm"
    )
    assert locked_srpm(recipe, fetcher, None, lock).url.startswith("https://archives.fedoraproject.org/")


def test_refresh_resolves_anew(recipe, demo_archive, demo_mirror: str, tmp_path: Path, fetcher: Fetcher) -> None:
    lock = tmp_path / "iproute.lock.json"
    stale = locked_srpm(recipe, fetcher, demo_mirror, lock)
    write_lock(lock, recipe, dataclasses.replace(stale, release="1.fc18", sha256="a" * 64))
    assert locked_srpm(recipe, fetcher, demo_mirror, lock).sha256 == "a" * 64
    fresh = locked_srpm(recipe, fetcher, demo_mirror, lock, refresh=True)
    assert fresh.sha256 == demo_archive.srpm_sha256
    assert json.loads(lock.read_text())["sha256"] == demo_archive.srpm_sha256


def test_refresh_needs_the_network(recipe, demo_mirror: str, tmp_path: Path, fetcher: Fetcher) -> None:
    lock = tmp_path / "iproute.lock.json"
    locked_srpm(recipe, fetcher, demo_mirror, lock)
    before = lock.read_bytes()
    with pytest.raises(FetchError):
        locked_srpm(recipe, fetcher, "http://127.0.0.1:1", lock, refresh=True)
    assert lock.read_bytes() == before  # a failed refresh leaves the old lock alone


def _good(recipe, demo_mirror: str, tmp_path: Path, fetcher: Fetcher) -> tuple[Path, dict]:
    lock = tmp_path / "iproute.lock.json"
    locked_srpm(recipe, fetcher, demo_mirror, lock)
    return lock, json.loads(lock.read_text())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("sha256"), "missing field 'sha256'"),
        (lambda d: d.update(size="big"), "field 'size' must be a int"),
        (lambda d: d.update(sha256="abc"), "sha256 'abc' is not 64 lower-case hex digits"),
        (lambda d: d.update(location="../../etc/passwd"), "location '../../etc/passwd' is not a path inside"),
        (lambda d: d.update(location="http://evil/x.rpm"), "is not a path inside the repository"),
        (lambda d: d.update(lock_format=99), "lock_format is 99"),
        (
            lambda d: d.update(version="3.5.0"),
            "lock is for iproute 3.5.0, but recipe iproute-3.6.0-fc18 asks for iproute 3.6.0",
        ),
        (lambda d: d.update(repo="updates/17/SRPMS"), "names repository 'updates/17/SRPMS', which recipe"),
    ],
)
def test_malformed_lock_is_a_recipe_error_naming_it(recipe, demo_mirror, tmp_path, fetcher, change, message) -> None:
    lock, data = _good(recipe, demo_mirror, tmp_path, fetcher)
    change(data)
    lock.write_text(json.dumps(data))
    with pytest.raises(RecipeError) as caught:
        locked_srpm(recipe, fetcher, demo_mirror, lock)
    assert str(caught.value).startswith(f"{lock}: ")
    assert message in str(caught.value)


def test_lock_that_is_not_json(recipe, tmp_path: Path) -> None:
    lock = tmp_path / "iproute.lock.json"
    lock.write_text("{ not json")
    with pytest.raises(RecipeError, match=rf"^{lock}: malformed lock: Expecting"):
        read_lock(lock, recipe)
    lock.write_text("[]")
    with pytest.raises(RecipeError, match="not a JSON object"):
        read_lock(lock, recipe)
