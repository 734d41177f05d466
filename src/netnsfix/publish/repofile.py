"""DIR/netnsfix.repo, the file a host drops into /etc/yum.repos.d, and how to use it.

Two sections, as Fedora ships its own repositories: ``[netnsfix]`` (binary
RPMs, enabled) and ``[netnsfix-source]`` (the SRPMs under DIR/SRPMS, disabled,
so ``yum install`` never considers a source package, while
``yumdownloader --source`` / ``dnf download --source`` find it).
"""

from __future__ import annotations

import configparser
from pathlib import Path

from netnsfix.errors import PublishError
from netnsfix.util.inputfile import read_input_text

REPO_FILE = "netnsfix.repo"
KEY_FILE = "RPM-GPG-KEY-netnsfix"
SOURCE_DIR = "SRPMS"


def default_baseurl(repo: Path) -> str:
    return repo.resolve().as_uri()


SECTIONS = ("netnsfix", "netnsfix-source")


def read_baseurl(path: Path) -> str | None:
    """The baseurl of an existing netnsfix.repo, so a later publish keeps what the operator chose (None: no file).

    The file is what hosts copy to /etc/yum.repos.d, so it is read back strictly: a
    section netnsfix does not write (an ``[evil]`` repository with ``gpgcheck=0``,
    say) or a file that is not one is refused with one PublishError, never kept or
    silently replaced; the caller checks the URL itself.
    """
    if not path.exists() and not path.is_symlink():
        return None
    text = read_input_text(path, PublishError, what="the repository file")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        first = str(error).splitlines()[0]
        raise PublishError(f"{path}: not a repository file netnsfix wrote ({first}); move it away") from None
    extra = [name for name in parser.sections() if name not in SECTIONS]
    if extra:
        raise PublishError(
            f"{path}: has a section netnsfix does not write ([{extra[0]}]); hosts would read it too: "
            "remove it (or the file) before publishing"
        )
    return parser.get("netnsfix", "baseurl", fallback=None)


def render(baseurl: str, signed: bool, key_url: str | None = None) -> str:
    """The .repo text; gpgcheck and gpgkey only when the packages are signed. The key is the repository's
    own file unless ``key_url`` names another (the fleet's: the file the role put on the node)."""
    baseurl = baseurl.rstrip("/")
    sections = []
    for section, name, url, enabled in (
        ("netnsfix", "netnsfix: fixed packages", baseurl, 1),
        ("netnsfix-source", "netnsfix: fixed packages - source", f"{baseurl}/{SOURCE_DIR}", 0),
    ):
        lines = [
            f"[{section}]",
            f"name={name}",
            f"baseurl={url}",
            f"enabled={enabled}",
            f"gpgcheck={1 if signed else 0}",
        ]
        if signed:
            lines.append(f"gpgkey={key_url or f'{baseurl}/{KEY_FILE}'}")
        lines.append("metadata_expire=1h")
        sections.append("\n".join(lines))
    return "# Written by netnsfix publish. Copy to /etc/yum.repos.d/ on the host.\n" + "\n\n".join(sections) + "\n"


def usage(repo: Path, baseurl: str, package: str = "iproute") -> str:
    """What an operator runs on a host, for the CLI to print."""
    baseurl = baseurl.rstrip("/")
    if baseurl.startswith("file://"):
        fetch = f"cp {repo.resolve() / REPO_FILE} /etc/yum.repos.d/"
    else:
        fetch = f"curl -o /etc/yum.repos.d/{REPO_FILE} {baseurl}/{REPO_FILE}"
    return "\n".join(
        [
            "on a host:",
            f"  {fetch}",
            f"  yum install {package}        # or: yum update {package}; dnf works the same",
            f"serve it over HTTP: netnsfix serve {repo} --bind 0.0.0.0 (publish with --baseurl http://HOST:PORT)",
        ]
    )
