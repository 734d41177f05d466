"""Publish a build folder's RPMs into a yum repository that Fedora 18's yum and dnf read.

``publish()`` is one short function over injected steps (pypa/installer's
_core.py is the model): check every RPM against the build's manifest, plan
what changes, copy the files in (signing the copies), build the new
repodata aside, swap it in. Nothing in the repository is touched until every
input has passed its checks, and the previous repodata stays whole until the
swap.

Layout (Fedora's since release 17; location is in primary.xml, so hosts never
care): binary RPMs in DIR/Packages/<first letter>/, SRPMs in a repository of
their own at DIR/SRPMS (Packages/<first letter>/ and repodata/), so an
install never picks a source package; DIR/netnsfix.repo names both.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import createrepo_c as cr

from netnsfix.errors import NetnsfixError, PublishError
from netnsfix.manifest import MANIFEST_NAME, FileRecord, is_stage_folder, read_manifest
from netnsfix.publish import createrepo, filelock, ownkey, repofile, signing
from netnsfix.rpm.digests import verify_payload
from netnsfix.util.confined import enclosing, open_below, overlap, real_folder_below, unconfined_reason
from netnsfix.util.fsutil import atomic_write_bytes, sha256_file
from netnsfix.util.inputfile import kind_of
from netnsfix.util.paths import cache_dir
from netnsfix.util.timing import StageTimer
from netnsfix.util.urls import repo_url

PACKAGE_KINDS = ("rpm", "srpm")
IN_MEMORY_LIMIT = 16 << 20  # inputs up to this size are read once, checked, and written from memory


def nevra(pkg: cr.Package) -> str:
    epoch = f"{pkg.epoch}:" if pkg.epoch not in (None, "", "0") else ""
    return f"{pkg.name}-{epoch}{pkg.version}-{pkg.release}.{pkg.arch}"


@dataclass(frozen=True, eq=False)
class InputPackage:
    """One RPM of the build folder that matched its manifest record."""

    path: Path
    record: FileRecord
    pkg: cr.Package
    data: bytes | None = None  # the checked bytes (small files), so the repository gets exactly those

    @property
    def nevra(self) -> str:
        return nevra(self.pkg)

    @property
    def is_source(self) -> bool:
        return self.pkg.arch in ("src", "nosrc")

    @property
    def href(self) -> str:
        """Where it lands in its repository: Packages/<first letter>/<n>-<v>-<r>.<arch>.rpm."""
        name = f"{self.pkg.name}-{self.pkg.version}-{self.pkg.release}.{self.pkg.arch}.rpm"
        return f"Packages/{self.pkg.name[0].lower()}/{name}"


@dataclass(frozen=True, eq=False)
class TreePlan:
    """What one repository (DIR, or DIR/SRPMS) keeps, gets and loses in this publish."""

    root: Path
    kept: dict[str, cr.Package]  # href -> package staying as it is
    add: tuple[InputPackage, ...]  # new NEVRAs
    replace: tuple[tuple[InputPackage, str], ...]  # (input, href of the file it replaces)
    unchanged: tuple[InputPackage, ...]
    stale: bool  # repodata differs from the files even without inputs

    @property
    def needs_write(self) -> bool:
        return bool(self.add or self.replace or self.stale)


@dataclass(frozen=True)
class PublishResult:
    """What a publish did; NEVRAs are sorted; timings are (step, seconds) pairs."""

    repo: Path
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    replaced: tuple[str, ...]
    repo_file: Path
    baseurl: str
    key_file: Path | None
    repodata_written: bool
    timings: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class PublishSteps:
    """The seams publish() drives; tests replace one (say, swap_in) to stop a publish midway."""

    read_inputs: Callable[[Path], tuple[InputPackage, ...]] = field(default=lambda outdir: read_inputs(outdir))
    lock: Callable[[Path], AbstractContextManager[Path]] = filelock.locked
    find_key: Callable[[str], signing.SigningKey] = signing.find_key
    own_key: Callable[[], signing.SigningKey] = field(default=lambda: ownkey.own_key())
    sign_rpms: Callable[[signing.SigningKey, list[Path]], None] = signing.sign_rpms
    sign_detached: Callable[[signing.SigningKey, Path], Path] = signing.sign_detached
    build_aside: Callable[[Path, list[cr.Package]], Path] = createrepo.build_aside
    swap_in: Callable[[Path, Path], None] = createrepo.swap_in


def publish(
    outdir: Path,
    repo: Path,
    *,
    sign_key: str | None = None,
    own_key: bool = False,
    replace: bool = False,
    baseurl: str | None = None,
    steps: PublishSteps | None = None,
) -> PublishResult:
    """Publish OUTDIR's RPMs and SRPM into the yum repository REPO (created when missing).

    Signed with the secret key ``sign_key`` names, else with netnsfix's own kept key when
    ``own_key`` (what ``netnsfix publish`` does unless given ``--no-sign``), else not at all.
    """
    steps = steps or PublishSteps()
    clock = StageTimer()
    if baseurl is not None:
        baseurl = repo_url(baseurl, "--baseurl", PublishError)
    check_apart(outdir, repo)
    with clock.stage("check"):
        inputs = steps.read_inputs(outdir)
        _repository_url(repo, baseurl)  # a .repo that hosts must not read is refused before anything is written
        named = steps.find_key(sign_key) if sign_key else None
    with ExitStack() as held:

        def own() -> signing.SigningKey:
            """netnsfix's own key, held for this publish alone: another publish (or a demo) signing with
            the same kept keyring waits, since the one that finishes stops the keyring's gpg-agent."""
            key = steps.own_key()
            if key.home is not None:
                held.enter_context(ownkey.keyring_in_use(key.home))
            return key

        # netnsfix's own key is made (first time) only once the repository is known to be publishable
        signer = (lambda: named) if sign_key or not own_key else own
        return _publish_checked(repo, inputs, signer, bool(sign_key or own_key), replace, baseurl, steps, clock)


def _publish_checked(
    repo: Path,
    inputs: tuple[InputPackage, ...],
    signer: Callable[[], signing.SigningKey | None],
    signs: bool,
    replace: bool,
    baseurl: str | None,
    steps: PublishSteps,
    clock: StageTimer,
) -> PublishResult:
    """The publish proper, once every input has passed its checks: lock, plan, place, repodata, swap."""
    with steps.lock(repo):
        with clock.stage("plan"):
            plans = plan_repository(repo, inputs, replace)
            if signs:
                refuse_signing_unsigned(repo, plans)  # before a key is made for it
            refuse_planted_links(plans)  # likewise: a refused publish makes no key
            key = signer()
            check_signing_state(repo, key, plans)
            url = _repository_url(repo, baseurl)
        placed: list[Placement] = []
        with _undo_on_failure(placed):
            with clock.stage("place"):
                placed += [place(plan, key, steps) for plan in plans if plan.needs_write]
            with clock.stage("repodata"):
                asides = {
                    p.root: steps.build_aside(p.root, list(plan.kept.values()) + list(p.packages))
                    for plan, p in _pairs(plans, placed)
                }
                if key is not None:
                    for aside in asides.values():
                        steps.sign_detached(key, aside / "repomd.xml")
            with clock.stage("swap"):
                key_file = _write_key(repo, key) if key else repo / repofile.KEY_FILE
                for placement in placed:
                    placement.wait()
                    for temporary, final in placement.staged:
                        os.replace(temporary, final)
                    steps.swap_in(placement.root, asides[placement.root])
        _remove_replaced(plans)
        repo_file = repo / repofile.REPO_FILE
        _write_if_changed(repo_file, repofile.render(url, signed=key is not None).encode())
    return PublishResult(
        repo=repo,
        added=tuple(sorted(i.nevra for plan in plans for i in plan.add)),
        unchanged=tuple(sorted(i.nevra for plan in plans for i in plan.unchanged)),
        replaced=tuple(sorted(i.nevra for plan in plans for i, _ in plan.replace)),
        repo_file=repo_file,
        baseurl=url,
        key_file=key_file if key_file.exists() else None,
        repodata_written=bool(placed),
        timings=tuple((span.name, span.seconds) for span in clock.spans),
    )


def check_apart(outdir: Path, repo: Path) -> None:
    """The repository may not be the build folder, hold it, or lie inside it, another stage's folder or the cache:
    publishing would then write into what it reads (or into what another stage keeps)."""
    others = [(outdir, "the build folder"), (cache_dir(), "netnsfix's cache")]
    clash = overlap(repo, others)
    stage = enclosing(repo, MANIFEST_NAME)
    if clash is None and stage is not None and is_stage_folder(stage):
        clash = f"is inside a stage's output folder {stage}"
    if clash is not None:
        raise PublishError(f"--repo {repo}: {clash}; publish into a folder of its own")


def _repository_url(repo: Path, baseurl: str | None) -> str:
    """The baseurl netnsfix.repo gets: --baseurl, else the one the file has (read back strictly), else file://DIR."""
    kept = repofile.read_baseurl(repo / repofile.REPO_FILE)  # checked even with --baseurl: no [evil] is kept
    if baseurl is not None:
        return baseurl
    if kept is not None:
        return repo_url(kept, f"{repo / repofile.REPO_FILE}: baseurl", PublishError)
    return repofile.default_baseurl(repo)


def plan_repository(repo: Path, inputs: tuple[InputPackage, ...], replace: bool) -> list[TreePlan]:
    """Plans for DIR (binary RPMs) and DIR/SRPMS, after mending what a killed publish left."""
    source = repo / repofile.SOURCE_DIR
    for root in (repo, source):
        createrepo.recover(root)
        _remove_temporaries(root)
    return [
        plan_tree(repo, [i for i in inputs if not i.is_source], replace, skip=(repofile.SOURCE_DIR,)),
        plan_tree(source, [i for i in inputs if i.is_source], replace),
    ]


def _pairs(plans: list[TreePlan], placed: list[Placement]) -> list[tuple[TreePlan, Placement]]:
    by_root = {plan.root: plan for plan in plans}
    return [(by_root[placement.root], placement) for placement in placed]


@contextmanager
def _undo_on_failure(placed: list[Placement]) -> Iterator[None]:
    """On any failure before the swap, remove the staged copies and the half-built repodata."""
    try:
        yield
    except BaseException:
        for placement in placed:
            placement.discard()
            shutil.rmtree(placement.root / createrepo.ASIDE, ignore_errors=True)
        raise


def read_inputs(outdir: Path) -> tuple[InputPackage, ...]:
    """Every RPM/SRPM of OUTDIR, each checked against manifest.json (presence, sha256, kind)."""
    if not outdir.is_dir():
        raise PublishError(f"{outdir}: {'not a folder' if outdir.exists() else 'no such build output folder'}")
    try:
        manifest = read_manifest(outdir)
    except NetnsfixError as error:
        raise PublishError(error.subject, error.problem) from error
    manifest_path = outdir / MANIFEST_NAME
    records = {record.path: record for record in manifest.outputs if record.kind in PACKAGE_KINDS}
    on_disk = sorted(
        os.path.relpath(os.path.join(folder, name), outdir)
        for folder, _, names in os.walk(outdir)
        for name in names
        if name.endswith(".rpm")
    )
    for name in on_disk:
        if name not in records:
            raise PublishError(f"{outdir / name}: not listed in {manifest_path}; refusing to publish it")
    if not records:
        raise PublishError(f"{manifest_path}: lists no RPM or SRPM to publish")
    inputs: list[InputPackage] = []
    seen: dict[str, Path] = {}
    for name, record in sorted(records.items()):
        path = _inside(outdir, name, manifest_path)
        try:
            data, actual = _read_checked(path)
        except FileNotFoundError:
            raise PublishError(f"{path}: listed in {manifest_path} but missing") from None
        except OSError as error:
            raise PublishError(f"{path}: listed in {manifest_path}, but {error.strerror or error}") from None
        if actual != record.sha256:
            raise PublishError(f"{path}: sha256 {actual} differs from {manifest_path} ({record.sha256})")
        if data is not None and len(data) != record.size:
            raise PublishError(f"{path}: {len(data)} bytes, but {manifest_path} says {record.size}")
        _readable(path)
        verify_digests(path)
        pkg = createrepo.package_from_file(path, href=name)
        item = InputPackage(path=path, record=record, pkg=pkg, data=data)
        reason = unconfined_reason(item.href)
        if reason is not None or item.href.count("/") != 2:
            raise PublishError(
                f"{path}: its header's name, version, release or arch would place it at {item.href!r}, "
                f"which is not a file name in the repository ({reason or 'a / in a field'})"
            )
        if item.is_source != (record.kind == "srpm"):
            raise PublishError(
                f"{path}: {manifest_path} says {record.kind!r} but the file is "
                f"{'a source' if item.is_source else 'a binary'} package"
            )
        if item.nevra in seen:
            raise PublishError(f"{path}: {item.nevra} is also {seen[item.nevra]}")
        seen[item.nevra] = path
        inputs.append(item)
    return tuple(inputs)


def _inside(outdir: Path, name: str, manifest_path: Path) -> Path:
    """OUTDIR/name, refused when the manifest names anything outside OUTDIR (``..``, absolute, a link out)."""
    path = outdir / name
    if (
        not name
        or name.startswith("/")
        or ".." in name.split("/")
        or not path.resolve().is_relative_to(outdir.resolve())
    ):
        raise PublishError(f"{manifest_path}: output {name!r} is outside {outdir}; refusing to publish it")
    return path


def _readable(path: Path) -> None:
    """Read the header with netnsfix's own reader first, so a corrupt RPM is one line (not librpm's too)."""
    from netnsfix.rpm.header import read_header

    try:
        read_header(path)
    except NetnsfixError as error:
        raise PublishError(path, f"not a readable RPM ({error.problem})") from error


def verify_digests(path: Path) -> None:
    """The package's own digests (payload, header and payload, header) match its bytes: one PublishError if not.

    The manifest's sha256 proves the file is the one listed, not that it is a whole package: an RPM whose
    payload was altered with the manifest updated to match is caught here (see rpm/digests.py)."""
    try:
        verify_payload(path)
    except NetnsfixError as error:
        raise PublishError(f"{error}; refusing to publish it") from error


def _read_checked(path: Path) -> tuple[bytes | None, str]:
    """(bytes, sha256) of a small file in one read; (None, sha256) of a big one. A FIFO, device or folder
    listed as an RPM is refused at once (opened without blocking, checked on the open file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"it is {kind_of(info.st_mode)}, not a file", str(path))
    os.set_blocking(fd, True)
    with open(fd, "rb") as stream:
        if info.st_size > IN_MEMORY_LIMIT:
            return None, sha256_file(path)
        data = stream.read()
    return data, hashlib.sha256(data).hexdigest()


def _copy_checked(item: InputPackage, target: Path, root: Path) -> None:
    """Write the input to ``target``, making sure it is the file the manifest names.

    Small files: the very bytes that were checked. Big ones: streamed and hashed again on
    the way, so a build output changed after the check is caught, not published.
    """
    # a name in the repository, opened below it without following a symlink planted on the way
    fd = open_below(root, os.path.relpath(target, root), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    digest = None
    with open(fd, "wb") as out:
        if item.data is not None:
            out.write(item.data)
        else:
            digest = hashlib.sha256()
            with open(item.path, "rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.utime(out.fileno(), (item.pkg.time_file, item.pkg.time_file))  # the mtime the metadata records
    if digest is not None and digest.hexdigest() != item.record.sha256:
        target.unlink()
        raise PublishError(f"{item.path}: changed while being published (sha256 {digest.hexdigest()})")


def plan_tree(root: Path, inputs: list[InputPackage], replace: bool, skip: tuple[str, ...] = ()) -> TreePlan:
    """Decide per input: add, unchanged, replace, or refuse (same NEVRA, different file).

    The repository is what lies on disk under ROOT (less ``skip``), as for createrepo_c:
    a file dropped in by hand is listed too."""
    old = createrepo.load_packages(root)
    disk = createrepo.scan(root, skip=skip)
    current = createrepo.reusable(old, disk)
    fresh = [href for href in disk if href not in current]
    for href in fresh:  # files added or changed behind publish's back, as createrepo_c --update rereads them
        current[href] = createrepo.package_from_file(root / href, href)
    by_nevra = {nevra(pkg): href for href, pkg in current.items()}
    add: list[InputPackage] = []
    swap: list[tuple[InputPackage, str]] = []
    same: list[InputPackage] = []
    for item in inputs:
        found = by_nevra.get(item.nevra)
        if found is None:
            add.append(item)
        elif _same_package(item, root / found, current[found]):
            same.append(item)
        elif replace:
            swap.append((item, found))
        else:
            raise PublishError(
                f"{item.path}: {item.nevra} is already in {root} as a different file "
                f"({found}); pass --replace to overwrite it"
            )
    kept = {href: pkg for href, pkg in current.items() if href not in {h for _, h in swap}}
    stale = bool(fresh) or set(old) != set(current) or not (root / createrepo.REPODATA / "repomd.xml").is_file()
    return TreePlan(root=root, kept=kept, add=tuple(add), replace=tuple(swap), unchanged=tuple(same), stale=stale)


def _same_package(item: InputPackage, existing_path: Path, existing: cr.Package) -> bool:
    """Same file, or the same header (a signed copy of the same build differs only in its signature)."""
    if existing.pkgId == item.record.sha256:
        return True
    return _header_digest(existing_path) == _header_digest(item.path)


def _header_digest(path: Path) -> str:
    import rpm  # python3-rpm; imported late so the module loads where it is missing

    rpm.setVerbosity(rpm.RPMLOG_CRIT)  # errors become one PublishError, not librpm's lines on stderr too
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    fd = os.open(path, os.O_RDONLY)
    try:
        header = ts.hdrFromFdno(fd)
    except rpm.error as error:
        raise PublishError(f"{path}: not a readable RPM ({error})") from None
    finally:
        os.close(fd)
    return header.format("%{SHA256HEADER}:%{SHA1HEADER}")


def check_signing_state(repo: Path, key: signing.SigningKey | None, plans: list[TreePlan]) -> None:
    """A repository is signed by one key from its first publish, or not signed at all."""
    key_path = repo / repofile.KEY_FILE
    repo_key = signing.key_file_fingerprint(key_path) if key_path.is_file() else None
    has_packages = any(plan.kept for plan in plans)
    if key is None and repo_key:
        raise PublishError(
            f"{repo}: its packages are signed (key {repo_key[-16:]}, {key_path}); publish with --sign "
            f"{repo_key[-16:]}, or without --no-sign when it is netnsfix's own key"
        )
    if key is not None and repo_key and repo_key != key.fingerprint:
        raise PublishError(
            f"{repo}: signed with key {repo_key[-16:]}, not {key.name} ({key.long_id}); "
            "publish into a new repository to change keys"
        )
    if key is not None and not repo_key and has_packages:
        refuse_signing_unsigned(repo, plans)


def refuse_signing_unsigned(repo: Path, plans: list[TreePlan]) -> None:
    """A signed publish into a repository that holds unsigned packages is refused."""
    if not (repo / repofile.KEY_FILE).is_file() and any(plan.kept for plan in plans):
        raise PublishError(
            f"{repo}: holds unsigned packages; a repository is signed from its first publish "
            "(publish into it with --no-sign, or into a new one)"
        )


@dataclass(frozen=True, eq=False)
class Placement:
    """The files of one tree on their way in: (temporary, final) pairs, their packages, the writer."""

    root: Path
    staged: tuple[tuple[Path, Path], ...]
    packages: tuple[cr.Package, ...]
    writing: Future[None] | None = None

    def wait(self) -> None:
        """Block until every copy is written; a failed copy becomes one PublishError."""
        if self.writing is not None:
            _as_publish_error(self.root, self.writing.result)

    def discard(self) -> None:
        if self.writing is not None:
            futures_wait([self.writing])
        _unlink_all([temporary for temporary, _ in self.staged])


def place(plan: TreePlan, key: signing.SigningKey | None, steps: PublishSteps) -> Placement:
    """Copy each new file to a temporary name beside its final one.

    Always a copy, never a hard link: the repository must not change when someone edits
    the build folder afterwards. Signed: the copies are signed (the build output keeps its
    bytes) and read again. Unsigned: the metadata is known already (a copy keeps the
    file's mtime), so one thread writes the copies while the caller builds the repodata.
    """
    items = list(plan.add) + [item for item, _ in plan.replace]
    temporaries = [(plan.root / item.href).parent / f".{Path(item.href).name}.{os.getpid()}.tmp" for item in items]
    staged = tuple((temporary, plan.root / item.href) for item, temporary in zip(items, temporaries, strict=True))
    _as_publish_error(
        plan.root,
        lambda: _make_folders(plan.root, {path.parent for path in temporaries}),
    )
    if key is None:
        packages = []
        for item in items:
            pkg = item.pkg.copy()
            pkg.location_href = item.href
            packages.append(pkg)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-copy")
        writing = pool.submit(_copy_all, items, temporaries, plan.root)
        pool.shutdown(wait=False)  # the thread ends with its one task; Placement.wait() joins it
        return Placement(plan.root, staged, tuple(packages), writing)
    try:
        _as_publish_error(plan.root, lambda: _copy_all(items, temporaries, plan.root))
        steps.sign_rpms(key, temporaries)
        packages = [
            createrepo.package_from_file(temporary, item.href)  # signing rewrote the header
            for item, temporary in zip(items, temporaries, strict=True)
        ]
    except BaseException:
        _unlink_all(temporaries)
        raise
    return Placement(plan.root, staged, tuple(packages))


def _copy_all(items: list[InputPackage], temporaries: list[Path], root: Path) -> None:
    """One file at a time: threads creating files in one folder only queue on its lock."""
    try:
        for item, temporary in zip(items, temporaries, strict=True):
            _copy_checked(item, temporary, root)
    except BaseException:
        _unlink_all(temporaries)
        raise


def _as_publish_error(root: Path, action: Callable[[], object]) -> None:
    try:
        action()
    except OSError as error:
        raise PublishError(
            f"{error.filename or root}: cannot write into the repository: {error.strerror or error}"
        ) from None


def refuse_planted_links(plans: list[TreePlan]) -> None:
    """No folder a new file goes to may be a symlink: checked before anything is made (``_make_folders``
    refuses it again while it makes them, against a symlink planted in between)."""
    for plan in plans:
        for item in list(plan.add) + [item for item, _ in plan.replace]:
            where = plan.root
            for part in Path(item.href).parent.parts:
                where = where / part
                if where.is_symlink():
                    raise PublishError(f"{where}: cannot write into the repository: a symlink is in the way")


def _make_folders(root: Path, folders: set[Path]) -> None:
    """Each folder below ``root`` made as a real folder: a symlink planted at Packages/x is refused, not followed."""
    for folder in folders:
        real_folder_below(root, os.path.relpath(folder, root))


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _remove_replaced(plans: list[TreePlan]) -> None:
    """Delete files whose NEVRA now lives under another name (same name: already overwritten)."""
    for plan in plans:
        new_hrefs = {item.href for item, _ in plan.replace}
        for _, old_href in plan.replace:
            if old_href not in new_hrefs:
                (plan.root / old_href).unlink(missing_ok=True)


def _remove_temporaries(root: Path) -> None:
    """Temporary files a killed publish left beside the packages."""
    packages = root / "Packages"
    if packages.is_dir():
        for leftover in packages.glob("*/.*.tmp"):
            leftover.unlink(missing_ok=True)


def _write_key(repo: Path, key: signing.SigningKey) -> Path:
    path = repo / repofile.KEY_FILE
    _write_if_changed(path, signing.export_public_key(key))
    return path


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    try:
        atomic_write_bytes(path, data)
    except OSError as error:
        raise PublishError(f"{path}: cannot write: {error.strerror or error}") from None
