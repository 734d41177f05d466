"""The demo archive's source side: Fedora 18's source repositories, made here from the project's files.

The real archive is out of reach, so the demo and the tests serve a copy with
its layout on 127.0.0.1 (``--mirror``). Its iproute source package is built
with rpmbuild from ``src/netnsfix/demo/`` (tarball, spec, Patch0) the way
Fedora 18's was: ``dist .fc18``, an xz-compressed payload, gzip repodata with
sha256 checksums. Stand-in packages around it make resolution choose: an
older iproute 3.6.0 in the release tree, the newer one in updates (which must
win), a newer version and a package of another name (which must not match).

Layout, as the archive has it: the release tree keeps packages in a folder
named for their first letter (``releases/18/Everything/source/SRPMS/i/...``),
the updates tree is flat (``updates/18/SRPMS/...``). Only these two
repositories are written here; the binary side (``releases/18/Everything/x86_64/os``,
``updates/18/x86_64``) shares the root and is made by its own module.

Every SRPM is signed with the demo's own release key (``demo.signkey``), as
Fedora signs its packages, so the pipeline's signature check runs for real.
Everything is deterministic (fixed mtimes, owner, build time, host and
signature time), built once per content of its inputs and the key into the
cache, then copied into ``dest``; a second call with the same inputs only
checks a stamp.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from netnsfix.archive.layout import RELEASE_SOURCE, SOURCE_REPOS, UPDATES_SOURCE, package_location
from netnsfix.demo.signkey import DemoKey, demo_key
from netnsfix.errors import CommandError
from netnsfix.rpm.header import read_header
from netnsfix.tools.rpmbuild import rpmbuild
from netnsfix.util.command import run
from netnsfix.util.fsutil import atomic_write_text, sha256_file
from netnsfix.util.paths import cache_dir

DEMO_DIR = Path(__file__).resolve().parent
DEMO_SPEC = DEMO_DIR / "iproute.spec"
DEMO_TREE = DEMO_DIR / "iproute2-3.6.0"
DEMO_PATCHES = (DEMO_DIR / "iproute2-3.6.0-demo-version.patch",)
TARBALL_NAME = "iproute2-3.6.0.tar.gz"

# 2012-10-03 12:00 UTC: the demo spec's newest %changelog entry; every mtime and the build time.
DEMO_EPOCH = 1349265600
DIST = ".fc18"
SOURCE_PAYLOAD = "w9.xzdio"  # Fedora 18's payloads: xz, level 9
STAMP = ".netnsfix-demo-source.json"


@dataclass(frozen=True)
class StandIn:
    """A source package with no sources that resolution must weigh (and, for iproute 3.6.0, pass over)."""

    name: str
    version: str
    release: str
    repo: str
    why: str


STAND_INS = (
    StandIn("iproute", "3.6.0", "1", RELEASE_SOURCE, "the release's older 3.6.0: the update must win over it"),
    StandIn("iproute", "3.7.0", "1", UPDATES_SOURCE, "a newer version: the recipe asks for 3.6.0"),
    StandIn("iputils", "20121011", "1", RELEASE_SOURCE, "another name under the same letter folder"),
)


@dataclass(frozen=True)
class DemoPackage:
    nevra: str
    repo: str
    location: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DemoArchive:
    """The archive's root and what resolving iproute 3.6.0 in it must give."""

    root: Path
    key: str  # sha256 of every input
    srpm_name: str  # the winner: iproute-3.6.0-2.fc18.src.rpm
    srpm_sha256: str
    srpm_size: int
    nevra: str
    repo: str
    location: str
    packages: tuple[DemoPackage, ...]  # every SRPM in the archive, the winner first
    key_file: Path  # the public half of the key every package is signed with

    @property
    def srpm_path(self) -> Path:
        return self.root / self.repo / self.location


# -- inputs ------------------------------------------------------------------------


def _tool_version(command: str) -> str:
    return run([command, "--version"], check=False).stdout.strip()


def input_key(key: DemoKey) -> str:
    """sha256 over everything the archive is made from: files, this module, the tools' versions, the key."""
    digest = hashlib.sha256(f"gpg\0{key.fingerprint}\n".encode())
    files = [
        Path(__file__).resolve(),
        DEMO_SPEC,
        *DEMO_PATCHES,
        *sorted(p for p in DEMO_TREE.rglob("*") if p.is_file()),
    ]
    for path in files:
        name = path.relative_to(DEMO_DIR) if path.is_relative_to(DEMO_DIR) else path.name
        digest.update(f"{name}\0{os.access(path, os.X_OK)}\0{sha256_file(path)}\n".encode())
    for command in ("rpmbuild", "createrepo_c"):
        digest.update(f"{command}\0{_tool_version(command)}\n".encode())
    return digest.hexdigest()


# -- building ----------------------------------------------------------------------


def make_tarball(tree: Path, out: Path, top: str | None = None, mtime: int = DEMO_EPOCH) -> None:
    """``tree`` as ``top/...`` in a .tar.gz that is the same bytes every time (sorted, fixed owner and times)."""
    top = top or tree.name
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        paths = [tree, *sorted(tree.rglob("*"), key=lambda p: p.relative_to(tree).as_posix())]
        for path in paths:
            relative = path.relative_to(tree).as_posix()
            info = tar.gettarinfo(os.fspath(path), arcname=top if relative == "." else f"{top}/{relative}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = mtime
            if info.isdir():
                info.mode = 0o755
                tar.addfile(info)
            elif info.isfile():
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                with open(path, "rb") as stream:
                    tar.addfile(info, stream)
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(buffer.getvalue())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(compressed.getvalue())


def build_srpm(spec: Path, sources: Path, out_dir: Path, work: Path) -> Path:
    """``rpmbuild -bs`` the way Fedora 18 did (dist .fc18, xz payload), reproducibly; the SRPM's path.

    ``work`` is rpmbuild's HOME (so no ~/.rpmmacros of the user's applies).
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.fspath(work),  # no ~/.rpmmacros of the user's
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": str(DEMO_EPOCH),
    }
    # Relative folders, run from ``sources``: the header keeps the expanded spec, paths and all,
    # so absolute temporary paths would make every build's bytes differ.
    defines = {
        "_topdir": ".",
        "_sourcedir": ".",
        "_builddir": ".",
        "_srcrpmdir": os.fspath(out_dir.resolve()),
        "dist": DIST,
        "_source_payload": SOURCE_PAYLOAD,
        "use_source_date_epoch_as_buildtime": "1",
        "clamp_mtime_to_source_date_epoch": "1",
        "_buildhost": "netnsfix-demo.fc18",
    }
    before = set(out_dir.glob("*.src.rpm")) if out_dir.exists() else set()
    rpmbuild(["-bs", "--quiet"], spec.resolve(), defines, env=env, cwd=sources, what="rpmbuild")
    made = sorted(set(out_dir.glob("*.src.rpm")) - before)
    if len(made) != 1:
        raise CommandError(f"rpmbuild -bs {spec}: expected one new source RPM in {out_dir}, found {len(made)}")
    return made[0]


def stand_in_spec(stand_in: StandIn) -> str:
    return f"""\
# netnsfix demo archive stand-in: {stand_in.why}.
Name:           {stand_in.name}
Version:        {stand_in.version}
Release:        {stand_in.release}%{{?dist}}
Summary:        Demo archive stand-in for {stand_in.name} {stand_in.version}
License:        Public Domain
Group:          Applications/System

%description
A source package without sources in netnsfix's demo archive: {stand_in.why}.

%prep
echo "netnsfix demo stand-in: nothing to build" >&2
exit 1

%files

%changelog
* Mon Oct 01 2012 Demo Packager <packager@example.invalid> - {stand_in.version}-{stand_in.release}
- Demo archive stand-in
"""


def createrepo(folder: Path) -> None:
    """Repodata as Fedora 18's: gzip-compressed XML and sqlite, sha256, fixed revision and times."""
    run(
        [
            "createrepo_c",
            "--quiet",
            "--general-compress-type=gz",
            "--checksum=sha256",
            "--database",
            f"--revision={DEMO_EPOCH}",
            "--set-timestamp-to-revision",
            "--workers=1",
            os.fspath(folder),
        ]
    )


def _place(srpm: Path, tree: Path, repo: str) -> DemoPackage:
    location = package_location(repo, srpm.name)
    target = tree / repo / location
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(srpm, target)
    os.utime(target, (DEMO_EPOCH, DEMO_EPOCH))
    header = read_header(target)
    return DemoPackage(
        nevra=header.nevra, repo=repo, location=location, sha256=sha256_file(target), size=target.stat().st_size
    )


def _build(tree: Path, work: Path, key: DemoKey) -> list[DemoPackage]:
    sources = work / "SOURCES"
    sources.mkdir(parents=True)
    make_tarball(DEMO_TREE, sources / TARBALL_NAME, DEMO_TREE.name)
    for patch in DEMO_PATCHES:
        shutil.copyfile(patch, sources / patch.name)
    out = work / "SRPMS"
    built = [(build_srpm(DEMO_SPEC, sources, out, work), UPDATES_SOURCE)]
    for stand_in in STAND_INS:
        spec = work / "stand-ins" / f"{stand_in.name}-{stand_in.version}-{stand_in.release}.spec"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(stand_in_spec(stand_in), encoding="utf-8")
        built.append((build_srpm(spec, sources, out, work), stand_in.repo))
    key.sign([srpm for srpm, _ in built], at=DEMO_EPOCH)
    placed = [_place(srpm, tree, repo) for srpm, repo in built]
    for repo in SOURCE_REPOS:
        (tree / repo).mkdir(parents=True, exist_ok=True)
        createrepo(tree / repo)
    return placed


def _archive_of(root: Path, key: str, packages: Sequence[DemoPackage], signer: DemoKey) -> DemoArchive:
    winner = packages[0]
    return DemoArchive(
        root=root,
        key=key,
        srpm_name=winner.location.rsplit("/", 1)[-1],
        srpm_sha256=winner.sha256,
        srpm_size=winner.size,
        nevra=winner.nevra,
        repo=winner.repo,
        location=winner.location,
        packages=tuple(packages),
        key_file=signer.public_file,
    )


def _stamp_text(key: str, packages: Sequence[DemoPackage]) -> str:
    return json.dumps({"key": key, "packages": [asdict(p) for p in packages]}, indent=2) + "\n"


def _read_stamp(path: Path, key: str) -> list[DemoPackage] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return [DemoPackage(**p) for p in data["packages"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _intact(root: Path, packages: Sequence[DemoPackage]) -> bool:
    return all(
        (root / p.repo / p.location).is_file() and sha256_file(root / p.repo / p.location) == p.sha256 for p in packages
    ) and all((root / repo / "repodata" / "repomd.xml").is_file() for repo in SOURCE_REPOS)


def _built(cache: Path, key: str, signer: DemoKey) -> tuple[Path, list[DemoPackage]]:
    """The archive's source trees for ``key`` in the cache, built there first if needed."""
    built = cache / key
    packages = _read_stamp(built / STAMP, key)
    if packages is not None and _intact(built, packages):
        return built, packages
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{key[:12]}.", dir=cache) as scratch:
        tree, work = Path(scratch) / "tree", Path(scratch) / "work"
        packages = _build(tree, work, signer)
        (tree / STAMP).write_text(_stamp_text(key, packages), encoding="utf-8")
        if built.exists():
            shutil.rmtree(built)
        os.replace(tree, built)
    return built, packages


def _replace_tree(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` so that readers see the old tree or the new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent))
    shutil.rmtree(incoming)
    try:
        shutil.copytree(source, incoming)
    except BaseException:  # a copy cut short (disk full, Ctrl-C) is not left beside the archive
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    if target.exists():
        outgoing = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, outgoing / target.name)
        os.replace(incoming, target)
        shutil.rmtree(outgoing)
    else:
        os.replace(incoming, target)


def build_demo_archive(dest: Path, cache: Path | None = None, signer: DemoKey | None = None) -> DemoArchive:
    """Make (or find up to date) the demo archive's source repositories under ``dest``.

    Only ``releases/18/Everything/source/SRPMS`` and ``updates/18/SRPMS`` are
    written; anything else under ``dest`` (the binary side) is left alone.
    The SRPMs are signed with ``signer`` (default: the cached demo key).
    """
    dest = Path(dest).resolve()
    signer = signer or demo_key()
    key = input_key(signer)
    packages = _read_stamp(dest / STAMP, key)
    if packages is not None and _intact(dest, packages):
        return _archive_of(dest, key, packages, signer)
    built, packages = _built(cache or cache_dir() / "demo-archive", key, signer)
    for repo in SOURCE_REPOS:
        _replace_tree(built / repo, dest / repo)
    atomic_write_text(dest / STAMP, _stamp_text(key, packages))
    return _archive_of(dest, key, packages, signer)
