"""What Fedora 18's own package tools made, read by netnsfix's stages (no kit needed).

The fixtures in ``tests/fixtures/fedora18-tools/`` were recorded by
``scripts/fidelity/record-fixtures`` with the fidelity kit (``scripts/fidelity/pkgtools``:
rpm 4.10.3.1, createrepo 0.9.9, yum 3.4.3 built from their released tags): the nfxfix
packages (netnsfix's own content) built and signed by rpmbuild/rpmsign 4.10.3.1, an archive
in Fedora 18's layout whose repodata createrepo 0.9.9 wrote (``--database``, a comps group
file, updateinfo by modifyrepo), and what rpm 4.10's ``rpm -Kv`` said of them (``rpm-Kv.txt``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import struct
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rpmkit import build_rpms, make_outdir

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.repodata import load_repo, parse_repomd
from netnsfix.archive.resolve import find_srpm
from netnsfix.archive.signature import GpgCheck, verify_packages
from netnsfix.build.depsolve import solve
from netnsfix.build.roottar import write_tar
from netnsfix.errors import SignatureError
from netnsfix.publish.ownkey import own_key
from netnsfix.publish.repository import publish
from netnsfix.recipe import GpgKey, find_recipe
from netnsfix.rpm.header import read_header
from netnsfix.rpm.payload import read_members
from netnsfix.util.httpserve import serving

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fedora18-tools"
ARCHIVE = FIXTURES / "archive"
KEY = GpgKey((FIXTURES / "RPM-GPG-KEY-nfxfix.fingerprint").read_text().strip(), FIXTURES / "RPM-GPG-KEY-nfxfix")
RELEASE_X86 = "releases/18/Everything/x86_64/os"
UPDATES_X86 = "updates/18/x86_64"
UPDATE_RPM = ARCHIVE / UPDATES_X86 / "Packages/n/nfxfix-1.0-2.fc18.x86_64.rpm"
UPDATE_SRPM = ARCHIVE / "updates/18/SRPMS/Packages/n/nfxfix-1.0-2.fc18.src.rpm"
# The signature header tags rpm 4.10 checks (lib/signature.h at rpm-4.10.3.1-release): SIZE, RSA
# (header-only), SHA1 (header), PGP (header and payload), MD5 (header and payload).
RPM410_SIGNATURE_TAGS = {1000: "SIZE", 268: "RSA", 269: "SHA1", 1002: "PGP", 1004: "MD5"}


def _rpms() -> list[Path]:
    return sorted(ARCHIVE.rglob("*.rpm"))


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    with serving(ARCHIVE) as served:
        yield served.url


@pytest.fixture
def nfxfix_recipe(project_root: Path):
    """The default recipe's archive layout, for the fixture package, trusting the fixture key."""
    recipe = find_recipe(None, project_root)
    return dataclasses.replace(recipe, package="nfxfix", version="1.0", gpg_keys=(KEY,))


def test_createrepo_099_repodata_has_fedora_18s_shape() -> None:
    """The records createrepo 0.9.9 -d -g and modifyrepo wrote, under unique (sha256-named) files."""
    updates = parse_repomd((ARCHIVE / UPDATES_X86 / "repodata/repomd.xml").read_bytes(), "updates")
    assert set(updates.records) == {
        "primary",
        "filelists",
        "other",
        "primary_db",
        "filelists_db",
        "other_db",
        "group",
        "group_gz",
        "updateinfo",
    }
    assert updates.records["primary_db"].href.endswith("-primary.sqlite.bz2")
    text = (ARCHIVE / UPDATES_X86 / "repodata/repomd.xml").read_text()
    assert text.count("<database_version>10</database_version>") == 3
    for record in updates.records.values():
        data = (ARCHIVE / UPDATES_X86 / record.href).read_bytes()
        assert record.checksum_type == "sha256" and hashlib.sha256(data).hexdigest() == record.checksum
        assert Path(record.href).name.startswith(record.checksum)
    source = parse_repomd((ARCHIVE / "updates/18/SRPMS/repodata/repomd.xml").read_bytes(), "SRPMS")
    assert "group" not in source.records and "primary_db" in source.records


def test_resolve_and_fetch_read_createrepo_099s_repodata(nfxfix_recipe, mirror: str, fetcher: Fetcher) -> None:
    resolved = find_srpm(nfxfix_recipe, fetcher, mirror)
    assert resolved.nevra == "nfxfix-1.0-2.fc18.src"  # the update wins over the release's 1.0-1
    assert (resolved.repo, resolved.location) == ("updates/18/SRPMS", "Packages/n/nfxfix-1.0-2.fc18.src.rpm")
    assert resolved.sha256 == hashlib.sha256(UPDATE_SRPM.read_bytes()).hexdigest()
    fetched = fetcher.fetch([resolved.url], resolved.sha256, resolved.size, resolved.file_name)
    assert fetched.read_bytes() == UPDATE_SRPM.read_bytes()


def test_rpmkeys_accepts_rpm_410s_signatures(need_tool) -> None:
    """Debian's rpmkeys (4.18), every digest and signature required, on what rpmsign 4.10 wrote."""
    need_tool("rpmkeys")
    checked = verify_packages(GpgCheck((KEY,), True, "fixture"), [(p.name, p) for p in _rpms()])
    assert checked.packages == 8


def test_rpm_410s_signatures_fail_with_another_key_or_an_altered_payload(
    tmp_path: Path, need_tool, demo_gpgcheck
) -> None:
    need_tool("rpmkeys")
    with pytest.raises(SignatureError, match=r"nfxfix-1\.0-2\.fc18\.x86_64\.rpm: .*"):
        verify_packages(demo_gpgcheck, [(UPDATE_RPM.name, UPDATE_RPM)])
    altered = tmp_path / UPDATE_RPM.name
    data = bytearray(UPDATE_RPM.read_bytes())
    data[-40] ^= 0xFF  # inside the xz payload
    altered.write_bytes(bytes(data))
    with pytest.raises(SignatureError, match=r"nfxfix-1\.0-2\.fc18\.x86_64\.rpm: "):
        verify_packages(GpgCheck((KEY,), True, "fixture"), [(altered.name, altered)])


def test_rpm_410_said_rsa_over_header_and_payload() -> None:
    """rpm-Kv.txt: every package has both RSA signatures OK; altered: BAD; another key: NOKEY."""
    blocks = (FIXTURES / "rpm-Kv.txt").read_text().split("$ rpm ")[1:]
    key_id = KEY.fingerprint[-8:].lower()
    packages, altered, other = blocks[:-2], blocks[-2], blocks[-1]
    assert len(packages) == 8
    for block in packages:
        assert f"\n    Header V4 RSA/SHA256 Signature, key ID {key_id}: OK\n" in block
        assert f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: OK\n" in block  # header + payload
    assert f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: BAD\n" in altered and "MD5 digest: BAD" in altered
    assert f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: NOKEY\n" in other


def test_rpm_410_said_the_same_of_what_netnsfix_publish_signed() -> None:
    """published-rpm-Kv.txt: a package `netnsfix publish` signed, checked by the kit's rpm 4.10:
    the RSA signature over header and payload is there and OK, as on rpmsign 4.10's own."""
    text = (FIXTURES / "published-rpm-Kv.txt").read_text()
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    assert [line.split(":")[0].split(", key ID")[0] for line in lines] == [
        "Header V4 RSA/SHA256 Signature",
        "Header SHA1 digest",
        "V4 RSA/SHA256 Signature",
        "MD5 digest",
    ]
    assert all(line.split(": ")[1].startswith("OK") for line in lines)


def test_header_and_payload_of_rpm_410_packages() -> None:
    srpm = read_header(UPDATE_SRPM)
    assert (srpm.nevra, srpm.is_source, srpm.payload_compressor) == ("nfxfix-1.0-2.fc18.src", True, "xz")
    assert set(srpm.files) >= {"nfxfix-1.0.tar.gz", "nfxfix-2.spec"}
    rpm = read_header(UPDATE_RPM)
    assert (rpm.nevra, rpm.payload_compressor, rpm.files) == ("nfxfix-1.0-2.fc18.x86_64", "xz", ("/usr/sbin/nfxfix",))
    assert "nfxfix-data = 1.0-2.fc18" in rpm.requires
    members = {m.path: (m.mode, m.data.read()) for m in read_members(UPDATE_RPM)}
    mode, script = members["usr/sbin/nfxfix"]
    assert mode & 0o7777 == 0o755 and script.endswith(b"echo nfxfix 1.0\n")


def test_build_root_tar_of_rpm_410_packages() -> None:
    rpms = sorted((ARCHIVE / UPDATES_X86 / "Packages/n").glob("*.rpm"))
    out = io.BytesIO()
    report = write_tar(rpms, out)
    assert report.files >= 3 and not report.unknown_owners
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        script = tar.getmember("usr/sbin/nfxfix")
        assert script.mode & 0o7777 == 0o755 and (script.uname, script.gname) == ("root", "root")
        member = tar.extractfile("usr/share/nfxfix/README")
        assert member is not None and member.read().startswith(b"nfxfix: the data")


def test_depsolve_over_createrepo_099_primary(mirror: str, fetcher: Fetcher) -> None:
    """nfxfix-extra needs /usr/sbin/nfxfix (a file provide in primary), which needs nfxfix-data."""
    repos = [load_repo(fetcher, f"{mirror}/{repo}") for repo in (RELEASE_X86, UPDATES_X86)]
    closure = solve(repos, ["nfxfix-extra"])
    assert sorted(closure.nevras) == [
        "nfxfix-1.0-2.fc18.x86_64",
        "nfxfix-data-1.0-2.fc18.noarch",
        "nfxfix-extra-1.0-2.fc18.noarch",
    ]
    reason = closure.reason_for("nfxfix-1.0-2.fc18.x86_64")
    assert reason is not None and reason.requirement == "/usr/sbin/nfxfix"


def signature_tags(path: Path) -> set[int]:
    """The tags of an RPM's signature header (the lead is 96 bytes; then magic, count, size, index)."""
    with open(path, "rb") as stream:
        stream.seek(96)
        magic, _, count, _ = struct.unpack(">4s4sII", stream.read(16))
        assert magic == b"\x8e\xad\xe8\x01", path
        return {struct.unpack(">IIII", stream.read(16))[0] for _ in range(count)}


def test_publish_signs_as_rpm_410_signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, need_tool) -> None:
    """netnsfix publish (Debian's rpmsign 4.18 with --rpmv3) writes every signature tag rpmsign 4.10
    wrote, the one over header and payload (PGP, 1002) too; Debian's rpmsign without --rpmv3 leaves
    it out (what this check catches). The kit's rpm 4.10 checks a published package for real in
    tests/fidelity; its output is recorded in rpm-Kv.txt's neighbour, published-rpm-Kv.txt."""
    need_tool("rpmsign", "gpg", "rpmbuild")
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    recorded = signature_tags(UPDATE_RPM) & set(RPM410_SIGNATURE_TAGS)
    assert recorded == set(RPM410_SIGNATURE_TAGS)
    unsigned = sorted(build_rpms("nfxsig", 1).glob("nfxsig-1.0-1.x86_64.rpm"))
    assert signature_tags(unsigned[0]) & {268, 1002} == set()
    publish(make_outdir(tmp_path / "out", unsigned), tmp_path / "repo", own_key=True)
    published = tmp_path / "repo" / "Packages/n" / unsigned[0].name
    assert signature_tags(published) & set(RPM410_SIGNATURE_TAGS) == recorded
    key = own_key(tmp_path / "cache")
    header_only = tmp_path / "header-only.rpm"
    shutil.copy(unsigned[0], header_only)
    defines = {"_gpg_name": key.fingerprint, "_gpg_path": str(key.home), "__gpg": shutil.which("gpg") or "gpg"}
    argv = ["rpmsign", "--addsign"] + [
        arg for name, value in defines.items() for arg in ("--define", f"{name} {value}")
    ]
    subprocess.run([*argv, str(header_only)], check=True, capture_output=True)
    assert signature_tags(header_only) & set(RPM410_SIGNATURE_TAGS) == recorded - {1002}
    subprocess.run(["gpgconf", "--homedir", str(key.home), "--kill", "gpg-agent"], check=False)


@pytest.mark.parametrize("rpm", _rpms(), ids=lambda p: p.name)
def test_payload_digests_of_rpm_410_packages_check_out_and_an_altered_one_does_not(rpm: Path, tmp_path: Path) -> None:
    """rpm/digests.py's own check (what publish and fleet export run) on packages rpm 4.10 built and signed:
    no payload digest tag (that came with 4.14), so the signature header's MD5 over header and payload must
    carry it; one payload byte changed must be refused."""
    from netnsfix.errors import NetnsfixError
    from netnsfix.rpm.digests import verify_payload

    checked = verify_payload(rpm).checked
    assert "md5 (header and payload)" in checked and not any(name.startswith("payload") for name in checked), checked
    altered = tmp_path / rpm.name
    data = bytearray(rpm.read_bytes())
    data[-20] ^= 0xFF  # inside the xz payload, past every header
    altered.write_bytes(bytes(data))
    with pytest.raises(NetnsfixError, match=rf"{altered.name}"):
        verify_payload(altered)
