"""Debian's names, versions and Depends, as the demo archive's RPMs state them (fast, no root)."""

from __future__ import annotations

from pathlib import Path

from netnsfix.demo import dpkgdb
from netnsfix.demo.dpkgdb import DebPackage, DebRelation, canonical, parse_relations
from netnsfix.demo.repackplan import rpm_name, split_version, translate_depends


def _deb(name: str, version: str = "1.0-1", depends: str = "", provides: tuple[str, ...] = ()) -> DebPackage:
    return DebPackage(name, version, "amd64", name, parse_relations(depends), provides, ())


def test_merged_usr_paths_are_canonical() -> None:
    assert canonical("/bin/sh") == "/usr/bin/sh"
    assert canonical("/lib64/ld-linux-x86-64.so.2") == "/usr/lib64/ld-linux-x86-64.so.2"
    assert canonical("/sbin") == "/usr/sbin"
    assert canonical("/binutils/x") == "/binutils/x"
    assert canonical("/usr/bin/env") == "/usr/bin/env"


def test_relations_keep_alternatives_and_drop_architecture_qualifiers() -> None:
    assert parse_relations("libc6 (>= 2.34), perl:any, awk | mawk (<< 2), debconf (>= 0.5) | debconf-2.0") == (
        (DebRelation("libc6", ">=", "2.34"),),
        (DebRelation("perl"),),
        (DebRelation("awk"), DebRelation("mawk", "<<", "2")),
        (DebRelation("debconf", ">=", "0.5"), DebRelation("debconf-2.0")),
    )


def test_versions_lose_what_rpm_refuses_and_keep_the_epoch() -> None:
    assert split_version("2.36-9+deb12u14") == (0, "2.36.9+deb12u14")
    assert split_version("1:2.38.1-5+deb12u3") == (1, "2.38.1.5+deb12u3")
    assert split_version("1.0~rc1-2") == (0, "1.0.rc1.2")


def test_depends_become_requires_with_fedora_names_and_versions_that_still_hold() -> None:
    installed = {
        "libc6": _deb("libc6", "2.36-9+deb12u14"),
        "mawk": _deb("mawk", "1.3.4.20200120-3.1", provides=("awk",)),
        "libtinfo6": _deb("libtinfo6", "6.4-4"),
        "tool": _deb("tool", depends="libc6 (>= 2.34), gawk | awk, libtinfo6 (>= 6.4-5), missing | mawk, tool"),
    }
    assert rpm_name("libc6") == "glibc" and rpm_name("coreutils") == "coreutils"
    # libtinfo6's constraint no longer holds after sanitising (6.4.4 < 6.4.5): kept unversioned.
    assert translate_depends(installed["tool"], installed) == ("glibc >= 2.34", "awk", "libtinfo6", "mawk")


def test_status_and_file_lists_are_read_from_the_root(tmp_path: Path) -> None:
    info = tmp_path / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n"
        "Pre-Depends: libc6 (>= 2.36)\nDepends: base-files (>= 2.1.12)\n"
        "Conffiles:\n /etc/bash.bashrc 89269e12\n /etc/old 0 obsolete\n"
        "Description: GNU Bourne Again SHell\n Bash is ...\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
    )
    (info / "bash.list").write_text("/.\n/bin\n/bin/bash\n/etc/bash.bashrc\n")
    packages = dpkgdb.read_status(tmp_path)
    assert list(packages) == ["bash"]
    bash = packages["bash"]
    assert bash.summary == "GNU Bourne Again SHell" and bash.conffiles == ("/etc/bash.bashrc",)
    assert [group[0].name for group in bash.depends] == ["libc6", "base-files"]
    assert dpkgdb.file_list(tmp_path, bash) == ["/bin", "/bin/bash", "/etc/bash.bashrc"]
