"""GPG signatures checked as yum checks them (gpgcheck=1): rpmkeys against the recipe's keys, before unpacking.

Real tools throughout: the demo archive's SRPM (signed by rpmsign with the
demo key), a second key made by gpg, ``rpmsign --delsign``, and a mirror that
writes its own repodata (createrepo_c) over a package it changed, so the
sha256 checks pass and only the signature can catch it.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.archive.signature import GpgCheck, key_file_check, verify_packages
from netnsfix.cli import main
from netnsfix.errors import SignatureError
from netnsfix.recipe import GpgKey, find_recipe
from netnsfix.source.obtain import obtain_source
from netnsfix.source.request import Request
from netnsfix.source.srpm import build_patched_srpm
from netnsfix.util.httpserve import serving

FEDORA_18 = "7EFB8811DD11E380B679FCEDFF01125CDE7F38BD"
BAD_KINDS = ("unsigned", "other-key", "altered")


@pytest.fixture(scope="module")
def other_signer(tmp_path_factory: pytest.TempPathFactory, demo_signer):
    """A second key, made the way the demo's is: packages signed with it must be refused."""
    from netnsfix.demo.signkey import demo_key

    return demo_key(tmp_path_factory.mktemp("other-key"))


@pytest.fixture(scope="module")
def srpms(demo_archive, demo_signer, other_signer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The archive's iproute SRPM as signed, unsigned, signed by another key, and altered after signing."""
    folder = tmp_path_factory.mktemp("srpms")
    made = {}
    for kind in ("good", *BAD_KINDS):
        made[kind] = folder / kind / demo_archive.srpm_name
        made[kind].parent.mkdir()
        shutil.copyfile(demo_archive.srpm_path, made[kind])
    for kind in ("unsigned", "other-key"):
        subprocess.run(["rpmsign", "--delsign", str(made[kind])], check=True, capture_output=True)
    other_signer.sign([made["other-key"]], at=1349265600)
    data = bytearray(made["altered"].read_bytes())
    data[-200] ^= 0x01  # inside the xz payload, which the signed header's digests cover
    made["altered"].write_bytes(bytes(data))
    return made


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def hostile_mirror(demo_archive, srpms, tmp_path: Path, need_tool):
    """A mirror serving one of ``srpms`` as the update, with repodata it wrote itself to match."""
    need_tool("createrepo_c")

    def serve(kind: str) -> Iterator[str]:
        root = tmp_path / f"mirror-{kind}"
        shutil.copytree(demo_archive.root / "releases", root / "releases")
        updates = root / "updates/18/SRPMS"
        updates.mkdir(parents=True)
        shutil.copyfile(srpms[kind], updates / demo_archive.srpm_name)
        subprocess.run(["createrepo_c", "--quiet", "--general-compress-type=gz", str(updates)], check=True)
        with serving(root) as served:
            yield served.url

    return serve


def _expected(kind: str, demo_signer, other_signer) -> str:
    """The one line each kind must give: the package, what is wrong, and the key."""
    return {
        "unsigned": rf"not signed \(the recipe trusts key {demo_signer.fingerprint[-16:]}\)",
        "other-key": rf"signed with key {other_signer.fingerprint[-8:]}, which the recipe does not trust "
        rf"\(it trusts {demo_signer.fingerprint[-16:]}\)",
        "altered": rf"altered after it was signed by key {demo_signer.fingerprint[-8:]} \(.*digest: BAD\)",
    }[kind]


def test_a_package_signed_by_the_trusted_key_passes(srpms, demo_gpgcheck) -> None:
    checked = verify_packages(demo_gpgcheck, [("good.src.rpm", srpms["good"])])
    assert checked.packages == 1 and checked.seconds < 5


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_package_is_one_line_naming_it_and_the_key(
    kind: str, srpms, demo_gpgcheck, demo_signer, other_signer
) -> None:
    packages = [("good.src.rpm", srpms["good"]), (f"{kind}.src.rpm", srpms[kind])]
    with pytest.raises(SignatureError) as caught:
        verify_packages(demo_gpgcheck, packages)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{kind}.src.rpm: ")
    assert caught.match(_expected(kind, demo_signer, other_signer) + "; nothing of it was unpacked$")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_obtain_refuses_before_unpacking(kind: str, recipe, hostile_mirror, tmp_path: Path) -> None:
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0, backoff=0, timeout=5)
    for url in hostile_mirror(kind):
        with pytest.raises(SignatureError, match=r"^iproute-3\.6\.0-2\.fc18\.src\.rpm: "):
            obtain_source(Request.of(recipe, mirrors=[url], lock=tmp_path / "lock.json"), fetcher, tmp_path / "src")
    assert not (tmp_path / "src").exists()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_srpm_command_exits_non_zero_with_one_line_and_changes_nothing(
    kind: str, hostile_mirror, tmp_path: Path, netnsfix_cache: Path, capsys, demo_signer, other_signer
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("the user's own file\n")
    before = _snapshot(out)
    for url in hostile_mirror(kind):
        argv = ["srpm", "--mirror", url, "--lock", str(tmp_path / "l.json"), "--out", str(out)]
        code = main([*argv, "--gpg-key", str(demo_signer.public_file)])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "iproute-3.6.0-2.fc18.src.rpm: " in lines[0]
    assert _snapshot(out) == before


def test_no_gpgcheck_warns_once_and_proceeds(hostile_mirror, tmp_path: Path, netnsfix_cache: Path, capsys) -> None:
    for url in hostile_mirror("unsigned"):
        argv = ["srpm", "--mirror", url, "--lock", str(tmp_path / "l.json"), "--out", str(tmp_path / "out")]
        code = main([*argv, "--no-gpgcheck"])
    out, err = capsys.readouterr()
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "--no-gpgcheck" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "NOT checked" in warnings[0]
    assert "srpm      " in out


def test_a_result_made_without_the_check_is_not_kept_when_the_check_is_on(
    recipe, hostile_mirror, tmp_path: Path, demo_gpgcheck
) -> None:
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0, backoff=0, timeout=5)
    kwargs = {"lock": tmp_path / "lock.json", "out": tmp_path / "out"}
    for url in hostile_mirror("unsigned"):
        unchecked = Request.of(recipe, mirrors=[url], gpgcheck=GpgCheck.off(), **kwargs)
        made = build_patched_srpm(unchecked, fetcher)
        assert made.srpm.is_file()
        with pytest.raises(SignatureError, match="not signed"):
            build_patched_srpm(Request.of(recipe, mirrors=[url], gpgcheck=demo_gpgcheck, **kwargs), fetcher)


def test_the_real_recipe_trusts_fedora_18s_primary_key_and_refuses_the_demo_archive(
    demo_mirror: str, tmp_path: Path, netnsfix_cache: Path, capsys, demo_signer
) -> None:
    for name in ("iproute-3.6.0-fc18", "iproute-3.6.0-fc18-upstream"):
        (key,) = find_recipe(name).gpg_keys
        assert key.fingerprint == FEDORA_18 and key.file.name == "RPM-GPG-KEY-fedora-18-primary"
        # gpg reads the same fingerprint from the shipped file
        assert key_file_check([key.file]).keys[0].fingerprint == FEDORA_18
    argv = ["srpm", "--mirror", demo_mirror, "--lock", str(tmp_path / "l.json"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        f"iproute-3.6.0-2.fc18.src.rpm: signed with key {demo_signer.fingerprint[-8:]}, which the recipe does not "
        "trust (it trusts FF01125CDE7F38BD); nothing of it was unpacked"
    )
    assert "\n" not in err


def test_key_files_must_be_there_and_be_the_key_named(recipe, srpms, demo_signer, tmp_path: Path) -> None:
    packages = [("good.src.rpm", srpms["good"])]
    missing = GpgCheck((GpgKey(demo_signer.fingerprint, tmp_path / "RPM-GPG-KEY-gone"),))
    with pytest.raises(SignatureError, match=r"RPM-GPG-KEY-gone: missing: .*--no-gpgcheck"):
        verify_packages(missing, packages)
    wrong = GpgCheck((GpgKey(FEDORA_18, demo_signer.public_file),))
    with pytest.raises(SignatureError, match=rf"holds {demo_signer.fingerprint}, not the key {FEDORA_18}"):
        verify_packages(wrong, packages)
    nokeys = GpgCheck.of_recipe(dataclasses.replace(recipe, gpg_keys=()))
    with pytest.raises(SignatureError, match=r"names no GPG key \(\[\[gpg\.keys\]\]\).*--no-gpgcheck$"):
        verify_packages(nokeys, packages)
    garbage = tmp_path / "not-a-key"
    garbage.write_text("hello\n")
    with pytest.raises(SignatureError, match=r"not-a-key: not a public key file"):
        key_file_check([garbage])
    both = tmp_path / "two-keys"
    both.write_bytes(demo_signer.public_file.read_bytes() + recipe_key_bytes())
    with pytest.raises(SignatureError, match=r"two-keys: holds 2 public keys, expected one"):
        key_file_check([both])


def recipe_key_bytes() -> bytes:
    return find_recipe("iproute-3.6.0-fc18").gpg_keys[0].file.read_bytes()


@pytest.mark.parametrize("command", ["srpm", "image", "build", "demo"])
def test_every_command_that_unpacks_the_archive_has_no_gpgcheck(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--no-gpgcheck" in capsys.readouterr().out
