"""Plan how a Debian root becomes Fedora-named RPMs: names, versions, requires, who owns what.

A Fedora 18 build root asks for Fedora's names (glibc, shadow-utils, rpm-build,
filesystem, setup ...), Fedora's file provides (/bin/sh after UsrMove) and a
root where no path belongs to two packages. This module decides all that from
the Debian root's dpkg database; multispec then builds what it planned.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from netnsfix.demo import dpkgdb
from netnsfix.demo.specset import Spec, Synth

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
    "gcc": ("glibc-devel",),  # Debian only recommends libc6-dev; Fedora's gcc requires it
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
# Fedora's modes where the engine mounts over a directory (rpm -V compares the mount point).
DIR_MODES = {"/proc": 0o555, "/sys": 0o555}
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


SYNTH: dict[str, tuple[Synth, ...]] = {
    "bash": (Synth("/usr/bin/sh", link="bash"),),
    "rpm": (Synth("/usr/lib/rpm/macros.d/macros.dbpath", text=MACROS_DBPATH),),
    "fedora-release": (
        Synth("/etc/fedora-release", text="Fedora release 18 (Spherical Cow)\n"),
        Synth("/etc/system-release", link="fedora-release"),
        Synth("/etc/rpm/macros.dist", text=MACROS_DIST),
    ),
    "redhat-rpm-config": (Synth("/usr/lib/rpm/redhat/README", text=REDHAT_README),),
    "filesystem": tuple(Synth(path, link=target) for path, target in MERGED_LINKS.items()),
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


def _left_out(path: str, is_link: bool) -> bool:
    """Translations and documentation (80 MB of the root) are no use in a build root;
    licences stay, as tsflags=nodocs keeps them on Fedora."""
    if path.startswith("/usr/share/locale/"):
        return True
    if path.startswith("/usr/share/doc/"):
        return not (is_link or path.endswith("/copyright"))
    return False


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
            if path in owners or _left_out(path, stat.S_ISLNK(mode)):
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
            chosen = owners.get(target)
            if chosen and link_path not in owners and alt not in owners:
                owners[link_path] = chosen
                owners[alt] = chosen
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
                synths=SYNTH.get(name, ()),
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
             files=tuple(sorted(by_owner["filesystem"])), dirs=owned.dirs,
             synths=SYNTH["filesystem"], dir_modes=tuple(DIR_MODES.items())),
        Spec("setup", 0, "2.8.57", "noarch", "A set of system configuration and setup files",
             files=tuple(sorted(by_owner.get("setup", ()))),
             configs=frozenset(SETUP_FILES), requires=("filesystem",)),
        Spec("fedora-release", 0, "18", "noarch", "Fedora release files",
             files=tuple(sorted(by_owner["fedora-release"])), provides=("system-release", "system-release(18)"),
             configs=frozenset({"/etc/fedora-release", "/etc/rpm/macros.dist"}), synths=SYNTH["fedora-release"]),
        Spec("redhat-rpm-config", 0, "9.1.0", "noarch", "Red Hat specific rpm configuration files",
             files=tuple(sorted(by_owner["redhat-rpm-config"])), requires=EXTRA_REQUIRES["redhat-rpm-config"],
             synths=SYNTH["redhat-rpm-config"]),
    ]  # fmt: skip
    return specs
