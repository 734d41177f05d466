"""The demo archive's binary side: a debootstrapped Debian repackaged as Fedora 18 RPMs.

The Fedora archive cannot be reached here, yet the build root's bootstrap
(resolve, fetch, unpack, import, register, rpmbuild inside) must run for real.
So a Debian root's files become RPMs -- one per Debian package, built by
Debian's own rpmbuild in a single run so that rpm generates real shared-library
requires and provides from the ELF files -- under Fedora 18's names where a
build root asks for them, in two repositories laid out like the archive's
``releases/18/Everything/x86_64/os`` and ``updates/18/x86_64``. The result is
cached by content; a second call links it from the cache in seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from netnsfix import dpkgdb
from netnsfix.debroot import DebianRoot, ensure_debian_root
from netnsfix.errors import CommandError
from netnsfix.fsutil import atomic_write_text, cache_dir

# Bump when the output changes for the same Debian root (the module's text is hashed too).
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

# Debian package -> the Fedora package that plays its part.
RENAMES: dict[str, str] = {
    "libc6": "glibc",
    "libc6-dev": "glibc-devel",
    "libc-bin": "glibc-common",
    "linux-libc-dev": "kernel-headers",
    "libgcc-s1": "libgcc",
    "libstdc++6": "libstdc++",
    "passwd": "shadow-utils",
    "xz-utils": "xz",
    "liblzma5": "xz-libs",
    "zlib1g": "zlib",
    "libselinux1": "libselinux",
}

# Capabilities Fedora's packages declare by hand (and a build root's packages ask for).
EXTRA_PROVIDES: dict[str, tuple[str, ...]] = {
    "bash": ("/bin/sh",),
    "glibc": ("rtld(GNU_HASH)",),
    "glibc-devel": ("glibc-headers",),
    "debianutils": ("which",),
}
EXTRA_REQUIRES: dict[str, tuple[str, ...]] = {
    "glibc": ("filesystem", "setup"),
    "redhat-rpm-config": ("fedora-release",),
    "rpm-build": (
        "bash", "binutils", "bzip2", "coreutils", "cpio", "diffutils", "file", "findutils",
        "gawk", "grep", "gzip", "patch", "sed", "tar", "unzip", "xz",
    ),
}  # fmt: skip

# Files that Fedora ships in another package than Debian does.
MOVES: dict[str, str] = {
    "/usr/bin/rpmbuild": "rpm-build",
    "/usr/bin/rpmspec": "rpm-build",
    "/usr/bin/gendiff": "rpm-build",
    "/usr/share/man/man8/rpmbuild.8.gz": "rpm-build",
    "/usr/share/man/man8/rpmspec.8.gz": "rpm-build",
    "/usr/share/man/man1/gendiff.1.gz": "rpm-build",
    "/etc/login.defs": "shadow-utils",
}
# dash owns /bin/sh on Debian; on Fedora bash does (a symlink shipped below).
DROPS = frozenset({"/usr/bin/sh"})

# Files dpkg's maintainer scripts and debootstrap made, that no Debian package owns.
SETUP_FILES = (
    "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/subuid", "/etc/subgid",
    "/etc/nsswitch.conf", "/etc/profile", "/etc/environment", "/etc/fstab", "/etc/shells",
    "/etc/inputrc", "/etc/motd", "/etc/security/opasswd", "/etc/pam.d/common-account",
    "/etc/pam.d/common-auth", "/etc/pam.d/common-password", "/etc/pam.d/common-session",
    "/etc/pam.d/common-session-noninteractive", "/root/.bashrc", "/root/.profile",
)  # fmt: skip
GLIBC_FILES = ("/etc/ld.so.cache",)
MERGED_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
# Directories of the root that belong to no build: left out of `filesystem`.
SKIP_DIRS = ("/dev/", "/proc/", "/sys/", "/run/", "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/log/apt")

MACROS_DBPATH = """\
# netnsfix demo: Debian's rpm keeps its database in ~/.rpmdb; a Fedora root keeps it here.
%_dbpath /var/lib/rpm
"""
MACROS_DIST = """\
# Fedora 18's release macros (fedora-release ships these as /etc/rpm/macros.dist).
%fedora 18
%dist .fc18
%fc18 1
"""
REDHAT_README = """\
netnsfix demo archive: redhat-rpm-config

This package stands in for Fedora 18's redhat-rpm-config in the netnsfix demo
archive, whose binaries are a Debian root repackaged as RPMs. It carries no
hardening or build-flag macros: rpmbuild uses the defaults of the rpm it runs.
%dist comes from fedora-release (/etc/rpm/macros.dist), as on Fedora 18.
"""


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


@dataclass(frozen=True)
class Spec:
    """One subpackage of the generated spec: an RPM to be."""

    name: str
    epoch: int
    version: str
    arch: str  # x86_64 or noarch
    summary: str
    debian: str = ""
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # regular files and symlinks, canonical paths
    dirs: tuple[str, ...] = ()
    configs: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Synth:
    """A file the demo writes itself: text content, or a symlink target."""

    path: str
    text: str | None = None
    link: str | None = None
    mode: int = 0o644


SYNTH: dict[str, tuple[Synth, ...]] = {
    "bash": (Synth("/usr/bin/sh", link="bash"),),
    "rpm": (Synth("/usr/lib/rpm/macros.d/macros.dbpath", text=MACROS_DBPATH),),
    "fedora-release": (
        Synth("/etc/fedora-release", text="Fedora release 18 (Spherical Cow)\n"),
        Synth("/etc/system-release", link="fedora-release"),
        Synth("/etc/rpm/macros.dist", text=MACROS_DIST),
    ),
    "redhat-rpm-config": (Synth("/usr/lib/rpm/redhat/README", text=REDHAT_README),),
}


# -- names and versions ---------------------------------------------------------


def rpm_name(debian: str) -> str:
    return RENAMES.get(debian, debian)


def split_version(debian_version: str) -> tuple[int, str]:
    """Debian ``1:2.3-4~b`` -> (1, ``2.3.4.b``): rpm allows no ``-``, ``~`` or ``:`` here."""
    epoch, _, rest = debian_version.rpartition(":")
    return (int(epoch) if epoch.isdigit() else 0), re.sub(r"[^A-Za-z0-9.+]", ".", rest)


def _vercmp(left: tuple[int, str], right: tuple[int, str]) -> int:
    import rpm

    return int(rpm.labelCompare((str(left[0]), left[1], "1"), (str(right[0]), right[1], "1")))


def _holds(op: str, have: tuple[int, str], want: tuple[int, str]) -> bool:
    result = _vercmp(have, want)
    return {"=": result == 0, ">=": result >= 0, "<=": result <= 0, ">>": result > 0, "<<": result < 0}[op]


def translate_depends(package: dpkgdb.DebPackage, installed: dict[str, dpkgdb.DebPackage]) -> tuple[str, ...]:
    """Debian's Depends as rpm Requires: the first alternative present in the root, mapped to
    its rpm name; a version kept only when the sanitised versions still satisfy it."""
    virtual = {name for deb in installed.values() for name in deb.provides}
    requires: list[str] = []
    for group in package.depends:
        for option in group:
            if option.name in installed:
                target = installed[option.name]
                name = rpm_name(option.name)
                if name == rpm_name(package.name):
                    break
                if option.op and option.version:
                    want = split_version(option.version)
                    have = split_version(target.version)
                    if _holds(option.op, have, want):
                        op = {"<<": "<", ">>": ">"}.get(option.op, option.op)
                        evr = f"{want[0]}:{want[1]}" if want[0] else want[1]
                        requires.append(f"{name} {op} {evr}")
                        break
                requires.append(name)
                break
            if option.name in virtual:
                requires.append(option.name)
                break
    return tuple(dict.fromkeys(requires))


# -- who owns what ----------------------------------------------------------------


@dataclass(frozen=True)
class Ownership:
    files: dict[str, str]  # canonical path -> rpm package name (regular files and symlinks)
    dirs: tuple[str, ...]  # directories for `filesystem`
    bin_provides: dict[str, tuple[str, ...]]  # rpm name -> /bin/x, /sbin/x paths Debian listed
    dropped: int  # paths listed twice, under symlinked dirs, or missing


def assign_files(root: Path, installed: dict[str, dpkgdb.DebPackage]) -> Ownership:
    """Give every file and symlink of the root to one rpm package, and no path to two."""
    diversions = dpkgdb.read_diversions(root)
    owners: dict[str, str] = {}
    bin_provides: dict[str, list[str]] = {}
    dropped = 0
    for deb in sorted(installed.values(), key=lambda d: d.name):
        name = rpm_name(deb.name)
        for listed in dpkgdb.file_list(root, deb):
            diverted = diversions.get(listed)
            if diverted and diverted[1] != deb.name:
                listed = diverted[0]
            path = dpkgdb.canonical(listed)
            if path in DROPS:
                dropped += 1
                continue
            host = dpkgdb.inside(root, path)
            try:
                mode = host.lstat().st_mode
            except OSError:
                dropped += 1
                continue
            if stat.S_ISDIR(mode):
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)) or not dpkgdb.real_parent(root, path):
                dropped += 1
                continue
            if path in owners:
                dropped += 1
                continue
            owner = MOVES.get(path, name)
            owners[path] = owner
            if listed != path and listed.startswith(("/bin/", "/sbin/")):
                bin_provides.setdefault(owner, []).append(listed)
    # update-alternatives links go to the package that provides the chosen target.
    for group in dpkgdb.read_alternatives(root):
        for link, alt_name in group.links:
            alt = f"/etc/alternatives/{alt_name}"
            alt_host = dpkgdb.inside(root, alt)
            link_path = dpkgdb.canonical(link)
            if not alt_host.is_symlink() or not dpkgdb.inside(root, link_path).is_symlink():
                continue
            target = dpkgdb.canonical(os.readlink(alt_host))
            owner = owners.get(target)
            if owner and link_path not in owners and alt not in owners:
                owners[link_path] = owner
                owners[alt] = owner
    for path in SETUP_FILES:
        if dpkgdb.inside(root, path).exists() and path not in owners:
            owners[path] = "setup"
    for path in GLIBC_FILES:
        if dpkgdb.inside(root, path).exists() and path not in owners:
            owners[path] = "glibc"
    # Directories: every parent of an owned path, and the root's top two levels.
    dirs: set[str] = set()
    for path in owners:
        parent = os.path.dirname(path)
        while parent != "/" and parent not in dirs:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    for top in root.iterdir():
        candidates = [top, *(top.iterdir() if top.is_dir() and not top.is_symlink() else ())]
        for entry in candidates:
            path = "/" + str(entry.relative_to(root))
            if any(path.startswith(skip) for skip in SKIP_DIRS) or path in MERGED_LINKS:
                continue
            if entry.is_symlink():
                if path not in owners:
                    owners[path] = "filesystem"
            elif entry.is_dir():
                dirs.add(path)
    dirs -= {path for path in owners}
    return Ownership(owners, tuple(sorted(dirs)), {k: tuple(v) for k, v in bin_provides.items()}, dropped)


def plan_specs(root: Path, installed: dict[str, dpkgdb.DebPackage], owned: Ownership) -> list[Spec]:
    """The subpackages: one per Debian package, plus the Fedora pieces made here."""
    by_owner: dict[str, list[str]] = {}
    for path, owner in owned.files.items():
        by_owner.setdefault(owner, []).append(path)
    for owner, synths in SYNTH.items():
        by_owner.setdefault(owner, []).extend(s.path for s in synths)
    by_owner.setdefault("filesystem", []).extend(MERGED_LINKS)
    specs: list[Spec] = []
    debs_by_rpm = {rpm_name(d.name): d for d in installed.values()}
    for name, deb in sorted(debs_by_rpm.items()):
        epoch, version = split_version(deb.version)
        provides = [p for p in deb.provides if p not in debs_by_rpm]
        provides += EXTRA_PROVIDES.get(name, ()) + owned.bin_provides.get(name, ())
        specs.append(
            Spec(
                name=name,
                epoch=epoch,
                version=version,
                arch="noarch" if deb.arch == "all" else "x86_64",
                summary=deb.summary,
                debian=deb.name,
                requires=tuple(dict.fromkeys(translate_depends(deb, installed) + EXTRA_REQUIRES.get(name, ()))),
                provides=tuple(dict.fromkeys(provides)),
                files=tuple(sorted(by_owner.get(name, ()))),
                configs=frozenset(deb.conffiles),
            )
        )
    rpm_spec = next(s for s in specs if s.name == "rpm")
    specs.append(
        Spec(
            name="rpm-build",
            epoch=rpm_spec.epoch,
            version=rpm_spec.version,
            arch="x86_64",
            summary="Scripts and executable programs used to build packages",
            debian="rpm",
            requires=(f"rpm = {rpm_spec.version}", *EXTRA_REQUIRES["rpm-build"]),
            provides=owned.bin_provides.get("rpm-build", ()),
            files=tuple(sorted(by_owner.get("rpm-build", ()))),
        )
    )
    specs += [
        Spec("filesystem", 0, "3.1", "x86_64", "The basic directory layout for a Linux system",
             files=tuple(sorted(by_owner["filesystem"])), dirs=owned.dirs),
        Spec("setup", 0, "2.8.57", "noarch", "A set of system configuration and setup files",
             files=tuple(sorted(by_owner.get("setup", ()))),
             configs=frozenset(SETUP_FILES), requires=("filesystem",)),
        Spec("fedora-release", 0, "18", "noarch", "Fedora release files",
             files=tuple(sorted(by_owner["fedora-release"])), provides=("system-release", "system-release(18)"),
             configs=frozenset({"/etc/fedora-release", "/etc/rpm/macros.dist"})),
        Spec("redhat-rpm-config", 0, "9.1.0", "noarch", "Red Hat specific rpm configuration files",
             files=tuple(sorted(by_owner["redhat-rpm-config"])), requires=EXTRA_REQUIRES["redhat-rpm-config"]),
    ]  # fmt: skip
    return specs


# -- staging and rpmbuild -----------------------------------------------------------


def _names(root: Path, filename: str) -> dict[int, str]:
    names = {}
    for line in (root / "etc" / filename).read_text().splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            names.setdefault(int(parts[2]), parts[0])
    return names


def stage(root: Path, stage_dir: Path, specs: Iterable[Spec]) -> None:
    """Copy every packaged path from the root into the build root, with modes, owners, mtimes."""
    synths = {s.path: s for group in SYNTH.values() for s in group}
    for spec in specs:
        for path in spec.dirs:
            src = dpkgdb.inside(root, path)
            dst = dpkgdb.inside(stage_dir, path)
            dst.mkdir(parents=True, exist_ok=True)
            info = src.lstat()
            os.chown(dst, info.st_uid, info.st_gid)
            os.chmod(dst, stat.S_IMODE(info.st_mode))
        for path in spec.files:
            dst = dpkgdb.inside(stage_dir, path)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if path in MERGED_LINKS:
                os.symlink(MERGED_LINKS[path], dst)
                continue
            synth = synths.get(path)
            if synth is not None:
                if synth.link is not None:
                    os.symlink(synth.link, dst)
                else:
                    dst.write_text(synth.text or "")
                    os.chmod(dst, synth.mode)
                continue
            src = dpkgdb.inside(root, path)
            info = src.lstat()
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copyfile(src, dst)
                os.chown(dst, info.st_uid, info.st_gid)
                os.chmod(dst, stat.S_IMODE(info.st_mode))
            os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
            os.lchown(dst, info.st_uid, info.st_gid)


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def _file_line(path: str, users: dict[int, str], groups: dict[int, str], stage_dir: Path, config: bool) -> str:
    info = dpkgdb.inside(stage_dir, path).lstat()
    user = users.get(info.st_uid, "root")
    group = groups.get(info.st_gid, "root")
    quoted = _escape(path)
    if " " in quoted:
        quoted = f'"{quoted}"'
    prefix = f"%attr(-,{user},{group}) "
    if config and stat.S_ISREG(info.st_mode):
        prefix += "%config(noreplace) "
    return prefix + quoted


def write_spec(specs: list[Spec], stage_dir: Path, root: Path, release: str) -> str:
    """One spec, one subpackage per RPM: rpmbuild then builds them all in a single run."""
    users, groups = _names(root, "passwd"), _names(root, "group")
    out = [
        "# Generated by netnsfix.demobinaries: a Debian root repackaged for the demo archive.",
        "Name: netnsfix-demo-debian",
        "Version: 18",
        f"Release: {release}",
        "Summary: The netnsfix demo archive's binary packages",
        "License: Distributable",
        "%description",
        "A Debian root repackaged as RPMs for the netnsfix demo archive.",
        "%install",
        "",
    ]
    for spec in specs:
        out.append(f"%package -n {spec.name}")
        out.append(f"Summary: {_escape(spec.summary)}")
        if spec.epoch:
            out.append(f"Epoch: {spec.epoch}")
        out.append(f"Version: {spec.version}")
        out.append(f"Release: {release}")
        out.append("License: Distributable" + (f" (see /usr/share/doc/{spec.debian}/copyright)" if spec.debian else ""))
        if spec.arch == "noarch":
            out.append("BuildArch: noarch")
        for require in spec.requires:
            out.append(f"Requires: {_escape(require)}")
        for provide in spec.provides:
            out.append(f"Provides: {_escape(provide)}")
        out.append(f"%description -n {spec.name}")
        origin = f"Debian's {spec.debian} package" if spec.debian else "the netnsfix demo"
        out.append(f"{_escape(spec.summary)}. Made from {origin} for the netnsfix demo archive.")
        out.append(f"%files -n {spec.name}")
        for path in spec.dirs:
            info = dpkgdb.inside(stage_dir, path).lstat()
            out.append(f"%dir %attr(-,{users.get(info.st_uid, 'root')},{groups.get(info.st_gid, 'root')}) {_escape(path)}")
        for path in spec.files:
            out.append(_file_line(path, users, groups, stage_dir, path in spec.configs))
        out.append("")
    return "\n".join(out) + "\n"


RPMBUILD_DEFINES = {
    "__spec_install_pre": "%{___build_pre}",  # keep the staged build root
    "__os_install_post": "%{nil}",  # no strip, no compression: files as Debian shipped them
    "__arch_install_post": "%{nil}",
    "debug_package": "%{nil}",
    "_build_id_links": "none",
    "_binaries_in_noarch_packages_terminate_build": "0",
    "_missing_doc_files_terminate_build": "0",
    "_binary_payload": "w2T0.xzdio",  # Fedora 18's payloads are xz
    "_binary_filedigest_algorithm": "8",  # sha256
    "_source_date_epoch_from_changelog": "0",
    # rpm's helper scripts in Python are never run by a build of C packages; no Python here.
    "__requires_exclude": "^/usr/bin/python",
}


def _attr_dir(top: Path) -> Path:
    """Only the ELF and script classifiers: soname and interpreter dependencies, nothing else."""
    attrs = top / "fileattrs"
    attrs.mkdir(parents=True, exist_ok=True)
    (attrs / "elf.attr").write_text("")
    (attrs / "script.attr").write_text("")
    return attrs


def rpmbuild(spec_text: str, top: Path, stage_dir: Path, *, check_files: bool = True) -> list[Path]:
    """Run ``rpmbuild -bb`` on ``spec_text`` with ``stage_dir`` as the build root."""
    top.mkdir(parents=True, exist_ok=True)
    spec_path = top / "demo.spec"
    spec_path.write_text(spec_text)
    defines = dict(RPMBUILD_DEFINES)
    defines["_topdir"] = str(top)
    defines["_fileattrsdir"] = str(_attr_dir(top))
    defines["_unpackaged_files_terminate_build"] = "1" if check_files else "0"
    command = ["rpmbuild", "-bb", "--quiet", "--noclean", "--buildroot", str(stage_dir)]
    for key, value in defines.items():
        command += ["--define", f"{key} {value}"]
    command.append(str(spec_path))
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise CommandError("rpmbuild: not installed (apt-get install rpm)") from None
    if result.returncode != 0:
        (top / "rpmbuild.log").write_text(result.stdout + result.stderr)
        lines = [line for line in result.stderr.splitlines() if "error" in line.lower()] or result.stderr.splitlines()
        raise CommandError(f"rpmbuild of {spec_path} failed (exit {result.returncode}): {(lines or ['no output'])[0]}")
    return sorted((top / "RPMS").rglob("*.rpm"))


def _query(rpm_path: Path) -> tuple[str, int, str, str, str]:
    import rpm

    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)  # type: ignore[attr-defined]
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
    command = ["createrepo_c", "--quiet", "--database", "--checksum", "sha256", "--general-compress-type", "gz", str(repo)]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise CommandError("createrepo_c: not installed (apt-get install createrepo-c)") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CommandError(f"createrepo_c {repo} failed (exit {result.returncode}): {tail[0]}")


# -- the whole build, cached -------------------------------------------------------------


def cache_key(debian: DebianRoot) -> str:
    source = Path(__file__).read_bytes() + Path(dpkgdb.__file__).read_bytes()
    data = json.dumps([FORMAT_VERSION, debian.key, hashlib.sha256(source).hexdigest()]).encode()
    return hashlib.sha256(data).hexdigest()[:16]


UPDATED_PACKAGE = "patch"  # rebuilt with a higher release into updates/


def build_into(debian: DebianRoot, out: Path, work: Path) -> list[DemoPackage]:
    """Build both repositories from ``debian`` into ``out`` (using ``work`` as scratch)."""
    installed = dpkgdb.read_status(debian.path)
    owned = assign_files(debian.path, installed)
    specs = plan_specs(debian.path, installed, owned)
    stage_dir = work / "stage"
    stage(debian.path, stage_dir, specs)
    debian_of = {s.name: s.debian for s in specs}
    release_spec = write_spec(specs, stage_dir, debian.path, "1" + DIST)
    updates_spec = write_spec([s for s in specs if s.name == UPDATED_PACKAGE], stage_dir, debian.path, "2" + DIST)
    rpms = rpmbuild(release_spec, work / "release", stage_dir)
    packages = file_into_repo(rpms, out / RELEASE_PATH, "release", debian_of)
    rpms = rpmbuild(updates_spec, work / "updates", stage_dir, check_files=False)
    packages += file_into_repo(rpms, out / UPDATES_PATH, "updates", debian_of)
    createrepo(out / RELEASE_PATH)
    createrepo(out / UPDATES_PATH)
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


def build_demo_binary_repo(dest: Path, *, cache: Path | None = None) -> BinaryRepo:
    """Write the demo archive's x86_64 release and updates repositories under ``dest``.

    The first call debootstraps (cached by debroot) and builds, a few minutes;
    later calls with the same inputs link the cached result in seconds.
    """
    debian = ensure_debian_root(DEBIAN_INCLUDE, cache=cache)
    key = cache_key(debian)
    base = (cache or cache_dir()) / "demo-binaries"
    base.mkdir(parents=True, exist_ok=True)
    final = base / key
    with open(base / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / "packages.json").exists():
            work = base / f".{key}.partial"
            shutil.rmtree(work, ignore_errors=True)
            started = time.monotonic()
            try:
                packages = build_into(debian, work / "out", work / "scratch")
                atomic_write_text(work / "out" / "build.json", json.dumps({"seconds": round(time.monotonic() - started, 1)}))
                atomic_write_text(work / "out" / "packages.json", json.dumps([p.__dict__ for p in packages], indent=1))
                (work / "out").rename(final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    packages = _load_packages(final / "packages.json")
    for relative in (RELEASE_PATH, UPDATES_PATH):
        shutil.rmtree(dest / relative, ignore_errors=True)
        _link_tree(final / relative, dest / relative)
    return BinaryRepo(root=dest, repo=dest / RELEASE_PATH, updates=dest / UPDATES_PATH, packages=packages, key=key)
