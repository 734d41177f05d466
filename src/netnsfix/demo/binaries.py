"""The demo archive's binary side: a debootstrapped Debian repackaged as Fedora 18 RPMs.

The Fedora archive cannot be reached here, yet the build root's bootstrap
(resolve, fetch, unpack, import, register, rpmbuild inside) must run for real.
So a Debian root's files become RPMs -- one per Debian package, built by
Debian's own rpmbuild in a single run so that rpm generates real shared-library
requires and provides from the ELF files -- under Fedora 18's names where a
build root asks for them, in two repositories laid out like the archive's
``releases/18/Everything/x86_64/os`` and ``updates/18/x86_64``, each signed
with the demo's release key (``demo.signkey``) before the repodata is
written, as Fedora's are. The result is cached by content and key; a second
call links it from the cache in seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from netnsfix.demo import dpkgdb, repackplan, specset
from netnsfix.demo.signkey import DemoKey, demo_key
from netnsfix.tools.debootstrap import DebianRoot, ensure_debian_root
from netnsfix.util.command import run
from netnsfix.util.fsutil import atomic_write_text
from netnsfix.util.paths import cache_dir
from netnsfix.util.timing import StageTimer

# Bump when the output changes for the same Debian root (the modules' text is hashed too).
FORMAT_VERSION = "1"

RELEASE_PATH = Path("releases/18/Everything/x86_64/os")
UPDATES_PATH = Path("updates/18/x86_64")
DIST = ".fc18"

# What the Debian root is made of: Fedora 18's buildsys-build group (minus gcc-c++),
# plus what rpm-build and useradd need.
DEBIAN_INCLUDE: tuple[str, ...] = (
    "bash", "binutils", "bzip2", "coreutils", "cpio", "debianutils", "diffutils", "file",
    "findutils", "gawk", "gcc", "grep", "gzip", "info", "libc6-dev", "make", "passwd", "patch",
    "rpm", "sed", "tar", "unzip", "util-linux", "xz-utils",
)  # fmt: skip

# The Fedora names a Fedora 18 build root asks for (mock's buildsys-build group) that
# the demo repository answers; the resolver starts its closure from these.
BASE_BUILD_SET: tuple[str, ...] = (
    "bash", "bzip2", "coreutils", "cpio", "diffutils", "fedora-release", "findutils", "gawk",
    "gcc", "grep", "gzip", "info", "make", "patch", "redhat-rpm-config", "rpm-build", "sed",
    "shadow-utils", "tar", "unzip", "util-linux", "which", "xz",
)  # fmt: skip


@dataclass(frozen=True)
class DemoPackage:
    """One RPM of the demo repository."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    location: str  # relative to its repository
    repo: str  # "release" or "updates"
    debian: str = ""  # the Debian package it was made from ("" for synthesised ones)

    @property
    def nevra(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{prefix}{self.version}-{self.release}.{self.arch}"


@dataclass(frozen=True)
class BinaryRepo:
    """The demo binary repositories under ``root`` (the archive's ``pub/archive/fedora/linux``)."""

    root: Path
    repo: Path  # releases/18/Everything/x86_64/os
    updates: Path  # updates/18/x86_64
    packages: tuple[DemoPackage, ...]
    key: str


def _query(rpm_path: Path) -> tuple[str, int, str, str, str]:
    import rpm

    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
    with open(rpm_path, "rb") as stream:
        header = ts.hdrFromFdno(stream.fileno())
    return (
        str(header[rpm.RPMTAG_NAME]),
        int(header[rpm.RPMTAG_EPOCH] or 0),
        str(header[rpm.RPMTAG_VERSION]),
        str(header[rpm.RPMTAG_RELEASE]),
        str(header[rpm.RPMTAG_ARCH]),
    )


def file_into_repo(rpms: list[Path], repo: Path, label: str, debian_of: dict[str, str]) -> list[DemoPackage]:
    """Move RPMs to ``repo/Packages/<first letter>/`` as Fedora's tree lays them out."""
    packages = []
    for path in rpms:
        name, epoch, version, release, arch = _query(path)
        location = f"Packages/{name[0].lower()}/{path.name}"
        target = repo / location
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        packages.append(DemoPackage(name, epoch, version, release, arch, location, label, debian_of.get(name, "")))
    return packages


def createrepo(repo: Path) -> None:
    """gzip XML and sqlite databases with sha256, as Fedora 18's repositories had."""
    command = ["createrepo_c", "--quiet", "--database", "--checksum", "sha256", "--compress-type", "bz2", str(repo)]
    run(command, what=f"createrepo_c {repo}")


# -- the whole build, cached -------------------------------------------------------------


def cache_key(debian: DebianRoot, signer: DemoKey) -> str:
    source = (
        b"".join(Path(m.__file__ or "").read_bytes() for m in (dpkgdb, specset, repackplan))
        + Path(__file__).read_bytes()
    )
    data = json.dumps([FORMAT_VERSION, debian.key, hashlib.sha256(source).hexdigest(), signer.fingerprint]).encode()
    return hashlib.sha256(data).hexdigest()[:16]


UPDATED_PACKAGE = "patch"  # rebuilt with a higher release into updates/
SIGNED_AT = 1349265600  # 2012-10-03 12:00 UTC, as the source side: the same key gives the same bytes


def build_into(
    debian: DebianRoot, out: Path, work: Path, timings: dict[str, float] | None = None, signer: DemoKey | None = None
) -> list[DemoPackage]:
    """Build both repositories from ``debian`` into ``out`` (using ``work`` as scratch), every RPM
    signed with ``signer`` (default: the cached demo key).

    ``timings``, when given, receives each phase's wall time in seconds (for bench/).
    """
    clock = StageTimer()
    installed = dpkgdb.read_status(debian.path)
    owned = repackplan.assign_files(debian.path, installed)
    specs = repackplan.plan_specs(debian.path, installed, owned)
    clock.lap("plan")
    stage_dir = work / "stage"
    specset.stage(debian.path, stage_dir, specs)
    debian_of = {s.name: s.debian for s in specs}
    release_spec = specset.write_spec(specs, stage_dir, debian.path, "1" + DIST)
    updates_spec = specset.write_spec(
        [s for s in specs if s.name == UPDATED_PACKAGE], stage_dir, debian.path, "2" + DIST
    )
    clock.lap("stage")
    release_rpms = specset.rpmbuild(release_spec, work / "release", stage_dir)
    updates_rpms = specset.rpmbuild(updates_spec, work / "updates", stage_dir, check_files=False)
    clock.lap("rpmbuild")
    (signer or demo_key()).sign([*release_rpms, *updates_rpms], at=SIGNED_AT)
    clock.lap("sign")
    packages = file_into_repo(release_rpms, out / RELEASE_PATH, "release", debian_of)
    packages += file_into_repo(updates_rpms, out / UPDATES_PATH, "updates", debian_of)
    createrepo(out / RELEASE_PATH)
    createrepo(out / UPDATES_PATH)
    clock.lap("createrepo")
    if timings is not None:
        timings.update({span.name: round(span.seconds, 2) for span in clock.spans})
    return packages


def _link_tree(src: Path, dest: Path) -> None:
    for folder, _, files in os.walk(src):
        target_dir = dest / Path(folder).relative_to(src)
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(Path(folder) / name, target_dir / name)
            except OSError:
                shutil.copy2(Path(folder) / name, target_dir / name)


def _load_packages(path: Path) -> tuple[DemoPackage, ...]:
    return tuple(DemoPackage(**entry) for entry in json.loads(path.read_text()))


def build_demo_binary_repo(dest: Path, *, cache: Path | None = None, signer: DemoKey | None = None) -> BinaryRepo:
    """Write the demo archive's x86_64 release and updates repositories under ``dest``, signed with
    ``signer`` (default: the cached demo key).

    The first call debootstraps (cached by debroot) and builds, a few minutes;
    later calls with the same inputs link the cached result in seconds.
    """
    debian = ensure_debian_root(DEBIAN_INCLUDE, cache=cache)
    signer = signer or demo_key()
    key = cache_key(debian, signer)
    base = (cache or cache_dir()) / "demo-binaries"
    base.mkdir(parents=True, exist_ok=True)
    final = base / key
    with open(base / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / "packages.json").exists():
            work = base / f".{key}.partial"
            shutil.rmtree(work, ignore_errors=True)
            timings: dict[str, float] = {}
            try:
                built = build_into(debian, work / "out", work / "scratch", timings, signer)
                atomic_write_text(work / "out" / "build.json", json.dumps({"seconds": timings}))
                atomic_write_text(work / "out" / "packages.json", json.dumps([p.__dict__ for p in built], indent=1))
                (work / "out").rename(final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    packages = _load_packages(final / "packages.json")
    for relative in (RELEASE_PATH, UPDATES_PATH):
        shutil.rmtree(dest / relative, ignore_errors=True)
        _link_tree(final / relative, dest / relative)
    return BinaryRepo(root=dest, repo=dest / RELEASE_PATH, updates=dest / UPDATES_PATH, packages=packages, key=key)
