"""Rebuild a source RPM inside the build root image, with the network off.

What mock does for ``mock --rebuild``: a fresh container of the build root,
the unprivileged build user, ``rpmbuild --rebuild`` with ``_topdir`` in its
home, the log streamed line by line to the caller and to ``build.log``, the
SRPM and the binary RPMs copied to the output folder, and the container
removed whatever happens (failure, Ctrl-C). ``manifest.json`` records the
inputs and outputs with their sha256; when they all still match, a rebuild
returns at once without touching the engine.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netnsfix.build.image import (
    BUILD_GID,
    BUILD_HOME,
    BUILD_UID,
    BUILD_USER,
    BuildImage,
    ImageRef,
    NamedImage,
    PlannedImage,
)
from netnsfix.errors import BuildError, EngineError, ManifestError
from netnsfix.manifest import MANIFEST_NAME, FileRecord, Manifest, read_manifest, reusable
from netnsfix.rpm.header import read_header
from netnsfix.tools.engine import Bind, Container, Engine, Image
from netnsfix.tools.rpmbuild import (
    SOURCE_DATE_EPOCH_SINCE,
    day_start,
    reproducible_defines,
    reproducible_env,
    rpm_version,
)
from netnsfix.util.confined import open_below, unconfined_reason
from netnsfix.util.fsutil import atomic_copy, sha256_file
from netnsfix.util.inputfile import not_regular

LOG_NAME = "build.log"
STAGE = "build"

LogSink = Callable[[str], None]
EngineFactory = Callable[[], Engine]


@dataclass(frozen=True)
class BuildVariant:
    """What may differ between two builds of one SRPM and must not show in the RPMs.

    The first build runs as :data:`FIRST_BUILD`; ``--check-reproducible`` runs a
    second as :data:`SECOND_BUILD` (another host name and time zone, later, into
    another folder). rpmbuild itself always runs with TZ=UTC, since rpm dates
    each %changelog entry at noon local time.
    """

    hostname: str
    tz: str


FIRST_BUILD = BuildVariant(hostname="netnsfix-build", tz="UTC")
SECOND_BUILD = BuildVariant(hostname="netnsfix-check-second-build", tz="Pacific/Kiritimati")

# The build container's command: a fixed umask (the engine's default is 022, a user's may be
# anything), UTC, then rpmbuild with the arguments after it.
_SHELL = 'umask 022 && export TZ=UTC LC_ALL=C && exec rpmbuild "$@"'


@dataclass(frozen=True)
class BuildResult:
    srpm: Path
    rpms: tuple[Path, ...]
    log: Path
    manifest: Path
    image: str  # the image's tag (or reference) and id
    reused: bool  # True: nothing was built, the outputs were up to date
    seconds: float
    settings: BuildSettings | None = None  # how it was made reproducible (None when reused)


def rebuild(
    srpm: Path,
    image: ImageRef,
    out: Path,
    engine: EngineFactory,
    log_sink: LogSink = lambda _: None,
    *,
    force: bool = False,
    recipe: str = "",
    extra: dict[str, Any] | None = None,
    variant: BuildVariant = FIRST_BUILD,
) -> BuildResult:
    """``rpmbuild --rebuild`` of ``srpm`` in a container of ``image``; outputs and manifest in ``out``.

    ``engine`` is called (to connect) only when a build has to run, or to
    learn what a named image is. A planned image (known by its content key,
    :func:`~netnsfix.build.image.planned_image`) is looked up only when a build runs:
    the no-op check compares keys.
    """
    started = time.monotonic()
    srpm, out = srpm.absolute(), out.absolute()  # bind mounts need absolute host paths
    client = None
    if isinstance(image, NamedImage):  # its id (and the labels netnsfix gave it) say what it is
        client = engine()
        found = _image(client, image.tag)
        packages = tuple((found.labels or {}).get("netnsfix.packages", "").split())
        image = BuildImage(image.tag, found.id, packages, None, user=image.user)
    srpm_sha = _srpm_sha256(srpm)
    if not force:
        current = _reused(srpm, srpm_sha, image, out, started)
        if current is not None:
            return current
    client = client or engine()
    if isinstance(image, PlannedImage):
        image = BuildImage(image.tag, _image(client, image.tag).id, image.packages, image.key, user=image.user)
    image_id = image.id
    out.mkdir(parents=True, exist_ok=True)
    _forget_previous(out)
    log_path = out / LOG_NAME
    settings = build_settings(srpm, image)
    rpms = _run(client, image_id, srpm, out, log_path, log_sink, variant, settings)
    atomic_copy(srpm, out / srpm.name)
    outputs = (
        FileRecord.of(out / srpm.name, srpm.name, "srpm"),
        *(FileRecord.of(p, p.name, "rpm") for p in rpms),
        FileRecord.of(log_path, LOG_NAME, "log"),
    )
    manifest = Manifest(
        stage=STAGE,
        recipe=recipe,
        inputs=(
            FileRecord(path=str(srpm.resolve()), sha256=srpm_sha, size=srpm.stat().st_size, kind="srpm"),
            FileRecord(path=image.tag, sha256=_identity(image), size=0, kind="image"),
        ),
        outputs=outputs,
        extra={
            "image_id": image_id,
            "image_tag": image.tag,
            "build_root": list(image.packages),
            "build_time": settings.epoch,
            "source_date_epoch": settings.source_date_epoch,
            **(extra or {}),
        },
    )
    manifest_path = manifest.write(out)
    return BuildResult(
        srpm=out / srpm.name,
        rpms=tuple(rpms),
        log=log_path,
        manifest=manifest_path,
        image=f"{image.tag} {image_id}",
        reused=False,
        seconds=time.monotonic() - started,
        settings=settings,
    )


@dataclass(frozen=True)
class BuildSettings:
    """How a build is made reproducible (README, "Reproducible outputs")."""

    epoch: int  # 00:00 UTC of the SRPM's newest %changelog entry's day: the file times and build time
    source_date_epoch: bool  # the root's rpm (4.14+) also takes BUILDTIME from it
    rpm_version: tuple[int, ...] | None  # the root's rpm-build, when the image's package list says

    @property
    def may_differ(self) -> frozenset[str]:
        """Header tags two builds may still disagree on: rpm 4.10 stamps its clock in BUILDTIME
        (and in COOKIE, which is "BUILDHOST BUILDTIME"); nothing else may differ."""
        return frozenset() if self.source_date_epoch else frozenset({"BUILDTIME", "COOKIE"})


def build_settings(srpm: Path, image: BuildImage | PlannedImage) -> BuildSettings:
    header = read_header(srpm)
    epoch = day_start(max(header.changelog_times, default=header.buildtime))
    version = rpm_version(image.packages)
    return BuildSettings(epoch, version is not None and version >= SOURCE_DATE_EPOCH_SINCE, version)


def up_to_date(srpm: Path, image: BuildImage | PlannedImage, out: Path) -> BuildResult | None:
    """The previous build's result when its inputs are these and every output is still as recorded.

    Reads files only: no engine, no container. ``image`` needs its key (a
    planned build root) or its id (an image given by name).
    """
    started = time.monotonic()
    return _reused(srpm, _srpm_sha256(srpm), image, out, started)


def _srpm_sha256(srpm: Path) -> str:
    odd = not_regular(srpm)
    if odd is not None:
        raise BuildError(f"{srpm}: {odd}")
    if not srpm.is_file():
        raise BuildError(f"{srpm}: no such source RPM")
    return sha256_file(srpm)


def _reused(
    srpm: Path, srpm_sha: str, image: BuildImage | PlannedImage, out: Path, started: float
) -> BuildResult | None:
    """The previous build's result (see :func:`up_to_date`) for an SRPM whose sha256 is known."""
    inputs = (
        FileRecord(path=str(srpm), sha256=srpm_sha, size=0, kind="srpm"),
        FileRecord(path=image.tag, sha256=_identity(image), size=0, kind="image"),
    )
    same_image = {"image_tag": image.tag, **({"image_id": image.id} if isinstance(image, BuildImage) else {})}
    current = reusable(out, STAGE, inputs, extra=same_image, needs=("rpm",)).manifest
    if current is None:
        return None
    return BuildResult(
        srpm=out / srpm.name,
        rpms=tuple(out / r.path for r in current.output("rpm")),
        log=out / LOG_NAME,
        manifest=out / MANIFEST_NAME,
        image=f"{image.tag} {current.extra.get('image_id', '')}".strip(),
        reused=True,
        seconds=time.monotonic() - started,
    )


def _identity(image: BuildImage | PlannedImage) -> str:
    """What the manifest records the image as: its content key, or the id of an image netnsfix did not make."""
    return image.key if image.key is not None else image.id if isinstance(image, BuildImage) else ""


def _forget_previous(out: Path) -> None:
    """Remove the outputs a previous build recorded here, so none is mistaken for this build's."""
    try:
        previous = read_manifest(out)
    except ManifestError:
        return
    for record in previous.outputs:
        if record.kind in ("rpm", "srpm") and "/" not in record.path:
            (out / record.path).unlink(missing_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)


def _image(client: Engine, ref: str) -> Image:
    found = client.find_image(ref)
    if found is None:
        raise BuildError(f"{ref}: no such image (make it with 'netnsfix image')")
    return found


def _srpm_tar(srpm: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tar.gettarinfo(str(srpm), arcname=srpm.name)
        info.uid, info.gid, info.uname, info.gname, info.mode = BUILD_UID, BUILD_GID, BUILD_USER, "", 0o644
        with open(srpm, "rb") as data:
            tar.addfile(info, data)
    return buffer.getvalue()


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


def _run(
    client: Engine,
    image_id: str,
    srpm: Path,
    out: Path,
    log_path: Path,
    log_sink: LogSink,
    variant: BuildVariant,
    settings: BuildSettings,
) -> list[Path]:
    """The build container's whole life. With a local engine the SRPM is mounted read-only and
    RPMS/ is a folder of ``out`` owned by the build user (no copying through the API); with an
    engine elsewhere both travel as tar archives."""
    inside = f"{BUILD_HOME}/{srpm.name}"
    arguments = ["--rebuild", "--define", f"_topdir {BUILD_HOME}/build"]
    for key, value in reproducible_defines(settings.epoch, settings.source_date_epoch).items():
        arguments += ["--define", f"{key} {value}"]
    command = ["/bin/sh", "-c", _SHELL, "rpmbuild", *arguments, inside]
    name = f"netnsfix-build-{secrets.token_hex(4)}"
    results = _results_folder(out) if client.local else None
    binds = []
    if results is not None:
        binds = [Bind(str(srpm.resolve()), inside), Bind(str(results), f"{BUILD_HOME}/build/RPMS", read_only=False)]
    try:
        environment = {"HOME": BUILD_HOME, "LANG": "C", **reproducible_env(settings.epoch), "TZ": variant.tz}
        with client.create(
            image_id,
            command,
            name=name,
            user=BUILD_USER,
            working_dir=BUILD_HOME,
            environment=environment,
            binds=binds,
            hostname=variant.hostname,
        ) as container:
            if results is None and not container.put_archive(BUILD_HOME, _srpm_tar(srpm)):
                raise EngineError(f"Docker engine: cannot copy {srpm.name} into {name}")
            with open(log_path, "w", encoding="utf-8") as log_file:
                header = (
                    f"netnsfix: rpmbuild --rebuild {inside} (image {image_id[:19]}, user {BUILD_USER}, network none, "
                    f"umask 022, host {variant.hostname}, build time {settings.epoch}"
                    f"{' with SOURCE_DATE_EPOCH' if settings.source_date_epoch else ', file times clamped'})"
                )
                log_file.write(header + "\n")
                log_sink(header)
                container.start()
                for line in _lines(container.follow_logs()):
                    log_file.write(line + "\n")
                    log_file.flush()
                    log_sink(line)
                status = container.wait()
                log_file.write(f"netnsfix: rpmbuild exited with {status}\n")
            if status != 0:
                raise BuildError(f"rpmbuild --rebuild {srpm.name} failed (exit {status}); the log is {log_path}")
            rpms = _move_rpms(results, out) if results is not None else _copy_rpms(container, out)
            if not rpms:
                raise BuildError(f"rpmbuild succeeded but wrote no binary RPM into {BUILD_HOME}/build/RPMS")
            return rpms
    finally:
        if results is not None:
            shutil.rmtree(results, ignore_errors=True)


def _results_folder(out: Path) -> Path:
    """A fresh folder in ``out`` that the build user may write (mock's chowned result dir)."""
    folder = Path(tempfile.mkdtemp(prefix=".rpms-", dir=out))
    try:
        if os.geteuid() == 0:
            os.chown(folder, BUILD_UID, BUILD_GID)
        else:
            folder.chmod(0o777)
    except BaseException:  # _run's cleanup does not know the folder yet
        folder.rmdir()
        raise
    return folder


def _move_rpms(results: Path, out: Path) -> list[Path]:
    """The RPMs rpmbuild wrote into the mounted folder, renamed into ``out`` and owned by us again."""
    rpms = []
    for built in sorted(results.rglob("*.rpm")):
        target = out / built.name
        os.replace(built, target)
        if os.geteuid() == 0:
            os.chown(target, os.getuid(), os.getgid())
        rpms.append(target)
    return rpms


def _copy_rpms(container: Container, out: Path) -> list[Path]:
    """The binary RPMs from the container's _topdir/RPMS, each written under a temporary name first."""
    rpms: list[Path] = []
    reader = _ChunkReader(container.get_archive(f"{BUILD_HOME}/build/RPMS"))
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".rpm"):
                continue
            name = Path(member.name).name
            if unconfined_reason(name) is not None:
                raise BuildError(f"the build root wrote an RPM named {name!r}, which is not a plain file name")
            target = out / name
            partial = target.with_name(f".{target.name}.partial")
            data = tar.extractfile(member)
            assert data is not None
            try:
                # no symlink planted at the temporary name is followed out of the build folder
                fd = open_below(out, partial.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                with open(fd, "wb") as dest:
                    while block := data.read(1 << 20):
                        dest.write(block)
                partial.replace(target)
            except BaseException:  # a broken stream or Ctrl-C leaves no half-written file in out
                partial.unlink(missing_ok=True)
                raise
            rpms.append(target)
    return sorted(rpms)


class _ChunkReader(io.RawIOBase):
    """A file object over the SDK's chunk iterator, so the archive is never in memory as a whole."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.pending = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size
