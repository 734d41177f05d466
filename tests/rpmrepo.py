"""Tiny RPM repositories for tests: specs written here, built by rpmbuild, indexed by createrepo_c."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Spec:
    name: str
    version: str = "1.0"
    release: str = "1.fc18"
    arch: str = "noarch"  # noarch, x86_64, i686 (built with --target)
    epoch: int | None = None
    requires: list[str] = field(default_factory=list)
    requires_pre: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    obsoletes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> content
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target
    hardlinks: dict[str, str] = field(default_factory=dict)  # path -> existing path in files
    dirs: list[str] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)  # path -> "0755"
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (user, group)

    def text(self) -> str:
        lines = [
            f"Name: {self.name}",
            f"Version: {self.version}",
            f"Release: {self.release}",
            "Summary: test package",
            "License: MIT",
            "AutoReqProv: no",
        ]
        if self.epoch is not None:
            lines.append(f"Epoch: {self.epoch}")
        if self.arch == "noarch":
            lines.append("BuildArch: noarch")
        lines += [f"Requires: {r}" for r in self.requires]
        lines += [f"Requires(pre): {r}" for r in self.requires_pre]
        lines += [f"Provides: {p}" for p in self.provides]
        lines += [f"Obsoletes: {o}" for o in self.obsoletes]
        lines += [f"Conflicts: {c}" for c in self.conflicts]
        lines += ["%description", "test", "%prep", "%build", "%install"]
        for d in self.dirs:
            lines.append(f"mkdir -p %{{buildroot}}{d}")
        for path, content in self.files.items():
            lines.append(f"mkdir -p %{{buildroot}}$(dirname {path})")
            lines.append(f"printf '%b' '{content}' > %{{buildroot}}{path}")
        for path, target in self.hardlinks.items():
            lines.append(f"ln %{{buildroot}}{target} %{{buildroot}}{path}")
        for path, target in self.symlinks.items():
            lines.append(f"mkdir -p %{{buildroot}}$(dirname {path})")
            lines.append(f"ln -s {target} %{{buildroot}}{path}")
        lines.append("%files")
        for path in [*self.dirs]:
            lines.append(f"%dir {self._attr(path)}{path}")
        for path in [*self.files, *self.hardlinks, *self.symlinks]:
            lines.append(f"{self._attr(path)}{path}")
        lines += ["%changelog", "* Mon Dec 03 2012 Test <t@example.invalid> - 1", "- test"]
        return "\n".join(lines) + "\n"

    def _attr(self, path: str) -> str:
        if path not in self.modes and path not in self.owners:
            return ""
        user, group = self.owners.get(path, ("root", "root"))
        return f"%attr({self.modes.get(path, '-')},{user},{group}) "


def build_rpm(spec: Spec, workdir: Path) -> Path:
    """Build one binary RPM; returns its path."""
    top = workdir / "rpmbuild"
    spec_path = workdir / f"{spec.name}-{spec.version}-{spec.arch}.spec"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(spec.text())
    command = ["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w9.gzdio"]
    if spec.arch != "noarch":
        command += ["--target", spec.arch]
    result = subprocess.run([*command, str(spec_path)], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"rpmbuild {spec_path} failed:\n{result.stderr}")
    found = sorted((top / "RPMS").rglob(f"{spec.name}-{spec.version}-{spec.release}.*.rpm"))
    return found[-1]


def make_repo(specs: list[Spec], repo: Path, workdir: Path) -> Path:
    """Build ``specs`` into ``repo`` (Packages/) and index it with gzip repodata."""
    (repo / "Packages").mkdir(parents=True, exist_ok=True)
    for spec in specs:
        built = build_rpm(spec, workdir)
        shutil.copy2(built, repo / "Packages" / built.name)
    subprocess.run(
        ["createrepo_c", "--quiet", "--general-compress-type=gz", "--no-database", str(repo)],
        check=True,
        capture_output=True,
    )
    return repo
