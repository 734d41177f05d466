"""Debian's real dnf reads a published repository over file:// and over `netnsfix serve`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from processkit import stop
from rpmkit import build_rpms, dnf, make_outdir

from netnsfix.demo.dnfinstall import install_from
from netnsfix.errors import CommandError
from netnsfix.publish.repository import publish


@pytest.fixture
def published(tmp_path: Path, need_tool) -> Path:
    need_tool("dnf", "rpmbuild")
    rpms = build_rpms("nfxpub", 2)
    repo = tmp_path / "repo"
    publish(make_outdir(tmp_path / "out", sorted(rpms.iterdir())), repo)
    return repo


def _lists_downloads_installs(base: Path, repo_text: str) -> None:
    listed = dnf(base, "--repo=netnsfix", "list", "--available", repo_text=repo_text).stdout
    for name in ("nfxpub.x86_64", "nfxpub-0001.noarch", "nfxpub-0002.noarch"):
        assert re.search(rf"^{re.escape(name)}\s+1\.0-1\s+netnsfix", listed, re.M), listed
    assert ".src" not in listed  # the SRPM lives in the disabled source repository
    downloads = base / "downloads"
    dnf(base, "install", "--downloadonly", f"--destdir={downloads}", "nfxpub-0001")
    assert (downloads / "nfxpub-0001-1.0-1.noarch.rpm").is_file()
    dnf(base, "install", "nfxpub-0002")
    assert (base / "root/usr/share/nfxpub/nfxpub-0002.txt").read_text().strip().endswith("0002")
    sources = dnf(base, "--enablerepo=netnsfix-source", "--repo=netnsfix-source", "list", "--available").stdout
    assert re.search(r"^nfxpub\.src\s+1\.0-1\s+netnsfix-source", sources, re.M), sources


@pytest.mark.slow
def test_dnf_installs_over_file_url(tmp_path: Path, published: Path) -> None:
    _lists_downloads_installs(tmp_path / "dnf", (published / "netnsfix.repo").read_text())


@pytest.mark.slow
def test_dnf_installs_over_netnsfix_serve(tmp_path: Path, published: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "serve", str(published), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = server.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", first)
        assert match, first
        url = match.group(1)
        # The operator re-publishes with the served URL; nothing but netnsfix.repo changes.
        result = publish(published.parent / "out", published, baseurl=url)
        assert not result.repodata_written
        repo_text = requests.get(f"{url}/netnsfix.repo", timeout=10).text
        assert f"baseurl={url}\n" in repo_text
        _lists_downloads_installs(tmp_path / "dnf", repo_text)
    finally:
        out, err = stop(server)  # SIGTERM: SIGINT may be ignored when the suite runs in the background
    assert server.returncode == 0, err
    assert "stopped" in out
    assert "GET /repodata/repomd.xml" in err  # its access log went to stderr


def test_serve_refuses_a_missing_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netnsfix", "serve", str(tmp_path / "nope")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"netnsfix: error: {tmp_path / 'nope'}: no such folder"


@pytest.mark.slow
def test_install_from_for_the_demo(tmp_path: Path, published: Path) -> None:
    installed = install_from(published, ["nfxpub", "nfxpub-0001"], tmp_path / "dnf")
    assert installed.packages == ("nfxpub-0001-1.0-1.noarch", "nfxpub-1.0-1.x86_64")
    assert (installed.root / "usr/share/nfxpub/nfxpub.bin").is_file()
    with pytest.raises(CommandError, match=r"dnf install no-such-package from .* failed: .*no-such-package"):
        install_from(published, ["no-such-package"], tmp_path / "dnf2")
    # a second repository can supply what the published packages require
    other = tmp_path / "other-repo"
    publish(make_outdir(tmp_path / "other-out", sorted(build_rpms("nfxother", 1).iterdir())), other)
    both = install_from(
        published, ["nfxpub-0002", "nfxother-0001"], tmp_path / "dnf3", dependencies=[other.resolve().as_uri()]
    )
    assert "nfxother-0001-1.0-1.noarch" in both.packages
