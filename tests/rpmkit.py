"""Small real RPMs for the publish tests and benchmark, built with rpmbuild.

One spec with many subpackages gives hundreds of RPMs from one rpmbuild run;
the results are cached by the spec's content so a second run is free.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from netnsfix.demo.dnfinstall import run_dnf
from netnsfix.manifest import FileRecord, Manifest
from netnsfix.util.command import CommandResult
from netnsfix.util.paths import cache_dir


def spec_text(
    name: str, count: int, version: str = "1.0", release: str = "1", arch_package: bool = True, marker: str = ""
) -> str:
    """A spec whose subpackages ``NAME-0001``... are noarch; ``NAME`` itself is x86_64."""
    lines = [
        f"Name: {name}",
        f"Version: {version}",
        f"Release: {release}",
        f"Summary: netnsfix test package {name}",
        "License: MIT",
        "AutoReqProv: no",
        "%define _binary_payload w1.gzdio",
        "%define _source_payload w1.gzdio",
        "%define debug_package %{nil}",
        "%define __os_install_post %{nil}",
        "%description",
        f"Test package {name}. {marker}",
    ]
    for index in range(1, count + 1):
        sub = f"{name}-{index:04d}"
        lines += [
            f"%package -n {sub}",
            f"Summary: netnsfix test subpackage {sub}",
            "BuildArch: noarch",
            f"%description -n {sub}",
            f"Test subpackage {sub}.",
            f"%files -n {sub}",
            f"/usr/share/{name}/{sub}.txt",
        ]
    lines += [
        "%prep",
        "%build",
        "%install",
        f"mkdir -p %{{buildroot}}/usr/share/{name}",
        f'for i in $(seq -f %04g 1 {count}); do echo "{marker} $i" > %{{buildroot}}/usr/share/{name}/{name}-$i.txt; done'
        if count
        else ":",
    ]
    if arch_package:
        lines += [
            f"echo '{name} {marker}' > %{{buildroot}}/usr/share/{name}/{name}.bin",
            "%files",
            f"/usr/share/{name}/{name}.bin",
        ]
    lines += ["%changelog", "* Mon Dec 03 2012 Test <test@example.org> - 1.0-1", "- Test build."]
    return "\n".join(lines) + "\n"


def build_rpms(
    name: str,
    count: int,
    *,
    version: str = "1.0",
    release: str = "1",
    arch_package: bool = True,
    marker: str = "",
    cache: Path | None = None,
) -> Path:
    """Build (or reuse) the RPMs of :func:`spec_text`; returns a folder of *.rpm and one *.src.rpm."""
    text = spec_text(name, count, version, release, arch_package, marker)
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    base = (cache or cache_dir() / "test-rpms") / f"{name}-{key}"
    done = base / "out"
    if done.is_dir():
        return done
    work = base.with_name(base.name + f".work.{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "SPECS").mkdir(parents=True)
    spec = work / "SPECS" / f"{name}.spec"
    spec.write_text(text)
    subprocess.run(
        ["rpmbuild", "-ba", "--quiet", "--define", f"_topdir {work}", str(spec)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    out = work / "out"
    out.mkdir()
    for path in list((work / "RPMS").rglob("*.rpm")) + list((work / "SRPMS").glob("*.rpm")):
        path.rename(out / path.name)
    base.parent.mkdir(parents=True, exist_ok=True)
    try:
        work.rename(base)
    except OSError:  # another process won the race: use theirs
        shutil.rmtree(work, ignore_errors=True)
    return done


def make_outdir(folder: Path, rpms: list[Path]) -> Path:
    """Copy ``rpms`` into ``folder`` and write its manifest.json, as a build stage would."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for rpm in rpms:
        target = folder / rpm.name
        shutil.copyfile(rpm, target)
        kind = "srpm" if rpm.name.endswith(".src.rpm") else "rpm"
        records.append(FileRecord.of(target, rpm.name, kind))
    (folder / "build.log").write_text("build log\n")
    records.append(FileRecord.of(folder / "build.log", "build.log", "log"))
    Manifest(stage="build", recipe="test", inputs=(), outputs=tuple(records)).write(folder)
    return folder


def dnf(base: Path, *args: str, repo_text: str | None = None, check: bool = True) -> CommandResult:
    """netnsfix.demo.dnfinstall.run_dnf, failing the test with dnf's output unless told not to."""
    run = run_dnf(base, *args, repo_text=repo_text)
    if check and run.returncode != 0:
        raise AssertionError(f"{' '.join(run.argv)} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under FOLDER (except the lock file) with its bytes: 'the repository is unchanged'."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".netnsfix-publish.lock"
    }
