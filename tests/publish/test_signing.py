"""publish --sign: signed RPMs and repomd.xml, the exported key, and dnf's gpgcheck on them."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rpmkit import build_rpms, dnf, make_outdir, snapshot

from netnsfix.errors import PublishError, SigningError
from netnsfix.manifest import read_manifest
from netnsfix.publish.repository import publish
from netnsfix.publish.signing import find_key

USER_ID = "netnsfix test signer <signer@netnsfix.invalid>"


@pytest.fixture(scope="session")
def gnupghome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway RSA key with no passphrase (rpm 4.10-era hosts want RSA) in a private keyring."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            USER_ID,
            "rsa2048",
            "sign",
            "never",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    yield home
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)


@pytest.fixture
def signer(gnupghome: Path, monkeypatch: pytest.MonkeyPatch, need_tool) -> str:
    need_tool("gpg", "rpmsign")
    monkeypatch.setenv("GNUPGHOME", str(gnupghome))
    return find_key(USER_ID).fingerprint


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    return make_outdir(tmp_path / "out", sorted(build_rpms("nfxpub", 2).iterdir()))


def _rpmkeys_checksig(tmp_path: Path, key_file: Path, rpm_path: Path) -> subprocess.CompletedProcess:
    root = tmp_path / "rpmkeys-root"
    root.mkdir(exist_ok=True)
    subprocess.run(["rpmkeys", "--root", str(root), "--import", str(key_file)], check=True, capture_output=True)
    return subprocess.run(
        ["rpmkeys", "--root", str(root), "--checksig", "-v", str(rpm_path)], capture_output=True, text=True
    )


def test_signed_publish(tmp_path: Path, outdir: Path, signer: str) -> None:
    repo = tmp_path / "repo"
    result = publish(outdir, repo, sign_key=USER_ID)
    key_file = repo / "RPM-GPG-KEY-netnsfix"
    assert result.key_file == key_file
    assert key_file.read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    text = result.repo_file.read_text()
    assert "gpgcheck=1" in text and "gpgcheck=0" not in text
    assert f"gpgkey={repo.resolve().as_uri()}/RPM-GPG-KEY-netnsfix" in text
    # every package carries an RSA signature that the exported key alone verifies
    for rpm_path in [*repo.glob("Packages/*/*.rpm"), *repo.glob("SRPMS/Packages/*/*.rpm")]:
        check = _rpmkeys_checksig(tmp_path, key_file, rpm_path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert f"RSA/SHA256 Signature, key ID {signer[-8:].lower()}: OK" in check.stdout
    # repomd.xml.asc: a detached armored signature, checked against the exported key only
    keyring = tmp_path / "exported.gpg"
    subprocess.run(["gpg", "--batch", "--yes", "--dearmor", "-o", str(keyring), str(key_file)], check=True)
    for tree in (repo, repo / "SRPMS"):
        asc = tree / "repodata/repomd.xml.asc"
        assert asc.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
        verified = subprocess.run(
            ["gpgv", "--keyring", str(keyring), str(asc), str(tree / "repodata/repomd.xml")],
            capture_output=True,
            text=True,
        )
        assert verified.returncode == 0, verified.stderr
    # only copies were signed: the build output still matches its manifest
    for record in read_manifest(outdir).outputs:
        assert hashlib.sha256((outdir / record.path).read_bytes()).hexdigest() == record.sha256
    # publishing the same build again changes nothing, although the repository's copies are signed
    before = snapshot(repo)
    again = publish(outdir, repo, sign_key=signer)
    assert len(again.unchanged) == 4 and not again.repodata_written
    assert snapshot(repo) == before


def test_signed_repository_stays_signed(tmp_path: Path, outdir: Path, signer: str) -> None:
    signed = tmp_path / "signed"
    publish(outdir, signed, sign_key=signer)
    before = snapshot(signed)
    with pytest.raises(
        PublishError,
        match=rf"signed.*: its packages are signed \(key {signer[-16:]}.*\); "
        rf"publish with --sign {signer[-16:]}",
    ):
        publish(outdir, signed)
    assert snapshot(signed) == before
    unsigned = tmp_path / "unsigned"
    publish(outdir, unsigned)
    before = snapshot(unsigned)
    with pytest.raises(PublishError, match="holds unsigned packages; a repository is signed from its first publish"):
        publish(outdir, unsigned, sign_key=signer)
    assert snapshot(unsigned) == before


def test_unknown_key_is_one_clear_error(tmp_path: Path, outdir: Path, signer: str) -> None:
    with pytest.raises(SigningError, match=r"nobody@nowhere\.invalid: no secret key of that name in .*gnupg"):
        publish(outdir, tmp_path / "repo", sign_key="nobody@nowhere.invalid")
    assert not (tmp_path / "repo").exists()


@pytest.mark.slow
def test_dnf_gpgcheck_accepts_signed_and_rejects_tampered(tmp_path: Path, outdir: Path, signer: str, need_tool) -> None:
    need_tool("dnf", "createrepo_c")
    repo = tmp_path / "repo"
    publish(outdir, repo, sign_key=signer)
    repo_text = (repo / "netnsfix.repo").read_text()
    assert "gpgcheck=1" in repo_text
    # repo_gpgcheck too: dnf checks repomd.xml.asc against the same key
    strict = repo_text.replace("gpgcheck=1\n", "gpgcheck=1\nrepo_gpgcheck=1\n", 1)
    good = tmp_path / "dnf-good"
    dnf(good, "install", "nfxpub-0001", repo_text=strict)
    assert (good / "root/usr/share/nfxpub/nfxpub-0001.txt").is_file()

    # An attacker who controls the mirror but not the key: edits a signed package's header,
    # then regenerates the repodata so the checksums match again.
    target = repo / "Packages/n/nfxpub-0002-1.0-1.noarch.rpm"
    data = target.read_bytes()
    honest = b"netnsfix test subpackage nfxpub-0002"
    assert honest in data
    target.write_bytes(data.replace(honest, b"netnsfix evil subpackage nfxpub-0002"))
    (repo / "repodata/repomd.xml.asc").unlink()
    subprocess.run(["createrepo_c", "-q", "--excludes", "*.src.rpm", str(repo)], check=True)
    bad = tmp_path / "dnf-bad"
    refused = dnf(bad, "install", "nfxpub-0002", repo_text=repo_text, check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "Error: GPG check FAILED" in output, output
    assert not (bad / "root/usr/share/nfxpub/nfxpub-0002.txt").exists()


def test_a_kept_keyring_signs_for_one_process_at_a_time(tmp_path: Path, outdir: Path, need_tool) -> None:
    """Two signers on one kept keyring (the demo key in the cache: a demo beside a test run, two test
    workers) take turns. The one that finishes stops the keyring's gpg-agent, which cut the other's
    rpmsign short: 11 of 50 signings failed with two processes signing at once before they took turns."""
    need_tool("gpg", "rpmsign")
    import fcntl
    import threading

    from netnsfix.demo.signkey import demo_key

    key = demo_key(tmp_path / "cache")
    package = sorted(outdir.glob("*.noarch.rpm"))[0]
    unsigned = package.read_bytes()
    with open(key.home.parent / ".lock", "w") as held:  # as another process signing with it holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        signing = threading.Thread(target=key.sign, args=([package], 1354536000))
        signing.start()
        signing.join(timeout=1)
        assert signing.is_alive() and package.read_bytes() == unsigned, "signed while the keyring was in use"
    signing.join(timeout=60)
    check = _rpmkeys_checksig(tmp_path, key.public_file, package)
    assert not signing.is_alive() and check.returncode == 0, check.stdout + check.stderr
    assert f"RSA/SHA256 Signature, key ID {key.fingerprint[-8:].lower()}: OK" in check.stdout


def test_a_publish_holds_its_own_kept_keyring_while_it_signs(tmp_path: Path, outdir: Path, need_tool) -> None:
    """Two publishes on one machine (into two repositories: each repository's own lock does not order them)
    share netnsfix's own kept keyring, and the one that finished stopped the gpg-agent under the other's
    rpmsign. So a publish holds the keyring's lock from taking the key until its agent is stopped: while
    it signs, another signer cannot take the keyring."""
    need_tool("gpg", "rpmsign")
    import fcntl

    from netnsfix.publish import ownkey, signing
    from netnsfix.publish.repository import PublishSteps

    cache = tmp_path / "cache"
    lock_file = cache / ownkey.OWN_KEY_FOLDER / ".lock"
    taken_while_signing: list[bool] = []

    def sign_rpms(key: signing.SigningKey, paths: list[Path]) -> None:
        with open(lock_file, "w") as other:  # as another publish's signer would try it
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken_while_signing.append(True)
                fcntl.flock(other, fcntl.LOCK_UN)
            except BlockingIOError:
                taken_while_signing.append(False)
        signing.sign_rpms(key, paths)

    steps = PublishSteps(own_key=lambda: ownkey.own_key(cache), sign_rpms=sign_rpms)
    repo = tmp_path / "repo"
    publish(outdir, repo, own_key=True, steps=steps)
    assert taken_while_signing and not any(taken_while_signing), "another signer could take the keyring meanwhile"
    with open(lock_file, "w") as after:  # and it is free again once the publish is done
        fcntl.flock(after, fcntl.LOCK_EX | fcntl.LOCK_NB)
    signed = sorted(repo.glob("Packages/*/*.rpm"))
    check = _rpmkeys_checksig(tmp_path, repo / "RPM-GPG-KEY-netnsfix", signed[0])
    assert check.returncode == 0 and "Signature, key ID" in check.stdout and ": OK" in check.stdout, check.stdout
