"""What netnsfix publishes, checked by Fedora 18's own rpm 4.10.3.1 and installed by its yum 3.4.3.

The kit (``scripts/fidelity/pkgtools``) is built from the tools' released tags; these tests
run only where it is (``conftest.py``). On the host rpm runs on private ``--dbpath``/``--root`` folders
only; the role's yum backend runs on a throwaway node (scripts/fidelity/record-yum-role).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fidelitykit import KIT
from rpmkit import build_rpms, make_outdir
from yumrole import problems

from netnsfix.fleet.ansible import base_environment, program

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


EPOCH_SPEC = """Name: nfxep
Epoch: {epoch}
Version: {version}
Release: {release}
Summary: a build with an epoch, for the package module's comparison
License: GPLv2+
BuildArch: noarch
%description
Empty: it only stands in the rpm database.
%files
"""


def _epoch_rpm(top: Path, epoch: int, version: str, release: str) -> Path:
    """An empty noarch nfxep built by the kit's rpmbuild 4.10.3.1 (no Epoch line when it is 0)."""
    top.mkdir(parents=True, exist_ok=True)
    spec = top / f"nfxep-{epoch}-{version}.spec"
    text = EPOCH_SPEC.format(epoch=epoch, version=version, release=release)
    spec.write_text(text if epoch else text.replace(f"Epoch: {epoch}\n", ""))
    (KIT / "var" / "tmp").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [KIT / "bin" / "rpmbuild", "-bb", "--define", f"_topdir {top}", spec], check=True, capture_output=True
    )
    name = f"nfxep-{version}-{release}.noarch.rpm"
    return top / "RPMS" / "noarch" / name


def _package_module(tmp_path: Path, root: Path, nevra: str) -> dict:
    """netnsfix.node.package (backend yum) run by Ansible under the kit's Python 2.7.3 with its rpm on PATH."""
    collections = tmp_path / "collections" / "ansible_collections" / "netnsfix"
    collections.mkdir(parents=True, exist_ok=True)
    if not (collections / "node").exists():
        (collections / "node").symlink_to(ROOT / "src" / "netnsfix" / "collection")
    args = {"root": str(root), "backend": "yum", "name": "nfxep", "nevra": nevra, "repo_file": "[netnsfix]\n"}
    env = base_environment() | {
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
    }
    env["PATH"] = f"{KIT / 'bin'}:{env['PATH']}"
    done = subprocess.run(
        [
            program("ansible"),
            "all",
            "-i",
            "node,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={KIT}/bin/python2.7",
            "-m",
            "netnsfix.node.package",
            "-a",
            json.dumps(args),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(done.stdout)
    return document["plays"][0]["tasks"][0]["hosts"]["node"]


@pytest.mark.slow
def test_a_newer_build_is_told_by_epoch_version_and_release(tmp_path: Path) -> None:
    """The wanted build has epoch 1: an installed 0:2.0-1 is older (its higher version does not count), an
    installed 2:0.5-1 newer, 1:1.0-1 the same; compared by rpm 4.10's own labelCompare under Python 2.7.3.
    Read as epoch 0 with version '1:1.0' (the old parse), 0:2.0-1 was called newer: the first case fails it."""
    top = tmp_path / "rpmbuild"
    cases = {"older": (0, "2.0", "1"), "newer": (2, "0.5", "1"), "same": (1, "1.0", "1")}
    results = {}
    for case, (epoch, version, release) in cases.items():
        rpm = _epoch_rpm(top, epoch, version, release)
        root = tmp_path / case
        for folder in ("etc", "usr"):  # a node's root, as the module checks
            (root / folder).mkdir(parents=True)
        rpm410 = [KIT / "bin" / "rpm", "--root", root]
        subprocess.run([*rpm410, "--initdb"], check=True)
        subprocess.run([*rpm410, "-i", "--justdb", "--nodeps", rpm], check=True, capture_output=True)
        results[case] = _package_module(tmp_path, root, "nfxep-1:1.0-1.noarch")
    older, newer, same = results["older"], results["newer"], results["same"]
    assert not older.get("failed"), older.get("msg")
    assert older["installed"] == ["nfxep-2.0-1.noarch"] and older["differs"] is True, older
    assert newer.get("failed") is True, newer
    assert newer["msg"].endswith(
        "yum install nfxep-1:1.0-1.noarch failed: package nfxep-2:0.5-1.noarch (which is newer than "
        "nfxep-1:1.0-1.noarch) is already installed; nothing was installed"
    ), newer["msg"]
    assert not same.get("failed") and same["installed"] == ["nfxep-1:1.0-1.noarch"] and same["differs"] is False, same


@pytest.mark.slow
@pytest.mark.engine
def test_the_roles_yum_backend_on_a_node_with_yum_343(tmp_path: Path, engine) -> None:
    """scripts/fidelity/record-yum-role run now (a booted node with the kit's yum 3.4.3, rpm 4.10.3.1 and
    Python 2.7.3; netnsfix fleet over SSH; the fixture and the demo repository over HTTP; the must-fail
    cases), its transcript judged as the committed one is in tests/test_yum_role.py."""
    out = tmp_path / "yum-role.txt"
    done = subprocess.run(
        [ROOT / "scripts" / "fidelity" / "record-yum-role", out],
        env={**os.environ, "NETNSFIX_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert problems(out.read_text()) == []
