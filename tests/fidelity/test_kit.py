"""What netnsfix publishes, checked by Fedora 18's own rpm 4.10.3.1 and installed by its yum 3.4.3.

The kit (``scripts/fidelity/pkgtools``) is built from the tools' released tags; these tests
run only where it is (``conftest.py``). rpm runs on private ``--dbpath``/``--root`` folders only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fidelitykit import KIT
from rpmkit import build_rpms, make_outdir

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "fedora18-tools"
OTHER_KEY = FIXTURES / "RPM-GPG-KEY-nfxfix"  # a key that did not sign what publish signs


def _publish(tmp_path: Path, rpms: list[Path]) -> Path:
    """`netnsfix publish` as a user runs it: signed by default, with netnsfix's own key."""
    outdir = make_outdir(tmp_path / "out", rpms)
    env = {**os.environ, "NETNSFIX_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "netnsfix", "publish", str(outdir), "--repo", str(tmp_path / "repo")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "signed; public key:" in done.stdout
    return tmp_path / "repo"


def _rpm410_k(dbpath: Path, key: Path, rpm: Path) -> subprocess.CompletedProcess[str]:
    if not dbpath.exists():
        subprocess.run([KIT / "bin" / "rpm", "--dbpath", dbpath, "--initdb"], check=True)
        subprocess.run([KIT / "bin" / "rpmkeys", "--dbpath", dbpath, "--import", key], check=True)
    return subprocess.run(
        [KIT / "bin" / "rpm", "--dbpath", dbpath, "-Kv", rpm], capture_output=True, text=True, check=False
    )


def test_rpm_410_checks_rsa_over_header_and_payload_of_a_published_package(tmp_path: Path) -> None:
    rpm = sorted(build_rpms("nfxsig", 1).glob("nfxsig-1.0-1.x86_64.rpm"))
    repo = _publish(tmp_path, rpm)
    published = repo / "Packages/n" / rpm[0].name
    key = repo / "RPM-GPG-KEY-netnsfix"
    good = _rpm410_k(tmp_path / "db", key, published)
    key_id = good.stdout.split("key ID ")[1][:8]
    assert good.returncode == 0, good.stdout
    assert f"    Header V4 RSA/SHA256 Signature, key ID {key_id}: OK\n" in good.stdout
    assert f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: OK\n" in good.stdout  # header and payload
    altered = tmp_path / "altered.rpm"
    data = bytearray(published.read_bytes())
    data[-40] ^= 0xFF
    altered.write_bytes(bytes(data))
    bad = _rpm410_k(tmp_path / "db", key, altered)
    assert bad.returncode == 1 and f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: BAD\n" in bad.stdout
    other = _rpm410_k(tmp_path / "other", OTHER_KEY, published)
    assert other.returncode == 1 and f"\n    V4 RSA/SHA256 Signature, key ID {key_id}: NOKEY\n" in other.stdout


def _yum_install(repo: Path, nevra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ROOT / "scripts" / "fidelity" / "yum-install", "--kit", KIT, repo, nevra],
        capture_output=True,
        text=True,
        check=False,
    )


def test_yum_343_installs_the_exact_nevra_with_gpgcheck(tmp_path: Path) -> None:
    rpms = sorted((FIXTURES / "archive/updates/18/x86_64/Packages/n").glob("*.rpm"))
    repo = _publish(tmp_path, rpms)
    done = _yum_install(repo, "nfxfix-1.0-2.fc18.x86_64")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Importing GPG key 0x" in done.stdout and "Complete!" in done.stdout
    assert "$ rpm --root ROOT -q nfxfix-1.0-2.fc18.x86_64\nnfxfix-1.0-2.fc18.x86_64\n" in done.stdout
    assert done.stdout.endswith("rpm -V clean\n")
    # the same repository whose key file holds another key: yum imports it and refuses the packages
    shutil.copy(OTHER_KEY, repo / "RPM-GPG-KEY-netnsfix")
    refused = _yum_install(repo, "nfxfix-1.0-2.fc18.x86_64")
    assert refused.returncode != 0
    assert "Public key for nfxfix-1.0-2.fc18.x86_64.rpm is not installed" in refused.stdout
    assert "Complete!" not in refused.stdout
    assert "rpm -V clean" not in refused.stdout


@pytest.mark.parametrize("nevra", ["nfxfix-1.0-1.fc18.x86_64"])
def test_yum_343_finds_no_other_nevra(tmp_path: Path, nevra: str) -> None:
    """Only the repository's own packages: a NEVRA it does not hold is not installed from anywhere."""
    rpms = sorted((FIXTURES / "archive/updates/18/x86_64/Packages/n").glob("*.rpm"))
    done = _yum_install(_publish(tmp_path, rpms), nevra)
    assert done.returncode != 0 and "Complete!" not in done.stdout
    assert f"No package {nevra} available." in done.stdout
