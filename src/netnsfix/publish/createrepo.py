"""Repodata that yum 3.4 (Fedora 18) and dnf both read, written with createrepo_c.

- gzip-compressed primary/filelists/other.xml and the three sqlite databases
  (also gzip), sha256 checksums, checksum-prefixed file names: what the
  classic createrepo wrote and what createrepo_c writes with
  ``--general-compress-type=gz --database``. createrepo_c 1.0's default zstd
  is unreadable for yum 3.4.
- Incremental, like ``createrepo_c --update``: an entry of the old metadata is
  reused when its file is still there with the same size and mtime; only new
  or changed files are read.
- Atomic: the new repodata is built beside the old one (``.repodata.new``)
  and swapped in with one ``renameat2(RENAME_EXCHANGE)``, so a reader sees
  the old repodata or the new one, never a mix; a publish killed before the
  swap leaves the old one untouched. The files the old repomd.xml named are
  kept one more generation, for readers that fetched repomd.xml just before.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from netnsfix.errors import PublishError, RepodataError

REPODATA = "repodata"
ASIDE = ".repodata.new"
OLD = ".repodata.old"
COMPRESSION = cr.GZ_COMPRESSION
CHECKSUM = cr.SHA256
DB_VERSION = 10  # the sqlite schema createrepo and createrepo_c write; yum 3.4 ignores a db of another version

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class OnDisk:
    """An RPM file found under a repository tree: its href (relative path), size and mtime."""

    href: str
    size: int
    mtime: int


def package_from_file(path: Path, href: str) -> cr.Package:
    """Read one RPM's header and sha256 the way createrepo_c does; one line on failure."""
    try:
        return cr.package_from_rpm(str(path), CHECKSUM, href, None, 10)
    except Exception as error:  # noqa: BLE001 - createrepo_c raises a bare CreaterepoCError
        raise PublishError(f"{path}: not a readable RPM ({str(error).strip() or type(error).__name__})") from None


def scan(root: Path, skip: tuple[str, ...] = ()) -> dict[str, OnDisk]:
    """Every *.rpm under ROOT, by href, as createrepo_c finds them: dot entries (a publish's
    temporaries, .repodata.new), repodata/ and the top-level names in ``skip`` are left out."""
    found: dict[str, OnDisk] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith(".") or (folder == root and entry.name in (REPODATA, *skip)):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.name.endswith(".rpm") and entry.is_file():
                stat = entry.stat()
                href = os.path.relpath(entry.path, root)
                found[href] = OnDisk(href, stat.st_size, int(stat.st_mtime))
    return found


def load_packages(root: Path) -> dict[str, cr.Package]:
    """The packages the current repodata lists, by href; empty when there is none or it is unreadable."""
    repomd_path = root / REPODATA / "repomd.xml"
    if not repomd_path.is_file():
        return {}
    try:
        repomd = cr.Repomd(str(repomd_path))
        hrefs = {record.type: root / record.location_href for record in repomd.records}
        by_id: dict[str, cr.Package] = {}

        def keep(pkg: cr.Package) -> None:
            by_id[pkg.pkgId] = pkg

        cr.xml_parse_primary(str(hrefs["primary"]), pkgcb=keep, do_files=False, warningcb=lambda *_: True)
        for kind, parse in (("filelists", cr.xml_parse_filelists), ("other", cr.xml_parse_other)):
            parse(str(hrefs[kind]), newpkgcb=lambda pkg_id, name, arch: by_id.get(pkg_id), warningcb=lambda *_: True)
    except Exception:  # noqa: BLE001 - a broken repodata is rebuilt from the files, as createrepo_c does
        return {}
    return {pkg.location_href: pkg for pkg in by_id.values()}


def reusable(old: dict[str, cr.Package], disk: dict[str, OnDisk]) -> dict[str, cr.Package]:
    """Old entries whose file is unchanged on disk (same size and mtime): createrepo_c --update's rule."""
    kept = {}
    for href, pkg in old.items():
        seen = disk.get(href)
        if seen and seen.size == pkg.size_package and seen.mtime == pkg.time_file and pkg.checksum_type == "sha256":
            kept[href] = pkg
    return kept


def recover(root: Path) -> None:
    """Undo what a killed publish left: a half-built aside folder, or a swap cut in two."""
    repodata, old = root / REPODATA, root / OLD
    if old.exists() and not repodata.exists():
        os.rename(old, repodata)
    for leftover in (root / ASIDE, old):
        if leftover.exists():
            shutil.rmtree(leftover)


def build_aside(root: Path, packages: Sequence[cr.Package], revision: int | None = None) -> Path:
    """Write complete repodata for ``packages`` into ROOT/.repodata.new and return that folder."""
    aside = root / ASIDE
    if aside.exists():
        shutil.rmtree(aside)
    try:
        aside.mkdir(parents=True)
    except OSError as error:
        raise PublishError(f"{aside}: cannot write the new repodata: {error.strerror or error}") from None
    ordered = sorted(packages, key=lambda pkg: pkg.location_href)
    xml_paths = {kind: aside / f"{kind}.xml.gz" for kind in ("primary", "filelists", "other")}
    db_paths = {kind: aside / f"{kind}.sqlite" for kind in ("primary", "filelists", "other")}
    try:
        xmls = {
            "primary": cr.PrimaryXmlFile(str(xml_paths["primary"]), COMPRESSION),
            "filelists": cr.FilelistsXmlFile(str(xml_paths["filelists"]), COMPRESSION),
            "other": cr.OtherXmlFile(str(xml_paths["other"]), COMPRESSION),
        }
        dbs = {
            "primary": cr.PrimarySqlite(str(db_paths["primary"])),
            "filelists": cr.FilelistsSqlite(str(db_paths["filelists"])),
            "other": cr.OtherSqlite(str(db_paths["other"])),
        }
        for xml in xmls.values():
            xml.set_num_of_pkgs(len(ordered))
        for pkg in ordered:
            for kind in ("primary", "filelists", "other"):
                xmls[kind].add_pkg(pkg)
                dbs[kind].add_pkg(pkg)
        records = []
        for kind in ("primary", "filelists", "other"):
            xmls[kind].close()
            record = cr.RepomdRecord(kind, str(xml_paths[kind]))
            record.fill(CHECKSUM)
            dbs[kind].dbinfo_update(record.checksum)
            dbs[kind].close()
            db_record = cr.RepomdRecord(f"{kind}_db", str(db_paths[kind])).compress_and_fill(CHECKSUM, COMPRESSION)
            db_record.db_ver = DB_VERSION
            db_paths[kind].unlink()
            records += [record, db_record]
        # One time for the revision and every record: the same packages and revision give the
        # same repomd.xml bytes (the data files' checksums are already reproducible).
        stamp = revision if revision is not None else int(time.time())
        repomd = cr.Repomd()
        repomd.set_revision(str(stamp))
        for record in records:
            record.rename_file()
            record.set_timestamp(stamp)
            repomd.set_record(record)
        (aside / "repomd.xml").write_text(repomd.xml_dump(), encoding="utf-8")
    except OSError as error:
        raise PublishError(f"{aside}: cannot write the new repodata: {error.strerror or error}") from None
    except Exception as error:  # noqa: BLE001 - createrepo_c's own errors
        raise RepodataError(f"{aside}: createrepo_c failed: {error}") from None
    _retain_previous(root / REPODATA, aside)
    return aside


def _retain_previous(current: Path, aside: Path) -> None:
    """Hard-link the data files the current repomd.xml names into the new folder (one generation)."""
    repomd_path = current / "repomd.xml"
    if not repomd_path.is_file():
        return
    try:
        names = [Path(record.location_href).name for record in cr.Repomd(str(repomd_path)).records]
    except Exception:  # noqa: BLE001 - nothing to keep from an unreadable repomd.xml
        return
    for name in names:
        source, target = current / name, aside / name
        if source.is_file() and not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def swap_in(root: Path, aside: Path) -> None:
    """Make ``aside`` ROOT/repodata atomically, then delete the previous repodata."""
    repodata = root / REPODATA
    try:
        if not repodata.exists():
            os.rename(aside, repodata)
            return
        if _exchange(aside, repodata):
            shutil.rmtree(aside)
            return
        # No RENAME_EXCHANGE on this file system: two renames; recover() mends a cut between them.
        os.rename(repodata, root / OLD)
        os.rename(aside, repodata)
        shutil.rmtree(root / OLD)
    except OSError as error:
        raise PublishError(f"{repodata}: cannot swap in the new repodata: {error.strerror or error}") from None


def metadata_files(root: Path) -> Iterable[tuple[str, Path]]:
    """(type, path) of every file ROOT/repodata/repomd.xml lists (for tests and checks)."""
    repomd = cr.Repomd(str(root / REPODATA / "repomd.xml"))
    for record in repomd.records:
        yield record.type, root / record.location_href
