"""The demo archive's binary side: a Debian root repackaged as Fedora 18 RPMs.

What matters to the build root's bootstrap: the repositories parse like
Fedora 18's, rpm-build's closure is complete with real soname provides, no two
packages claim one file, and -- the real proof -- the closure unpacked and
imported as an image registers with its own rpm, verifies clean, and builds a
C package as an unprivileged user with the network off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import unavailable

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.archive.repodata import Package, load_repo
from netnsfix.demo import binaries as demobinaries
from netnsfix.demo.binaries import BASE_BUILD_SET, BinaryRepo, build_demo_binary_repo
from netnsfix.util.httpserve import serving

pytestmark = pytest.mark.slow

HELLO_SPEC = r"""
Name: hello
Version: 1.0
Release: 1%{?dist}
Summary: Says hello
License: MIT
BuildRequires: gcc
BuildRequires: make

%description
A C program built inside the demo build root.

%prep
%setup -q -c -T
cat > hello.c <<'EOF'
#include <stdio.h>
int main(void) { puts("hello from the demo build root"); return 0; }
EOF
printf 'hello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $<\n' > Makefile

%build
make CFLAGS="%{optflags}"

%install
install -D -m 0755 hello %{buildroot}%{_bindir}/hello

%files
%{_bindir}/hello
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> BinaryRepo:
    for tool in ("debootstrap", "rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    return build_demo_binary_repo(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="module")
def indexed(repo: BinaryRepo, tmp_path_factory: pytest.TempPathFactory) -> list[Package]:
    """Both repositories' primary, read over HTTP as the build root's resolver reads them."""
    fetcher = Fetcher(cache=Cache(tmp_path_factory.mktemp("fetch-cache")))
    with serving(repo.root) as served:
        release = load_repo(fetcher, f"{served.url}/{demobinaries.RELEASE_PATH}")
        updates = load_repo(fetcher, f"{served.url}/{demobinaries.UPDATES_PATH}")
    return [*release.packages, *updates.packages]


def _newest(packages: list[Package]) -> dict[str, Package]:
    import rpm

    newest: dict[str, Package] = {}
    for package in packages:
        if package.arch not in ("x86_64", "noarch"):
            continue
        held = newest.get(package.name)
        mine = (str(package.epoch), package.version, package.release)
        if held is None or rpm.labelCompare(mine, (str(held.epoch), held.version, held.release)) > 0:
            newest[package.name] = package
    return newest


def closure(packages: list[Package], roots: tuple[str, ...]) -> tuple[dict[str, Package], list[str]]:
    """A tiny resolver: names, provides and file provides; returns the set and what was missing."""
    newest = _newest(packages)
    providers: dict[str, list[str]] = {}
    for package in newest.values():
        for capability in (package.name, *(d.name for d in package.provides), *package.files):
            providers.setdefault(capability, []).append(package.name)
    chosen: dict[str, Package] = {}
    missing: list[str] = []
    todo = list(roots)
    while todo:
        want = todo.pop()
        names = providers.get(want)
        if not names:
            missing.append(want)
            continue
        if any(name in chosen for name in names):
            continue
        package = newest[sorted(names)[0]]
        chosen[package.name] = package
        todo += [d.name for d in package.requires if not d.name.startswith("rpmlib(")]
    return chosen, missing


def test_repositories_are_laid_out_like_fedora_18s(repo: BinaryRepo) -> None:
    assert repo.repo == repo.root / "releases/18/Everything/x86_64/os"
    assert repo.updates == repo.root / "updates/18/x86_64"
    repodata = sorted(p.name for p in (repo.repo / "repodata").iterdir())
    assert any(name.endswith("-primary.xml.gz") for name in repodata)
    assert any(name.endswith("-primary.sqlite.bz2") for name in repodata)
    assert not any(name.endswith(".zst") for name in repodata)
    bash = next(p for p in repo.packages if p.name == "bash")
    assert (repo.repo / bash.location).is_file()
    assert bash.location.startswith("Packages/b/") and bash.release == "1.fc18"


def test_rpm_builds_closure_is_complete_with_real_soname_provides(indexed: list[Package]) -> None:
    chosen, missing = closure(indexed, BASE_BUILD_SET)
    assert missing == []
    assert {"rpm", "rpm-build", "gcc", "make", "bash", "glibc", "filesystem", "setup", "shadow-utils"} <= set(chosen)
    provides = {d.name for d in chosen["glibc"].provides}
    assert "libc.so.6()(64bit)" in provides
    # createrepo keeps only the newest libc.so.6(GLIBC_x) require, as Fedora's primary does.
    bash_requires = {d.name for d in chosen["bash"].requires}
    assert "libtinfo.so.6()(64bit)" in bash_requires
    assert any(name.startswith("libc.so.6(GLIBC_") for name in bash_requires)
    assert "/bin/sh" in {d.name for d in chosen["bash"].provides}
    # rpm-build -> rpm -> librpm: Debian's Depends became Requires, the ELF requires are there too.
    assert "rpm" in {d.name for d in chosen["rpm-build"].requires}
    assert any(d.name.startswith("librpmbuild.so.9") for d in chosen["rpm-build"].requires)
    # The updates repository holds a newer patch, and the newest EVR wins.
    assert chosen["patch"].release == "2.fc18" and "/updates/" in chosen["patch"].url


def test_no_two_packages_claim_one_file(repo: BinaryRepo, tmp_path: Path, need_tool) -> None:
    need_tool("rpm")
    rpms = sorted(str(repo.repo / p.location) for p in repo.packages if p.repo == "release")
    base = ["rpm", "--root", str(tmp_path), "--dbpath", "/rpmdb"]
    subprocess.run([*base, "--initdb"], check=True)
    result = subprocess.run([*base, "-i", "--test", "--nodeps", "--ignoresize", *rpms], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "conflicts with file" not in result.stderr


def test_a_second_call_links_the_cached_repository(repo: BinaryRepo, tmp_path: Path) -> None:
    again = build_demo_binary_repo(tmp_path / "mirror")
    assert again.key == repo.key and again.packages == repo.packages
    bash = next(p for p in again.packages if p.name == "bash")
    assert (again.repo / bash.location).read_bytes() == (repo.repo / bash.location).read_bytes()


@pytest.fixture
def closure_image(
    repo: BinaryRepo, indexed: list[Package], tmp_path: Path, docker_client, need_tool
) -> Iterator[tuple[str, Path]]:
    """rpm-build's closure unpacked with rpm2cpio | cpio and docker-imported; removed afterwards."""
    need_tool("rpm2cpio", "cpio", "tar")
    chosen, missing = closure(indexed, BASE_BUILD_SET)
    assert missing == []
    rootfs = tmp_path / "rootfs"
    pkgs = tmp_path / "pkgs"
    rootfs.mkdir()
    pkgs.mkdir()
    by_location = {p.name: p for p in repo.packages}
    order = sorted(chosen, key=lambda name: (name != "filesystem", name))
    for name in order:
        package = chosen[name]
        local = (repo.updates if "/updates/" in package.url else repo.repo) / package.location
        (pkgs / local.name).symlink_to(local)
        subprocess.run(
            f"rpm2cpio '{local}' | cpio -idmu --quiet",
            shell=True, check=True, cwd=rootfs,
        )  # fmt: skip
        assert by_location[name]
    _owners_from_headers(rootfs, [pkgs / link.name for link in pkgs.iterdir()])
    tarball = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    tag = f"netnsfix-test-demobin-{uuid.uuid4().hex[:12]}"
    docker_client.api.import_image_from_file(str(tarball), repository=tag, tag="latest")
    # Real files for the bind mount (the symlinks point outside it).
    for link in pkgs.iterdir():
        target = link.resolve()
        link.unlink()
        link.write_bytes(target.read_bytes())
    try:
        yield f"{tag}:latest", pkgs
    finally:
        docker_client.images.remove(f"{tag}:latest", force=True)


def _owners_from_headers(rootfs: Path, rpms: list[Path]) -> None:
    """The payload's cpio says uid 0 for every file: owners are the header's names, looked
    up in the root's own /etc/passwd and /etc/group (the setup package's)."""
    users = {line.split(":")[0]: int(line.split(":")[2]) for line in (rootfs / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: int(line.split(":")[2]) for line in (rootfs / "etc/group").read_text().splitlines()}
    query = "[%{FILENAMES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEMODES}\n]"
    for rpm_path in rpms:
        listing = subprocess.run(
            ["rpm", "-qp", "--qf", query, str(rpm_path)], capture_output=True, text=True, check=True
        )
        for line in listing.stdout.splitlines():
            name, user, group, mode = line.split("\t")
            if user == "root" and group == "root":
                continue
            path = rootfs / name.lstrip("/")
            os.lchown(path, users.get(user, 0), groups.get(group, 0))
            if not path.is_symlink():
                os.chmod(path, int(mode) & 0o7777)  # chown cleared setuid/setgid


def _run(container, command: str, user: str = "root") -> tuple[int, str]:
    code, output = container.exec_run(["bash", "-c", command], user=user, demux=False)
    return code, output.decode(errors="replace")


@pytest.mark.engine
def test_the_closure_registers_verifies_and_builds_c_as_a_user_offline(closure_image, docker_client) -> None:
    image, pkgs = closure_image
    container = docker_client.containers.run(
        image,
        ["sleep", "infinity"],
        detach=True,
        name=f"netnsfix-test-demobin-{uuid.uuid4().hex[:12]}",
        network_mode="none",
        volumes={str(pkgs): {"bind": "/pkgs", "mode": "ro"}},
    )
    try:
        code, out = _run(container, "rpm --initdb && rpm -i --justdb --nodeps --noscripts --notriggers /pkgs/*.rpm")
        assert code == 0, out
        code, out = _run(container, "rpm -qa --qf '%{NAME}\\n' | sort")
        names = set(out.split())
        assert {"bash", "rpm", "rpm-build", "gcc", "make", "glibc", "filesystem", "setup"} <= names
        assert len(names) == len(list(pkgs.iterdir()))
        code, out = _run(container, "test -f /var/lib/rpm/rpmdb.sqlite && rpm -V -a")
        assert code == 0, f"rpm -V -a reported:\n{out}"
        code, out = _run(container, "useradd -m builder && id builder")
        assert code == 0, out
        container.put_archive("/home/builder", _tar_of("hello.spec", HELLO_SPEC.encode()))
        code, out = _run(container, "cd ~ && rpmbuild -bb hello.spec", user="builder")
        assert code == 0, out[-4000:]
        code, out = _run(
            container, "rpm -qp --requires ~/rpmbuild/RPMS/x86_64/hello-1.0-1.fc18.x86_64.rpm", user="builder"
        )
        assert code == 0 and "libc.so.6()(64bit)" in out, out
        code, out = _run(
            container,
            "rpm2cpio ~/rpmbuild/RPMS/x86_64/hello-*.rpm | (cd /tmp && cpio -idm --quiet) && /tmp/usr/bin/hello",
            user="builder",
        )
        assert code == 0 and "hello from the demo build root" in out, out
    finally:
        container.remove(force=True)


def _tar_of(name: str, data: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        info.uid = info.gid = 1000
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
