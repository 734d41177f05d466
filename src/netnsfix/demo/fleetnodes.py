"""Fedora-18-like nodes for ``netnsfix fleet``: booted systemd containers Ansible can manage.

Fedora 18 cannot be installed here, so a node is Debian 12 (bookworm: the
published iproute is built against its glibc) with bullseye's Python 2.7 as
the only Python (as ansible-core 2.16 meets Fedora 18's 2.7.3), systemd,
Open vSwitch (userspace datapath: this kernel has no openvswitch module),
sshd and rpm with its database where Fedora keeps it. The demo archive's
glibc RPM is registered in that database, so the published iproute's
requires resolve for real. The image is made once (debootstrap, cached by
its packages; then one preparation container, committed) and reused.
A node boots as the harness boots its systemd container, plus /dev/net/tun,
and every mount is then made shared (``mount --make-rshared /``) as systemd
leaves a real Fedora 18 host, so the unpatched ``ip`` shows its bug there.
A caller may add Debian packages to the image and folders to the nodes
(scripts/fidelity/record-yum-role: the libraries the fidelity kit's rpm and
yum link against, and the kit itself, read-only).
"""

from __future__ import annotations

import io
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.fetch import Fetcher
from netnsfix.demo.archive import build_demo_archive
from netnsfix.demo.binaries import build_demo_binary_repo
from netnsfix.demo.signkey import demo_key
from netnsfix.errors import CommandError, DemoError, EngineError
from netnsfix.pipeline import run_pipeline
from netnsfix.publish.repository import publish
from netnsfix.recipe import Recipe
from netnsfix.source.request import Request
from netnsfix.tools.debootstrap import ensure_debian_root
from netnsfix.tools.engine import Bind, Container, ContainerOptions, Engine
from netnsfix.util.command import run, streamed
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.httpserve import serving
from netnsfix.verify.systemd_image import ENVIRONMENT, INIT, OWNER_LABEL, PID_LABEL, RUN_OPTIONS, wait_for_systemd

PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "openssh-server",
    "openvswitch-switch",
    "rpm",
    "patch",
    "procps",
    "python2.7",
    "python2",
    "python-is-python2",
)
EXTRA_SUITES = ("bullseye",)  # the last Debian with Python 2.7
REPOSITORY = "netnsfix-fleetnode"
# Run once in the imported root (no network, not booted): Python 3 out (openvswitch-common and rpm pull it in;
# its own maintainer scripts need it, so they go first), Fedora's rpmdb path, yum's folder, key-only root ssh.
PREPARE = r"""
set -eu
dpkg --purge --force-depends python3-openvswitch python3-netifaces python3-six python3-sortedcontainers
rm -f /var/lib/dpkg/info/python3.postrm /var/lib/dpkg/info/python3.prerm
dpkg --purge --force-depends python3 python3.11 python3-minimal python3.11-minimal libpython3-stdlib \
    libpython3.11-stdlib libpython3.11-minimal python3.9 python3.9-minimal libpython3.9-stdlib libpython3.9-minimal
mkdir -p /etc/yum.repos.d /var/lib/rpm /etc/rpm /root/.ssh
echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros.dbpath
chmod 700 /root/.ssh
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
    > /etc/ssh/sshd_config.d/netnsfix-node.conf
: > /etc/machine-id
rpm -i --justdb --nodeps /tmp/glibc.rpm
rm -f /tmp/glibc.rpm
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*_Packages /var/cache/apt/*.bin
"""
NODE_OPTIONS = ContainerOptions(
    cap_add=RUN_OPTIONS.cap_add,
    cap_drop=RUN_OPTIONS.cap_drop,
    security_opt=RUN_OPTIONS.security_opt,
    private_cgroupns=RUN_OPTIONS.private_cgroupns,
    tmpfs=RUN_OPTIONS.tmpfs,
    devices=("/dev/net/tun",),
    network="bridge",
)
PREPARE_TIMEOUT = 300.0


@dataclass(frozen=True)
class FleetNode:
    """A booted node: its inventory name, container, and address on the engine's bridge."""

    name: str
    container: Container
    address: str


@dataclass(frozen=True)
class PublishedRepo:
    repo: Path  # the yum repository netnsfix publish made
    glibc_rpm: Path  # the demo archive's glibc, for the nodes' rpm database
    build: Path | None = None  # the build folder it was published from


def published_repo(recipe: Recipe, workdir: Path) -> PublishedRepo:
    """The recipe built against the demo archive and published, as ``netnsfix demo`` does (outputs reused)."""
    key = demo_key()  # the demo archive's packages are signed with it, as in netnsfix demo
    source = build_demo_archive(workdir / "archive", signer=key)
    binaries = build_demo_binary_repo(workdir / "archive", signer=key)
    with serving(source.root) as served:
        request = Request.of(
            recipe,
            mirrors=[served.url],
            lock=workdir / "locks" / f"{recipe.name}.lock.json",
            gpgcheck=key.gpgcheck(),
            out=workdir / "out",
        )
        run_pipeline(request, Fetcher())
    build = request.layout.build(recipe.name)
    published = publish(build, workdir / "repo")
    return PublishedRepo(published.repo, find_glibc_rpm(binaries.root), build)


def find_glibc_rpm(binaries_root: Path) -> Path:
    """The demo archive's glibc RPM (the nodes' rpm database registers it), found under its binary tree."""
    glibc = sorted(binaries_root.rglob("glibc-[0-9]*.x86_64.rpm"))
    if not glibc:
        raise DemoError(f"{binaries_root}: the demo archive has no glibc RPM")
    return glibc[0]


def ensure_base_image(engine: Engine, extra: tuple[str, ...] = ()) -> str:
    """The node's root as debootstrapped (Python 2.7, systemd, OVS, rpm, and ``extra``; not yet prepared):
    imported once."""
    root = ensure_debian_root(PACKAGES + extra, extra_suites=EXTRA_SUITES)
    base = f"{REPOSITORY}-base:{root.key}"
    if not engine.image_exists(base):
        repository, _, version = base.partition(":")
        try:
            with streamed(["tar", "-C", str(root.path), "--numeric-owner", "--xattrs", "-cf", "-", "."]) as tar:
                engine.import_image(tar, repository=repository, tag=version, what=f"docker import of {root.path}")
        except CommandError as error:
            engine.remove_image_quietly(base)
            raise EngineError(f"{root.path}: {error}") from None
    return base


def ensure_node_image(engine: Engine, glibc_rpm: Path, extra: tuple[str, ...] = ()) -> str:
    """The node image's tag, made from the cached root the first time (``extra``: more Debian packages)."""
    base = ensure_base_image(engine, extra)
    tag = f"{REPOSITORY}:{base.partition(':')[2]}-{sha256_file(glibc_rpm)[:12]}"
    if engine.image_exists(tag):
        return tag
    tmp = files_tar({"glibc.rpm": (glibc_rpm.read_bytes(), 0o644)})
    conf = {"Cmd": INIT, "Env": ["container=docker"]}
    prepare_image(engine, base, PREPARE, tmp, tag, "netnsfix-fleetprep", "netnsfix fleet node", conf)
    return tag


def prepare_image(
    engine: Engine, base: str, script: str, tmp: bytes, tag: str, owner: str, what: str, conf: dict
) -> None:
    """Run ``script`` once in a container of ``base`` with the tar ``tmp`` unpacked in /tmp, and commit it as
    ``tag`` (``conf``: the image's Cmd and Env); EngineError naming ``what`` when the script fails."""
    name = f"{owner}-{uuid.uuid4().hex[:8]}"
    with engine.create(base, ["/bin/sh", "-c", script], name=name, labels={OWNER_LABEL: owner}) as box:
        box.put_archive("/tmp", tmp)
        box.start()
        deadline = time.monotonic() + PREPARE_TIMEOUT
        while box.status() in ("created", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
        code = box.wait()
        if code != 0:
            raise EngineError(f"making the image {what} failed (exit {code}): {box.logs(tail=3).strip()}")
        repository, _, version = tag.partition(":")
        box.commit(repository, version, what, conf)


@contextmanager
def booted_nodes(
    engine: Engine, image: str, names: tuple[str, ...], prefix: str, binds: tuple[Bind, ...] = ()
) -> Iterator[dict[str, FleetNode]]:
    """Boot one container per name (in parallel), yield them by name, remove them all whatever happens."""
    with ExitStack() as stack:
        nodes: dict[str, Container] = {}
        for name in names:
            container = engine.create(
                image,
                INIT,
                name=f"{prefix}-{name}-{uuid.uuid4().hex[:6]}",
                environment=ENVIRONMENT,
                labels={OWNER_LABEL: prefix, PID_LABEL: str(os.getpid())},
                binds=binds,
                options=NODE_OPTIONS,
            )
            stack.enter_context(container)
            container.start()
            nodes[name] = container
        result = {}
        for name, container in nodes.items():
            wait_for_systemd(container)
            # every mount shared, as systemd leaves a real host (the harness's systemd check does the same)
            node_run(container, "mount", "--make-rshared", "/")
            result[name] = FleetNode(name, container, container.ip_address())
        yield result


def put_files(container: Container, root: Path, skip: tuple[str, ...] = ("var", "bin", "sbin", "lib", "lib64")) -> None:
    """Copy the files under ``root`` (a node root folder) into the container at /, keeping modes and links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in sorted(root.iterdir()):
            if entry.name not in skip:
                archive.add(entry, arcname=entry.name)
    container.put_archive("/", buffer.getvalue())


def authorize_key(container: Container, public_key: bytes) -> None:
    container.put_archive("/root/.ssh", files_tar({"authorized_keys": (public_key, 0o600)}))


def make_key(folder: Path) -> Path:
    """An ed25519 key pair in ``folder`` (no passphrase); the private key's path."""
    key = folder / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], what="ssh-keygen")
    return key


def node_run(container: Container, *argv: str) -> str:
    """Run ``argv`` in the node; its output; an EngineError naming the command when it fails."""
    result = container.exec(list(argv))
    if result.exit_code != 0:
        raise EngineError(f"{container.name}: {' '.join(argv)} failed ({result.exit_code}): {result.output.strip()}")
    return result.output


def files_tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar of ``files`` (name: (bytes, mode)), for put_archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class Python27Run:
    """What the node's Python 2.7 said: its exit code and its output (stdout and stderr together)."""

    code: int
    output: str


def run_python27(engine: Engine, files: dict[str, bytes], argv: tuple[str, ...], timeout: float = 600.0) -> Python27Run:
    """Run ``python2.7 ARGV`` in a throwaway container of the node's root (no network) with ``files`` under /work.

    This is the Python 2.7 a fleet node runs modules with (bullseye's 2.7.18, see the module docstring):
    what compiles and passes here is what the node gets. The container is removed whatever happens.
    """
    image = ensure_base_image(engine)
    name = f"netnsfix-python27-{uuid.uuid4().hex[:8]}"
    command = ["/usr/bin/python2.7", *argv]
    labels = {OWNER_LABEL: "netnsfix-python27", PID_LABEL: str(os.getpid())}
    with engine.create(image, command, name=name, working_dir="/work", labels=labels) as box:
        box.put_archive("/", files_tar({f"work/{path}": (data, 0o644) for path, data in files.items()}))
        box.start()
        deadline = time.monotonic() + timeout
        while box.status() in ("created", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
        if box.status() in ("created", "running"):
            raise EngineError(f"python2.7 {' '.join(argv)}: still running after {timeout:.0f} s")
        return Python27Run(box.wait(), box.logs())
