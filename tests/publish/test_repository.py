"""netnsfix publish: a build folder's RPMs into a yum repository (layout, repodata, idempotence, refusals)."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from processkit import finish
from rpmkit import build_rpms, make_outdir, snapshot
from testkit import next_second

from netnsfix.cli import main
from netnsfix.errors import PublishError
from netnsfix.manifest import FileRecord, Manifest, read_manifest
from netnsfix.publish.filelock import LOCK_NAME
from netnsfix.publish.repository import PublishSteps, publish

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"


@pytest.fixture(scope="session")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("rpmbuild") is None:
        pytest.fail("rpmbuild is not installed (scripts/setup installs it)")
    return build_rpms("nfxpub", 2)


@pytest.fixture(scope="session")
def rpms_rebuilt() -> Path:
    """Same NEVRAs as ``rpms``, different files (a rebuild with other contents)."""
    return build_rpms("nfxpub", 2, marker="rebuilt")


@pytest.fixture(scope="session")
def rpms_other() -> Path:
    return build_rpms("nfxother", 1)


@pytest.fixture
def outdir(tmp_path: Path, rpms: Path) -> Path:
    return make_outdir(tmp_path / "out", sorted(rpms.iterdir()))


def primary_names(root: Path) -> list[str]:
    repomd = ET.parse(root / "repodata" / "repomd.xml").getroot()
    href = next(
        d.find(f"{REPO_NS}location").get("href") for d in repomd.findall(f"{REPO_NS}data") if d.get("type") == "primary"
    )
    with gzip.open(root / href) as stream:
        primary = ET.parse(stream).getroot()
    return sorted(
        f"{p.findtext(f'{COMMON_NS}name')}.{p.findtext(f'{COMMON_NS}arch')}"
        for p in primary.findall(f"{COMMON_NS}package")
    )


def test_layout_repo_file_and_result(tmp_path: Path, outdir: Path) -> None:
    repo = tmp_path / "repo"
    result = publish(outdir, repo)
    assert result.added == (
        "nfxpub-0001-1.0-1.noarch",
        "nfxpub-0002-1.0-1.noarch",
        "nfxpub-1.0-1.src",
        "nfxpub-1.0-1.x86_64",
    )
    assert result.unchanged == () and result.replaced == () and result.repodata_written
    assert (repo / "Packages/n/nfxpub-1.0-1.x86_64.rpm").is_file()
    assert (repo / "Packages/n/nfxpub-0001-1.0-1.noarch.rpm").is_file()
    assert (repo / "SRPMS/Packages/n/nfxpub-1.0-1.src.rpm").is_file()
    assert primary_names(repo) == ["nfxpub-0001.noarch", "nfxpub-0002.noarch", "nfxpub.x86_64"]
    assert primary_names(repo / "SRPMS") == ["nfxpub.src"]
    text = result.repo_file.read_text()
    assert f"baseurl={repo.resolve().as_uri()}\n" in text
    assert "[netnsfix]" in text and "enabled=1" in text and "gpgcheck=0" in text
    assert (
        f"[netnsfix-source]\nname=netnsfix: fixed packages - source\nbaseurl={repo.resolve().as_uri()}/SRPMS\nenabled=0"
        in text
    )
    assert "gpgkey" not in text
    assert [name for name, _ in result.timings] == ["check", "plan", "place", "repodata", "swap"]
    # the build output is untouched
    for record in read_manifest(outdir).outputs:
        assert hashlib.sha256((outdir / record.path).read_bytes()).hexdigest() == record.sha256


def test_repomd_gzip_and_sqlite_read_by_python(tmp_path: Path, outdir: Path) -> None:
    """What yum 3.4 needs: gzip XML plus sqlite databases (also gzip), sha256 everywhere."""
    repo = tmp_path / "repo"
    publish(outdir, repo)
    repomd = ET.parse(repo / "repodata" / "repomd.xml").getroot()
    records = {d.get("type"): d for d in repomd.findall(f"{REPO_NS}data")}
    assert set(records) == {"primary", "filelists", "other", "primary_db", "filelists_db", "other_db"}
    for kind, record in records.items():
        href = record.find(f"{REPO_NS}location").get("href")
        path = repo / href
        assert href.endswith(".gz"), href
        checksum = record.find(f"{REPO_NS}checksum")
        assert checksum.get("type") == "sha256"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == checksum.text
        data = gzip.decompress(path.read_bytes())
        assert hashlib.sha256(data).hexdigest() == record.findtext(f"{REPO_NS}open-checksum")
        if kind.endswith("_db"):
            assert record.findtext(f"{REPO_NS}database_version") == "10"
            db_path = tmp_path / f"{kind}.sqlite"
            db_path.write_bytes(data)
            with sqlite3.connect(db_path) as db:
                if kind == "primary_db":
                    names = sorted(row[0] for row in db.execute("select name from packages"))
                    assert names == ["nfxpub", "nfxpub-0001", "nfxpub-0002"]
                    hrefs = {row[0] for row in db.execute("select location_href from packages")}
                    assert "Packages/n/nfxpub-1.0-1.x86_64.rpm" in hrefs
                elif kind == "filelists_db":
                    assert db.execute("select count(*) from filelist").fetchone()[0] == 3
                else:
                    assert db.execute("select count(*) from changelog").fetchone()[0] == 3
            db_path.unlink()
        else:
            root = ET.fromstring(data)
            assert root.get("packages") == "3"


def test_publishing_again_changes_nothing(tmp_path: Path, outdir: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    repomd_stat = (repo / "repodata" / "repomd.xml").stat()
    again = publish(outdir, repo)
    assert again.added == () and again.replaced == () and len(again.unchanged) == 4
    assert not again.repodata_written
    assert snapshot(repo) == before
    assert (repo / "repodata" / "repomd.xml").stat().st_mtime_ns == repomd_stat.st_mtime_ns


def test_incremental_publish_keeps_what_was_there(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    other = make_outdir(tmp_path / "other", sorted(rpms_other.iterdir()))
    result = publish(other, repo)
    assert result.added == ("nfxother-0001-1.0-1.noarch", "nfxother-1.0-1.src", "nfxother-1.0-1.x86_64")
    assert primary_names(repo) == [
        "nfxother-0001.noarch",
        "nfxother.x86_64",
        "nfxpub-0001.noarch",
        "nfxpub-0002.noarch",
        "nfxpub.x86_64",
    ]
    assert primary_names(repo / "SRPMS") == ["nfxother.src", "nfxpub.src"]
    # one generation of old metadata files stays for readers that fetched the old repomd.xml
    listed = {line for line in (repo / "repodata" / "repomd.xml").read_text().splitlines() if "href" in line}
    assert len(list((repo / "repodata").iterdir())) == 1 + 6 + 6
    assert len(listed) == 6


def test_same_nevra_different_file_refused_unless_replace(tmp_path: Path, outdir: Path, rpms_rebuilt: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    rebuilt = make_outdir(tmp_path / "rebuilt", sorted(rpms_rebuilt.iterdir()))
    with pytest.raises(
        PublishError,
        match=r"nfxpub-0001-1\.0-1\.noarch is already in .* as a different file "
        r"\(Packages/n/nfxpub-0001-1\.0-1\.noarch\.rpm\); pass --replace",
    ):
        publish(rebuilt, repo)
    assert snapshot(repo) == before
    result = publish(rebuilt, repo, replace=True)
    assert len(result.replaced) == 4 and result.added == ()
    for name in ("Packages/n/nfxpub-1.0-1.x86_64.rpm", "SRPMS/Packages/n/nfxpub-1.0-1.src.rpm"):
        assert (repo / name).read_bytes() == (rpms_rebuilt / Path(name).name).read_bytes()
    assert primary_names(repo) == ["nfxpub-0001.noarch", "nfxpub-0002.noarch", "nfxpub.x86_64"]


def test_file_not_in_manifest_refused(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    stray = next(rpms_other.glob("*.noarch.rpm"))
    shutil.copyfile(stray, outdir / stray.name)
    with pytest.raises(PublishError, match=rf"{stray.name}: not listed in .*manifest\.json; refusing"):
        publish(outdir, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()


def test_checksum_differing_from_manifest_refused(tmp_path: Path, outdir: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    target = outdir / "nfxpub-0002-1.0-1.noarch.rpm"
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(
        PublishError,
        match=r"nfxpub-0002-1\.0-1\.noarch\.rpm: sha256 [0-9a-f]{64} differs from "
        r".*manifest\.json \([0-9a-f]{64}\)",
    ):
        publish(outdir, repo)
    assert snapshot(repo) == before


def test_corrupt_rpm_refused(tmp_path: Path, outdir: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    broken = tmp_path / "broken"
    broken.mkdir()
    bad = broken / "nfxbad-1.0-1.noarch.rpm"
    bad.write_bytes(b"\xed\xab\xee\xdb" + b"\x00" * 200)  # an RPM lead, then nothing
    Manifest(stage="build", recipe="test", inputs=(), outputs=(FileRecord.of(bad, bad.name, "rpm"),)).write(broken)
    with pytest.raises(PublishError, match=r"nfxbad-1\.0-1\.noarch\.rpm: not a readable RPM"):
        publish(broken, repo)
    assert snapshot(repo) == before


def test_manifest_kind_must_match_the_file(tmp_path: Path, rpms: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    srpm = next(rpms.glob("*.src.rpm"))
    shutil.copyfile(srpm, folder / srpm.name)
    Manifest(
        stage="build", recipe="t", inputs=(), outputs=(FileRecord.of(folder / srpm.name, srpm.name, "rpm"),)
    ).write(folder)
    with pytest.raises(PublishError, match=r"says 'rpm' but the file is a source package"):
        publish(folder, tmp_path / "repo")


def test_no_manifest_refused(tmp_path: Path, rpms: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    with pytest.raises(PublishError, match=r"loose/manifest\.json: no manifest"):
        publish(folder, tmp_path / "repo")


def test_repository_under_a_file_refused(tmp_path: Path, outdir: Path) -> None:
    (tmp_path / "afile").write_text("not a folder\n")
    with pytest.raises(PublishError, match=r"afile/repo: cannot create the repository folder: Not a directory"):
        publish(outdir, tmp_path / "afile" / "repo")
    assert (tmp_path / "afile").read_text() == "not a folder\n"


def _chattr(flag: str, path: Path) -> bool:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.mark.root
def test_immutable_repository_refused(tmp_path: Path, outdir: Path, rpms_other: Path, need_root: None) -> None:
    """Root ignores mode bits, not the immutable attribute: a real unwritable folder for root."""
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    other = make_outdir(tmp_path / "other", sorted(rpms_other.iterdir()))
    letter = repo / "Packages" / "n"
    if not _chattr("+i", letter):
        pytest.fail(f"chattr +i does not work on {letter}'s file system")
    try:
        with pytest.raises(
            PublishError,
            match=r"Packages/n/\.nfxother.*: cannot write into the repository: "
            r"Operation not permitted",
        ):
            publish(other, repo)
    finally:
        _chattr("-i", letter)
    assert snapshot(repo) == before
    if not _chattr("+i", repo):
        pytest.fail(f"chattr +i does not work on {repo}'s file system")
    try:
        with pytest.raises(PublishError, match=r"repo: repository folder is not writable"):
            publish(other, repo)
    finally:
        _chattr("-i", repo)
    assert snapshot(repo) == before


def test_failure_between_build_aside_and_swap_leaves_repodata(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    before = snapshot(repo)
    other = make_outdir(tmp_path / "other", sorted(rpms_other.iterdir()))

    def broken_swap(root: Path, aside: Path) -> None:
        assert (aside / "repomd.xml").is_file()
        raise PublishError(f"{root}: injected failure before the swap")

    with pytest.raises(PublishError, match="injected failure"):
        publish(other, repo, steps=PublishSteps(swap_in=broken_swap))
    after = snapshot(repo)
    # The new files were renamed into Packages/ (unlisted, harmless); the repodata is the old one.
    assert {k: v for k, v in after.items() if "nfxother" not in k} == before
    assert primary_names(repo) == ["nfxpub-0001.noarch", "nfxpub-0002.noarch", "nfxpub.x86_64"]
    assert not (repo / ".repodata.new").exists()
    assert publish(other, repo).added  # the next publish completes it
    assert "nfxother.x86_64" in primary_names(repo)


KILLER = """
import os, signal, sys
from pathlib import Path
from netnsfix.publish.repository import PublishSteps, publish

def die(root, aside):
    os.kill(os.getpid(), signal.SIGKILL)

publish(Path(sys.argv[1]), Path(sys.argv[2]), steps=PublishSteps(swap_in=die))
"""


def test_publish_killed_midway_leaves_previous_repodata(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    repo = tmp_path / "repo"
    publish(outdir, repo)
    repodata_before = snapshot(repo / "repodata")
    other = make_outdir(tmp_path / "other", sorted(rpms_other.iterdir()))
    done = subprocess.run([sys.executable, "-c", KILLER, str(other), str(repo)], capture_output=True)
    assert done.returncode == -9, done.stderr
    assert (repo / ".repodata.new" / "repomd.xml").is_file()  # it died after building aside
    assert snapshot(repo / "repodata") == repodata_before
    assert primary_names(repo) == ["nfxpub-0001.noarch", "nfxpub-0002.noarch", "nfxpub.x86_64"]
    # The lock died with the process; the next publish cleans up and finishes the job (the files
    # renamed into Packages/ before the kill are found there, as createrepo_c --update would).
    result = publish(other, repo)
    assert set(result.added + result.unchanged) >= {"nfxother-1.0-1.x86_64", "nfxother-1.0-1.src"}
    assert "nfxother.x86_64" in primary_names(repo) and "nfxother.src" in primary_names(repo / "SRPMS")
    assert not (repo / ".repodata.new").exists()
    assert not list(repo.rglob(".*.tmp"))


def test_concurrent_publishes_are_serialized(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    other = make_outdir(tmp_path / "other", sorted(rpms_other.iterdir()))
    holder = os.open(repo / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    finished = threading.Event()
    thread = threading.Thread(target=lambda: (publish(outdir, repo), finished.set()))
    thread.start()
    time.sleep(0.7)
    assert not finished.is_set() and not (repo / "repodata").exists()
    os.close(holder)
    thread.join(timeout=60)
    assert finished.is_set()
    # two processes at once: both packages end up listed
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "netnsfix", "publish", str(folder), "--repo", str(repo), "--no-sign"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder in (outdir, other)
    ]
    for proc in procs:
        _, err = finish(proc, timeout=120)
        assert proc.returncode == 0, err
    assert primary_names(repo) == [
        "nfxother-0001.noarch",
        "nfxother.x86_64",
        "nfxpub-0001.noarch",
        "nfxpub-0002.noarch",
        "nfxpub.x86_64",
    ]


def test_cli_publish_prints_how_to_use_it(
    tmp_path: Path, outdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed by default, with netnsfix's own key (made once, kept in the cache): gpgcheck=1 names it."""
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    assert main(["publish", str(outdir), "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "added     nfxpub-1.0-1.x86_64" in out
    assert f"signed; public key: {repo / 'RPM-GPG-KEY-netnsfix'}" in out
    repo_text = (repo / "netnsfix.repo").read_text()
    assert "gpgcheck=1\n" in repo_text and f"gpgkey={repo.resolve().as_uri()}/RPM-GPG-KEY-netnsfix\n" in repo_text
    kept = (tmp_path / "cache" / "publish-key" / "public.asc").read_bytes()
    assert (repo / "RPM-GPG-KEY-netnsfix").read_bytes() == kept
    assert (repo / "repodata" / "repomd.xml.asc").is_file()
    assert f"cp {repo.resolve()}/netnsfix.repo /etc/yum.repos.d/" in out
    assert "yum install iproute" in out
    assert main(["publish", str(outdir), "--repo", str(repo), "--baseurl", "http://repo.example:8080/"]) == 0
    out = capsys.readouterr().out
    assert "nothing changed" in out
    assert "curl -o /etc/yum.repos.d/netnsfix.repo http://repo.example:8080/netnsfix.repo" in out
    assert "baseurl=http://repo.example:8080\n" in (repo / "netnsfix.repo").read_text()
    assert main(["publish", str(tmp_path / "nowhere"), "--repo", str(repo)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"netnsfix: error: {tmp_path / 'nowhere'}: no such build output folder"


def test_repository_keeps_its_own_copies(tmp_path: Path, outdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing the build folder afterwards (in place) leaves the repository alone; big files too."""
    import netnsfix.publish.repository as publish_module

    for limit in (publish_module.IN_MEMORY_LIMIT, 0):  # 0: every file takes the streaming path
        monkeypatch.setattr(publish_module, "IN_MEMORY_LIMIT", limit)
        repo = tmp_path / f"repo-{limit}"
        publish(outdir, repo)
        published = repo / "Packages/n/nfxpub-0001-1.0-1.noarch.rpm"
        original = (outdir / "nfxpub-0001-1.0-1.noarch.rpm").read_bytes()
        assert published.read_bytes() == original
        with open(outdir / "nfxpub-0001-1.0-1.noarch.rpm", "r+b") as stream:
            stream.seek(100)
            stream.write(b"\0\0\0\0")
        assert published.read_bytes() == original
        with open(outdir / "nfxpub-0001-1.0-1.noarch.rpm", "wb") as stream:
            stream.write(original)


def test_packages_dropped_in_by_hand_are_listed(tmp_path: Path, outdir: Path, rpms_other: Path) -> None:
    """As with createrepo_c: the repository is what lies in the folder, wherever the operator put it."""
    repo = tmp_path / "repo"
    publish(outdir, repo)
    by_hand = next(rpms_other.glob("*.x86_64.rpm"))
    shutil.copyfile(by_hand, repo / by_hand.name)
    result = publish(outdir, repo)
    assert result.repodata_written and len(result.unchanged) == 4
    assert "nfxother.x86_64" in primary_names(repo)
    assert "nfxother.src" not in primary_names(repo / "SRPMS")


def test_repodata_is_reproducible(tmp_path: Path, outdir: Path) -> None:
    """The same packages and revision give byte-identical repodata, whatever the clock says."""
    from netnsfix.publish import createrepo as repodata_writer

    repo = tmp_path / "repo"
    publish(outdir, repo)
    packages = list(repodata_writer.load_packages(repo).values())
    first = repodata_writer.build_aside(repo, packages, revision=1354492800)
    before = {path.name: path.read_bytes() for path in first.iterdir()}
    shutil.rmtree(first)
    next_second()
    second = repodata_writer.build_aside(repo, packages, revision=1354492800)
    after = {path.name: path.read_bytes() for path in second.iterdir()}
    shutil.rmtree(second)
    assert before == after


def test_cli_no_sign_publishes_unsigned_and_a_signed_publish_then_refuses(
    tmp_path: Path, outdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    assert main(["publish", str(outdir), "--repo", str(repo), "--no-sign"]) == 0
    captured = capsys.readouterr()
    assert "unsigned (--no-sign): netnsfix.repo says gpgcheck=0" in captured.err
    assert "gpgcheck=0\n" in (repo / "netnsfix.repo").read_text()
    assert not (repo / "RPM-GPG-KEY-netnsfix").exists() and not (tmp_path / "cache" / "publish-key").exists()
    assert main(["publish", str(outdir), "--repo", str(repo)]) == 2  # signed by default: refused
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "holds unsigned packages; a repository is signed from its first publish "
        "(publish into it with --no-sign, or into a new one)"
    )
