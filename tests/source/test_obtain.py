"""Resolve, fetch and unpack in one call, against the demo archive over HTTP."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.archive.recipelock import locked_srpm, write_lock
from netnsfix.errors import UnpackError
from netnsfix.source.obtain import obtain_source
from netnsfix.source.request import Request
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.httpserve import serving


def test_obtains_the_spec_and_sources(recipe, demo_archive, demo_mirror: str, tmp_path: Path) -> None:
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0, backoff=0, timeout=5)
    source = obtain_source(
        Request.of(recipe, mirrors=[demo_mirror], lock=tmp_path / "lock.json"), fetcher, tmp_path / "src"
    )
    assert source.resolved.nevra == source.header.nevra == demo_archive.nevra
    assert source.srpm.read_bytes() == demo_archive.srpm_path.read_bytes()
    assert source.spec == tmp_path / "src" / "iproute.spec"
    assert sorted(p.name for p in source.files) == sorted(source.header.files)


def test_a_package_that_is_not_what_the_repodata_says(recipe, demo_archive, tmp_path: Path, need_tool) -> None:
    """A mirror whose repodata lists iproute-3.6.0-2 for a file that is really 3.6.0-1."""
    need_tool("createrepo_c")
    root = tmp_path / "mirror"
    updates = root / "updates/18/SRPMS"
    shutil.copytree(demo_archive.root / "releases", root / "releases")
    updates.mkdir(parents=True)
    shutil.copy(demo_archive.srpm_path, updates)
    subprocess.run(["createrepo_c", "--quiet", "--general-compress-type=gz", str(updates)], check=True)
    older = root / "releases/18/Everything/source/SRPMS/i/iproute-3.6.0-1.fc18.src.rpm"
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0, backoff=0, timeout=5)
    with serving(root) as served:
        lock = tmp_path / "lock.json"
        resolved = locked_srpm(recipe, fetcher, served.url, lock)
        shutil.copy(older, updates / "iproute-3.6.0-2.fc18.src.rpm")  # the file changes under the repodata
        write_lock(lock, recipe, dataclasses.replace(resolved, sha256=sha256_file(older), size=older.stat().st_size))
        with pytest.raises(
            UnpackError,
            match=r"the package is iproute-3\.6\.0-1\.fc18\.src, but the repodata promised iproute-3\.6\.0-2\.fc18\.src$",
        ):
            obtain_source(Request.of(recipe, mirrors=[served.url], lock=lock), fetcher, tmp_path / "src")
    assert not (tmp_path / "src").exists()
