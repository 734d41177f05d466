"""The build root image: resolved packages -> files -> ``docker import`` -> registered by rpm.

No registry has a Fedora 18 image, so netnsfix makes one the way febootstrap
and mock's bootstrap did (container/buildroot/README.md tells the steps). The
image is tagged by the sha256 of everything that went in, so a second run with
the same packages finds it and does nothing, and a changed package makes a new
one. Every package's GPG signature is checked against the recipe's keys right
after it is fetched and before any payload is read; the check (its keys, or
"off") is part of the image's key, so an image made with ``--no-gpgcheck`` is
never taken for a checked one. :func:`ensure_image` drives the work through two injected seams: the
fetcher (HTTP + download cache) and the engine (``netnsfix.tools.engine``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.repodata import Package
from netnsfix.archive.signature import GpgCheck, verify_packages
from netnsfix.build import roottar
from netnsfix.build.depsolve import Closure
from netnsfix.errors import BuildError, EngineError, FetchError
from netnsfix.tools.engine import Bind, Engine
from netnsfix.util.paths import cache_dir, project_root

log = logging.getLogger(__name__)

# Bump when the way an image is made changes (it is part of every image's key).
BOOTSTRAP_VERSION = "1"
REPOSITORY = "netnsfix/buildroot"
BUILD_USER = "mockbuild"
BUILD_UID = 1000
BUILD_GROUP = "mock"
BUILD_GID = 135
BUILD_HOME = "/builddir"
DEFAULT_DIST = ".fc18"
_STAGE = "/netnsfix-bootstrap"
_MOUNT = "/mnt"  # the download cache, read-only, while the packages are registered (a local engine)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class BuildImage:
    """A build root image in the engine: what it is called, its id, what it holds, and the key it was
    made from (None for an image the user named, which netnsfix did not make)."""

    tag: str
    id: str
    packages: tuple[str, ...]  # NEVRAs
    key: str | None  # full sha256 of the inputs
    reused: bool = False
    user: str = BUILD_USER


@dataclass(frozen=True)
class PlannedImage:
    """The build root image a closure makes, known without asking the engine: tag, packages and key
    (enough to tell whether earlier outputs were built in it)."""

    tag: str
    packages: tuple[str, ...]
    key: str
    user: str = BUILD_USER


@dataclass(frozen=True)
class NamedImage:
    """An image the user named (``--image``, a tag or id): only the engine knows what it holds."""

    tag: str
    user: str = BUILD_USER


ImageRef = BuildImage | PlannedImage | NamedImage  # what a build can be asked to run in


def container_dir() -> Path:
    return project_root() / "container" / "buildroot"


def container_files(folder: Path | None = None) -> dict[str, bytes]:
    """The files used for the last steps (bootstrap.sh, README.md): part of the key."""
    folder = folder or container_dir()
    if not (folder / "bootstrap.sh").is_file():
        raise BuildError(f"{folder}/bootstrap.sh: missing (the build root's last steps live there)")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


UNCHECKED = GpgCheck.off()  # an image key made without a signature check (the key then omits it)


def image_key(
    packages: Sequence[Package], files: dict[str, bytes], dist: str = DEFAULT_DIST, gpgcheck: GpgCheck = UNCHECKED
) -> str:
    """sha256 over package NEVRAs and checksums, the container files, the bootstrap's version, dist,
    and the signature check the packages passed (``GpgCheck.label``)."""
    data = {
        "bootstrap": BOOTSTRAP_VERSION,
        "dist": dist,
        "user": [BUILD_USER, BUILD_UID, BUILD_GROUP, BUILD_GID],
        "packages": sorted((p.nevra, p.checksum_type, p.checksum) for p in packages),
        "container": {name: hashlib.sha256(body).hexdigest() for name, body in sorted(files.items())},
        **({"gpgcheck": gpgcheck.label} if gpgcheck.enabled else {}),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def payload_cache() -> Path:
    """Decompressed payloads by package sha256: a changed package set decompresses only what is new."""
    return cache_dir() / "payloads"


def image_tag(key: str) -> str:
    return f"{REPOSITORY}:{key[:16]}"


def planned_image(
    closure: Closure, dist: str = DEFAULT_DIST, files: dict[str, bytes] | None = None, *, gpgcheck: GpgCheck
) -> PlannedImage:
    """The image the closure would make (tag and key), without asking the engine.

    ``files``: the container files when the caller has read them already.
    """
    key = image_key(closure.packages, container_files() if files is None else files, dist, gpgcheck)
    return PlannedImage(tag=image_tag(key), packages=closure.nevras, key=key)


def ensure_image(
    closure: Closure,
    fetcher: Fetcher,
    engine: Engine,
    *,
    gpgcheck: GpgCheck,
    dist: str = DEFAULT_DIST,
    notify: Notify = lambda _: None,
) -> BuildImage:
    """The build root image for ``closure``: found by its tag, or made (fetch, check signatures, unpack,
    import, register)."""
    files = container_files()
    plan = planned_image(closure, dist, files, gpgcheck=gpgcheck)
    existing = engine.find_image(plan.tag)
    if existing is not None:
        notify(f"build root {plan.tag} exists ({len(closure.packages)} packages)")
        return BuildImage(plan.tag, existing.id, plan.packages, plan.key, reused=True)
    notify(f"fetching {len(closure.packages)} packages")
    rpms = fetch_packages(closure.packages, fetcher)
    checked = verify_packages(
        gpgcheck, [(f"{p.nevra}.rpm", path) for p, path in zip(closure.packages, rpms, strict=True)]
    )
    if checked.packages:
        notify(f"GPG signatures of {checked.packages} packages checked ({checked.seconds:.1f} s)")
    notify("unpacking and importing")
    layout = roottar.plan_rootfs(rpms)
    for warning in sorted(layout.unknown_owners):
        log.warning("build root: %s is not in the packages' passwd/group: owned by root", warning)
    base_id = _import(engine, rpms, layout)
    notify(f"registering the packages with the root's rpm ({base_id[:19]})")
    try:
        image_id = _register(engine, base_id, closure, rpms, files, plan, dist)
    except BaseException:
        engine.remove_image_quietly(base_id)
        raise
    notify(f"build root {plan.tag} made")
    return BuildImage(plan.tag, image_id, plan.packages, plan.key)


def fetch_packages(packages: Sequence[Package], fetcher: Fetcher) -> list[Path]:
    """Each package through the download cache, checked against its repodata sha256."""
    paths = []
    for pkg in packages:
        if pkg.checksum_type not in ("sha256",):
            raise FetchError(f"{pkg.url}: repodata gives a {pkg.checksum_type} checksum; netnsfix checks sha256 only")
        paths.append(fetcher.fetch([pkg.url], pkg.checksum, pkg.size, name=f"{pkg.nevra}.rpm"))
    return paths


def _import(engine: Engine, rpms: Sequence[Path], layout: roottar.Plan) -> str:
    """``docker import`` of the payloads' tar, streamed; returns the new image's id."""
    chunks = roottar.tar_chunks(rpms, layout, payload_cache=payload_cache())
    return engine.import_image(chunks, what="docker import of the build root")


def _stage_tar(
    rpms: Sequence[Path], closure: Closure, files: dict[str, bytes], into: IO[bytes], mounted: Path | None
) -> None:
    """The bootstrap folder: the script, and the package files under their NEVRA names
    (symbolic links into the read-only mount of ``mounted`` when the engine is local, else copies)."""
    with tarfile.open(fileobj=into, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(f"{_STAGE.lstrip('/')}/{name}")
            info.size, info.mode = len(body), 0o755
            tar.addfile(info, io.BytesIO(body))
        for pkg, path in zip(closure.packages, rpms, strict=True):
            arcname = f"{_STAGE.lstrip('/')}/rpms/{pkg.nevra}.rpm"
            if mounted is None:
                tar.add(str(path), arcname=arcname, recursive=False)
                continue
            link = tarfile.TarInfo(arcname)
            link.type, link.linkname = tarfile.SYMTYPE, f"{_MOUNT}/{path.relative_to(mounted)}"
            tar.addfile(link)


def _register(
    engine: Engine,
    base_id: str,
    closure: Closure,
    rpms: Sequence[Path],
    files: dict[str, bytes],
    plan: PlannedImage,
    dist: str,
) -> str:
    """Run bootstrap.sh in a container of the imported image and commit it under the tag."""
    command = [
        "/bin/sh",
        f"{_STAGE}/bootstrap.sh",
        f"{_STAGE}/rpms",
        BUILD_USER,
        str(BUILD_UID),
        BUILD_GROUP,
        str(BUILD_GID),
        dist,
    ]
    name = f"netnsfix-bootstrap-{plan.key[:12]}-{secrets.token_hex(3)}"
    mounted = Path(os.path.commonpath([p.resolve().parent for p in rpms])) if rpms and engine.local else None
    binds = [Bind(str(mounted), _MOUNT)] if mounted else []
    with engine.create(base_id, command, name=name, user="root", binds=binds) as container:
        with tempfile.TemporaryFile(dir=os.environ.get("TMPDIR")) as staged:
            _stage_tar([p.resolve() for p in rpms], closure, files, staged, mounted)
            staged.seek(0)
            if not container.put_archive("/", staged):
                raise EngineError(f"Docker engine: cannot copy the packages into {name}")
        container.start()
        status = container.wait()
        output = container.logs()
        if status != 0:
            tail = " | ".join(output.strip().splitlines()[-5:])
            raise BuildError(f"build root {plan.tag}: bootstrap.sh failed (exit {status}): {tail}")
        repository, tag = plan.tag.split(":")
        labels = {
            "netnsfix.key": plan.key,
            "netnsfix.bootstrap": BOOTSTRAP_VERSION,
            "netnsfix.packages": " ".join(closure.nevras),
        }
        return container.commit(
            repository,
            tag,
            "netnsfix build root",
            {"Labels": labels, "Cmd": ["/bin/sh"], "WorkingDir": BUILD_HOME, "Env": ["LANG=C", "HOME=/root"]},
        )
