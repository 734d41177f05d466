"""Sign RPMs and repomd.xml with a GnuPG key, and export its public half.

Everything goes through the real tools (``gpg``, ``rpmsign``) with the caller's
environment, so ``GNUPGHOME`` decides which keyring is used, as it does for an
operator signing by hand. Only copies are ever signed: rpmsign rewrites the
file it is given.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import CommandError, SigningError
from netnsfix.util.command import last_line, run


def _run(argv: Sequence[str], what: str) -> str:
    """``argv``'s stdout; a missing tool or a failure is a SigningError saying what was being done."""
    try:
        done = run(argv, check=False)
    except CommandError as error:
        raise SigningError(f"{error} (needed to {what})") from error
    if done.returncode != 0:
        raise SigningError(f"{what} failed ({argv[0]} exit {done.returncode}): {last_line(done.stderr, '')}")
    return done.stdout


def keyring() -> str:
    """The keyring in use, for messages: GNUPGHOME or ~/.gnupg."""
    return os.environ.get("GNUPGHOME") or str(Path.home() / ".gnupg")


@dataclass(frozen=True)
class SigningKey:
    """A secret key in the keyring: what the user named, its fingerprint, and its subkeys'."""

    name: str
    fingerprint: str
    subkey_fingerprints: tuple[str, ...] = ()

    @property
    def long_id(self) -> str:
        return self.fingerprint[-16:]


def find_key(name: str) -> SigningKey:
    """Resolve ``name`` (key id, fingerprint, or user id) to one secret key, or fail clearly."""
    try:
        listing = _run(
            ["gpg", "--batch", "--with-colons", "--list-secret-keys", "--", name],
            f"find secret key {name!r} in {keyring()}",
        )
    except SigningError:
        raise SigningError(f"{name}: no secret key of that name in {keyring()} (set GNUPGHOME?)") from None
    primaries: list[list[str]] = []
    section = ""
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] in {"sec", "ssb"}:
            section = fields[0]
        elif fields[0] == "fpr":
            if section == "sec":
                primaries.append([fields[9]])
            elif section == "ssb" and primaries:
                primaries[-1].append(fields[9])
    if len(primaries) != 1:
        raise SigningError(f"{name}: names {len(primaries)} secret keys in {keyring()}; give a fingerprint")
    fingerprint, *subkeys = primaries[0]
    return SigningKey(name=name, fingerprint=fingerprint, subkey_fingerprints=tuple(subkeys))


def key_file_fingerprint(path: Path) -> str | None:
    """The primary fingerprint of an exported public key file, without importing it."""
    listing = _run(
        ["gpg", "--batch", "--with-colons", "--import-options", "show-only", "--import", str(path)],
        f"read the public key {path}",
    )
    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] == "fpr":
            return fields[9]
    return None


def export_public_key(key: SigningKey) -> bytes:
    """The ASCII-armored public key, as hosts import it (gpgkey= in a .repo file)."""
    # ASCII armor: text, so the round trip through str is exact.
    data = _run(["gpg", "--batch", "--armor", "--export", key.fingerprint], f"export public key {key.name}").encode()
    if not data.strip():
        raise SigningError(f"{key.name}: gpg exported an empty public key from {keyring()}")
    return data


def sign_rpms(key: SigningKey, paths: Sequence[Path], *, home: Path | None = None, at: int | None = None) -> None:
    """Add an RSA header signature to each RPM in place (callers pass copies).

    ``home``: the keyring (default ``$GNUPGHOME``). ``at``: sign as of this
    Unix time (gpg's ``--faked-system-time``), so the same key and package
    give the same bytes every time (the demo archive's packages are cached by content).
    """
    if not paths:
        return
    # Debian's rpm names /usr/bin/gpg2, which gnupg 2.2 no longer installs; SHA256 because
    # gpg would pick SHA512 from the key's preferences and rpm 4.10-era hosts are better served so.
    argv = [
        "rpmsign",
        "--addsign",
        "--define",
        f"_gpg_name {key.fingerprint}",
        "--define",
        f"__gpg {shutil.which('gpg') or 'gpg'}",
        "--define",
        "_gpg_digest_algo sha256",
    ]
    if home or os.environ.get("GNUPGHOME"):
        argv += ["--define", f"_gpg_path {home or os.environ['GNUPGHOME']}"]
    if at is not None:
        argv += ["--define", f"_gpg_sign_cmd_extra_args --faked-system-time {at}!"]
    _run(argv + [str(path) for path in paths], f"sign {len(paths)} RPM(s) with {key.name}")


def sign_detached(key: SigningKey, path: Path) -> Path:
    """Write ``path``.asc, an armored detached signature (repomd.xml.asc for repo_gpgcheck)."""
    target = path.with_name(path.name + ".asc")
    _run(
        [
            "gpg",
            "--batch",
            "--yes",
            "--armor",
            "--detach-sign",
            "--digest-algo",
            "SHA256",
            "--local-user",
            key.fingerprint,
            "--output",
            str(target),
            str(path),
        ],
        f"sign {path} with {key.name}",
    )
    return target
