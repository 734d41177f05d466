"""Reading repomd.xml and primary.xml of the demo archive's repositories, over HTTP."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.repodata import Dependency, load_repo, parse_primary, parse_repomd
from netnsfix.errors import RepodataError
from netnsfix.util.httpserve import serving

UPDATES = "updates/18/SRPMS"
RELEASE = "releases/18/Everything/source/SRPMS"


def test_repomd_lists_gzip_metadata_with_sha256(demo_archive) -> None:
    path = demo_archive.root / UPDATES / "repodata" / "repomd.xml"
    repomd = parse_repomd(path.read_bytes(), str(path))
    assert repomd.revision == "1349265600"
    assert {"primary", "filelists", "other", "primary_db"} <= set(repomd.records)
    primary = repomd.records["primary"]
    assert primary.href.endswith("-primary.xml.gz") and primary.checksum_type == "sha256"
    data = (demo_archive.root / UPDATES / primary.href).read_bytes()
    assert hashlib.sha256(data).hexdigest() == primary.checksum


def test_load_repo_over_http(demo_archive, demo_mirror: str, fetcher: Fetcher) -> None:
    index = load_repo(fetcher, f"{demo_mirror}/{RELEASE}")
    by_nevra = {p.nevra: p for p in index.packages}
    assert set(by_nevra) == {"iproute-3.6.0-1.fc18.src", "iputils-20121011-1.fc18.src"}
    old = by_nevra["iproute-3.6.0-1.fc18.src"]
    assert old.location == "i/iproute-3.6.0-1.fc18.src.rpm"
    assert old.url == f"{demo_mirror}/{RELEASE}/i/iproute-3.6.0-1.fc18.src.rpm"
    assert old.checksum_type == "sha256"
    assert old.checksum == hashlib.sha256((demo_archive.root / RELEASE / old.location).read_bytes()).hexdigest()
    winner = {p.nevra: p for p in load_repo(fetcher, f"{demo_mirror}/{UPDATES}").packages}["iproute-3.6.0-2.fc18.src"]
    assert [str(r) for r in winner.requires] == ["gcc", "make"]
    assert [str(p) for p in winner.provides] == ["iproute = 3.6.0-2.fc18"]
    assert winner.size == demo_archive.srpm_size


def _copy_repo(demo_archive, tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    shutil.copytree(demo_archive.root / UPDATES, root / UPDATES)
    return root


def test_primary_checksum_mismatch_is_refused(demo_archive, tmp_path: Path, fetcher: Fetcher) -> None:
    root = _copy_repo(demo_archive, tmp_path)
    primary = next((root / UPDATES / "repodata").glob("*-primary.xml.gz"))
    text = gzip.decompress(primary.read_bytes()).replace(b"3.6.0", b"3.6.9")
    primary.write_bytes(gzip.compress(text))  # repomd.xml still names the old checksum
    with serving(root) as served:
        with pytest.raises(
            RepodataError, match=r"-primary\.xml\.gz: sha256 is [0-9a-f]{64}, but repomd\.xml says [0-9a-f]{64}$"
        ):
            load_repo(fetcher, f"{served.url}/{UPDATES}")


def test_repomd_naming_a_wrong_checksum_is_refused(demo_archive, tmp_path: Path, fetcher: Fetcher) -> None:
    root = _copy_repo(demo_archive, tmp_path)
    repomd = root / UPDATES / "repodata" / "repomd.xml"
    text = repomd.read_text()
    pattern = r'(<data type="primary">\s*<checksum type="sha256">)[0-9a-f]{64}'
    repomd.write_text(re.sub(pattern, lambda m: m.group(1) + "f" * 64, text, count=1))
    with serving(root) as served:
        with pytest.raises(RepodataError, match=f"but repomd.xml says {'f' * 64}"):
            load_repo(fetcher, f"{served.url}/{UPDATES}")


def test_not_xml_and_missing_primary_are_one_line_errors() -> None:
    with pytest.raises(RepodataError, match=r"^http://x/repodata/repomd\.xml: not valid XML"):
        parse_repomd(b"<html>404", "http://x/repodata/repomd.xml")
    empty = b'<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision></repomd>'
    with pytest.raises(RepodataError, match=r"^repomd\.xml: no primary metadata listed$"):
        parse_repomd(empty, "repomd.xml")
    with pytest.raises(RepodataError, match=r"primary\.xml: not valid XML"):
        parse_primary(b"\x1f\x8b", "primary.xml")


def test_dependency_renders_like_rpm() -> None:
    assert str(Dependency("gcc", "GE", "0", "4.7")) == "gcc >= 4.7"
    assert str(Dependency("glibc", "EQ", "1", "2.16", "28.fc18")) == "glibc = 1:2.16-28.fc18"
    assert str(Dependency("make")) == "make"
