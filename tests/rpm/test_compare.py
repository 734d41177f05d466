"""Two builds of one spec compared field by field, and the settings that make them agree.

Built here by this machine's rpmbuild (Debian's 4.18). The rpm 4.10 path is the
same settings without SOURCE_DATE_EPOCH: only the clamped file times, a fixed
build host and UTC, which is what Fedora 18's rpm can take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from testkit import next_second

from netnsfix.rpm.compare import compare_rpms, payload_sha256
from netnsfix.rpm.header import read_header
from netnsfix.tools.rpmbuild import BUILD_HOST, reproducible_defines, reproducible_env

EPOCH = 1354536000  # Mon Dec 03 2012, noon UTC: the spec's newest %changelog entry

SPEC = """Name: nfxcompare
Version: 1.0
Release: 1
Summary: two builds compared
License: MIT
BuildArch: noarch
%description
Two builds compared.
%install
mkdir -p %{buildroot}/usr/share/nfxcompare
echo same > %{buildroot}/usr/share/nfxcompare/data
DATED
%post
echo installed
%files
/usr/share/nfxcompare
%changelog
* Mon Dec 03 2012 Tester <t@example.invalid> - 1.0-1
- first
"""


def _build(work: Path, defines: dict[str, str], env: dict[str, str], dated: bool = False, text: str = SPEC) -> Path:
    if shutil.which("rpmbuild") is None:
        pytest.skip("rpmbuild is not installed")
    work.mkdir(parents=True)
    spec = work / "nfxcompare.spec"
    spec.write_text(text.replace("DATED", "date +%s.%N > %{buildroot}/usr/share/nfxcompare/when" if dated else ""))
    argv = ["rpmbuild", "-bb", "--define", f"_topdir {work / 'top'}", "--define", "_binary_payload w9.xzdio"]
    for key, value in defines.items():
        argv += ["--define", f"{key} {value}"]
    result = subprocess.run([*argv, str(spec)], capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    (rpm,) = (work / "top" / "RPMS" / "noarch").glob("*.rpm")
    return rpm


@pytest.fixture(scope="module")
def identical(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two builds with SOURCE_DATE_EPOCH, a second apart (the first is also the base the next tests change)."""
    work = tmp_path_factory.mktemp("identical")
    first = _build(work / "a", reproducible_defines(EPOCH, True), reproducible_env(EPOCH))
    next_second()
    return first, _build(work / "b", reproducible_defines(EPOCH, True), reproducible_env(EPOCH))


def _rpm410_env() -> dict[str, str]:
    """What rpm 4.10 sees: no SOURCE_DATE_EPOCH (it would not read it anyway), UTC."""
    env = reproducible_env(EPOCH)
    env.pop("SOURCE_DATE_EPOCH")
    return env


def test_with_source_date_epoch_two_builds_are_identical(identical: tuple[Path, Path]) -> None:
    first, second = identical
    assert compare_rpms(first, second) == []
    assert first.read_bytes() == second.read_bytes()
    header = read_header(first)
    assert header.buildtime == EPOCH and header.buildhost == BUILD_HOST


def test_rpm_4_10_settings_leave_only_the_build_time(tmp_path: Path) -> None:
    """Clamped file times, a fixed host: the payload is identical, BUILDTIME and COOKIE are the clock."""
    first = _build(tmp_path / "a", reproducible_defines(EPOCH, False), _rpm410_env())
    next_second()
    second = _build(tmp_path / "b", reproducible_defines(EPOCH, False), _rpm410_env())
    assert payload_sha256(first) == payload_sha256(second)
    fields = {d.field for d in compare_rpms(first, second)}
    # rpm 4.18 writes no COOKIE into a binary package; rpm 4.10 does ("BUILDHOST BUILDTIME")
    assert "header BUILDTIME" in fields and fields <= {"header BUILDTIME", "header COOKIE"}
    assert {e.mtime for e in read_header(first).entries} == {EPOCH}  # clamped after %install


def test_without_the_clamp_the_file_times_differ(tmp_path: Path) -> None:
    """The check can fail: rpm's own settings give the build's clock to every file."""
    plain = {"_buildhost": BUILD_HOST}
    first = _build(tmp_path / "a", plain, _rpm410_env())
    next_second()
    second = _build(tmp_path / "b", plain, _rpm410_env())
    fields = {d.field for d in compare_rpms(first, second)}
    assert "payload sha256" in fields and "file /usr/share/nfxcompare/data mtime" in fields


def test_a_file_written_with_date_is_named_with_its_field(tmp_path: Path) -> None:
    first = _build(tmp_path / "a", reproducible_defines(EPOCH, True), reproducible_env(EPOCH), dated=True)
    next_second()
    second = _build(tmp_path / "b", reproducible_defines(EPOCH, True), reproducible_env(EPOCH), dated=True)
    found = {d.field: d for d in compare_rpms(first, second)}
    assert "file /usr/share/nfxcompare/when digest" in found and "payload sha256" in found
    assert "file /usr/share/nfxcompare/data digest" not in found
    assert all(d.package == first.name for d in found.values())


def test_scriptlets_and_requires_are_compared(identical: tuple[Path, Path], tmp_path: Path) -> None:
    first = identical[0]
    changed = SPEC.replace("echo installed", "echo installed again").replace("BuildArch:", "Requires: bash\nBuildArch:")
    second = _build(tmp_path / "b", reproducible_defines(EPOCH, True), reproducible_env(EPOCH), text=changed)
    fields = {d.field for d in compare_rpms(first, second)}
    assert "scriptlet POSTIN" in fields and "requires" in fields
