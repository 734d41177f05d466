"""The fixed package the nodes get: read from a repository ``netnsfix publish`` made.

The role needs ``netnsfix.repo`` (with the baseurl publish wrote, or the one the
nodes reach it by), the GPG key when the packages are signed, and the exact
NEVRA, path and sha256 of the iproute RPM, so a node installs that build and
no other. The nodes' repository file names the key the role puts on each node
(``NODE_KEY``), never the one on the repository's server: yum 3.4.3 imports
whatever key ``gpgkey=`` gives it (``-y`` says yes), so a key fetched from the
server that serves the packages would let that server sign its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from netnsfix.archive.signature import key_file_check, verify_packages
from netnsfix.errors import FleetError, NetnsfixError
from netnsfix.publish.repofile import KEY_FILE, REPO_FILE, read_baseurl, render
from netnsfix.rpm.digests import verify_payload
from netnsfix.rpm.header import read_header
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.urls import repo_url as checked_repo_url

# Where the role's package module writes the key (its key_path default); the repository file points there.
NODE_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-netnsfix"


@dataclass(frozen=True)
class FixedPackage:
    name: str
    nevra: str
    relative: str  # under the repository's baseurl
    sha256: str
    baseurl: str
    repo_file: bytes
    gpg_key: bytes | None

    @property
    def url(self) -> str:
        return f"{self.baseurl.rstrip('/')}/{self.relative}"

    @property
    def filename(self) -> str:
        return self.relative.rsplit("/", 1)[-1]


def read_package(repo: Path, name: str = "iproute", repo_url: str | None = None) -> FixedPackage:
    """The one binary ``name`` RPM in the published repository ``repo``.

    Its payload digests are checked before its sha256 is pinned (a truncated or
    altered package is refused, not handed to the nodes), and every URL is
    checked as publish checks it: ``--repo-url`` and the baseurl read back.
    """
    if repo_url is not None:
        repo_url = checked_repo_url(repo_url, "--repo-url", FleetError)
    repo_file = repo / REPO_FILE
    if not repo_file.is_file():
        raise FleetError(f"{repo}: no {REPO_FILE}; is it a repository netnsfix publish made?")
    found = []
    for path in sorted((repo / "Packages").glob(f"*/{name}-*.rpm")):
        try:
            header = read_header(path)
        except NetnsfixError as error:
            raise FleetError(f"{path}: {error}") from None
        if header.name == name and header.arch != "src":
            found.append((path, header.nevra))
    if len(found) != 1:
        names = ", ".join(path.name for path, _ in found) or "none"
        raise FleetError(f"{repo}: expected one binary {name} RPM under Packages/, found {names}")
    path, nevra = found[0]
    try:
        verify_payload(path)
    except NetnsfixError as error:
        raise FleetError(str(error)) from None  # its message names the file
    try:
        kept = read_baseurl(repo_file)
    except NetnsfixError as error:
        raise FleetError(str(error)) from None
    if not kept:
        raise FleetError(f"{repo_file}: no baseurl in [netnsfix]")
    kept = checked_repo_url(kept, f"{repo_file}: baseurl", FleetError)
    baseurl = repo_url or kept
    key = repo / KEY_FILE
    signed = key.is_file()
    if signed:  # a signed repository: its package must carry a good signature by that key and no other
        try:
            trusted = replace(key_file_check([key]), truster=f"the repository ({key})")
            trusted = replace(trusted, aftermath="nothing was exported")
            verify_packages(trusted, [(str(path), path)])
        except NetnsfixError as error:
            raise FleetError(str(error)) from error
    text = render(baseurl, signed, key_url=f"file://{NODE_KEY}" if signed else None).encode()
    return FixedPackage(
        name=name,
        nevra=nevra,
        relative=str(path.relative_to(repo)),
        sha256=sha256_file(path),
        baseurl=baseurl,
        repo_file=text,
        gpg_key=key.read_bytes() if signed else None,
    )
