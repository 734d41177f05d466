"""Check packages' GPG signatures the way yum does (gpgcheck=1), before any byte of them is unpacked.

A sha256 from the repodata only proves that a package is the one the mirror
meant to serve; a mirror that writes its own repodata can serve anything.
Fedora signs every package it publishes with its release key, and yum refuses
a package that is unsigned, signed by another key, or altered after signing.
So does this module, for the SRPM and every build-root package, against the
keys the recipe names (``[[gpg.keys]]``: a full fingerprint and the public key
file shipped beside the recipe).

rpm itself does the checking: the trusted keys are imported with ``rpmkeys
--import`` into a private rpm database (a temporary ``--dbpath``; the host's
rpmdb and gpg keyring are never read), and ``rpmkeys --checksig`` with
``%_pkgverify_level all`` checks every digest and signature a package
carries. rpm rather than python-gnupg over the header signature: rpm knows
which bytes each of its signatures and digests covers (V3 and V4 signatures,
header-only and header+payload, MD5 and SHA256 payload digests, as Fedora 18's
packages have them) and it is the verifier yum and dnf use; doing the split
by hand over gpg would be new code for what rpm's well-kept one already does.
gpg only reads each key file's fingerprint (``--import-options show-only``,
in a throwaway home), so a key file that is not the key its fingerprint names
is refused before anything is trusted.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import CommandError, SignatureError
from netnsfix.recipe import GpgKey, Recipe
from netnsfix.util.command import CommandResult, last_line, run
from netnsfix.util.inputfile import not_regular

NO_GPGCHECK = "--no-gpgcheck"
_SIGNATURE = re.compile(r"Signature, key ID ([0-9a-fA-F]+): (\w+)")


@dataclass(frozen=True)
class GpgCheck:
    """What to check packages against: the recipe's keys, or nothing (``--no-gpgcheck``)."""

    keys: tuple[GpgKey, ...]
    enabled: bool = True
    source: str = ""  # the recipe file, for messages
    truster: str = "the recipe"  # who trusts the keys, for messages ("the repository (KEYFILE)" in fleet export)
    aftermath: str = "nothing of it was unpacked"  # what a refusal means for the caller, for messages

    @classmethod
    def of_recipe(cls, recipe: Recipe) -> GpgCheck:
        return cls(recipe.gpg_keys, True, str(recipe.path))

    @classmethod
    def off(cls) -> GpgCheck:
        return cls((), enabled=False)

    @property
    def label(self) -> str:
        """``off`` or the trusted fingerprints: part of the keys of what is made from checked packages."""
        return ",".join(sorted(k.fingerprint for k in self.keys)) if self.enabled else "off"

    @property
    def trusted(self) -> str:
        """The trusted keys, for messages: the long ids (the last 16 hex digits of each fingerprint)."""
        return " or ".join(k.fingerprint[-16:] for k in self.keys) or "none"


@dataclass(frozen=True)
class Checked:
    """What verification cost: how many packages, how long (for the stage's detail line and bench)."""

    packages: int
    seconds: float


def verify_packages(check: GpgCheck, packages: Sequence[tuple[str, Path]]) -> Checked:
    """Check each ``(name, path)``; the first bad one raises a one-line SignatureError naming it and the key.

    Nothing is checked when ``check`` is off. ``name`` is what the message
    calls the package (the cache stores it under its sha256).
    """
    started = time.monotonic()
    if not check.enabled or not packages:
        return Checked(0, 0.0)
    if not check.keys:
        raise SignatureError(
            f"{check.source or 'the recipe'}: names no GPG key ([[gpg.keys]]), so no package can be trusted; "
            f"add the archive's release key or run with {NO_GPGCHECK}"
        )
    with tempfile.TemporaryDirectory(prefix="netnsfix-gpgcheck-") as scratch:
        dbpath = Path(scratch) / "rpmdb"
        dbpath.mkdir()
        for key in check.keys:
            _check_key_file(key, Path(scratch) / "gnupg")
            _rpmkeys(dbpath, ["--import", str(key.file)], f"import the key {key.file}")
        paths = [str(path) for _, path in packages]
        done = _rpmkeys(dbpath, ["--define", "_pkgverify_level all", "--checksig", "-v", *paths], None)
    blocks = _blocks(done.stdout, paths)
    for (name, _path), text in zip(packages, (blocks.get(p) for p in paths), strict=True):
        problem = _problem(text, check, done.stderr)
        if problem:
            raise SignatureError(f"{name}: {problem}; {check.aftermath}")
    if done.returncode != 0:  # rpm failed something the lines above did not show: believe rpm
        raise SignatureError(f"rpmkeys --checksig failed: {last_line(done.stderr, done.stdout)}")
    return Checked(len(packages), time.monotonic() - started)


def _rpmkeys(dbpath: Path, args: list[str], what: str | None) -> CommandResult:
    """rpmkeys on the private database; ``what`` set: a failure is a SignatureError saying so."""
    argv = ["rpmkeys", "--dbpath", str(dbpath), *args]
    try:
        done = run(argv, check=False, env={**os.environ, "LC_ALL": "C"})
    except CommandError as error:
        raise SignatureError(f"{error} (needed to check the packages' GPG signatures)") from None
    if what and done.returncode != 0:
        raise SignatureError(f"cannot {what}: {last_line(done.stderr, done.stdout)}")
    return done


def key_file_check(files: Sequence[Path]) -> GpgCheck:
    """Trust the keys in ``files`` (``--gpg-key``): each must hold exactly one public key."""
    keys = []
    with tempfile.TemporaryDirectory(prefix="netnsfix-gpgkey-") as scratch:
        for file in files:
            found = _primaries(file, Path(scratch) / "gnupg")
            if len(found) != 1:
                raise SignatureError(f"{file}: holds {len(found)} public keys, expected one (--gpg-key)")
            keys.append(GpgKey(found[0], file.resolve()))
    return GpgCheck(tuple(keys), True, "--gpg-key")


def _check_key_file(key: GpgKey, home: Path) -> None:
    """The file holds the key its fingerprint names, and only that key."""
    primaries = _primaries(key.file, home)
    if primaries != [key.fingerprint]:
        raise SignatureError(
            f"{key.file}: holds {', '.join(primaries)}, not the key {key.fingerprint} the recipe names"
        )


def _primaries(file: Path, home: Path) -> list[str]:
    """The primary keys' fingerprints in a public key file, read by gpg without importing it anywhere."""
    odd = not_regular(file)
    if odd is not None:
        raise SignatureError(f"{file}: {odd}: a public key file is what the packages' signatures are checked against")
    if not file.is_file():
        raise SignatureError(
            f"{file}: missing: this public key file is what the packages' signatures are checked against "
            f"(or run with {NO_GPGCHECK})"
        )
    home.mkdir(mode=0o700, exist_ok=True)
    argv = ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--import-options", "show-only"]
    try:
        done = run([*argv, "--import", str(file)], check=False)
    except CommandError as error:
        raise SignatureError(f"{error} (needed to read {file})") from None
    primaries: list[str] = []
    section = ""
    for line in done.stdout.splitlines():
        fields = line.split(":")
        if fields[0] in {"pub", "sub"}:
            section = fields[0]
        elif fields[0] == "fpr" and section == "pub" and len(fields) > 9:
            primaries.append(fields[9].upper())
    if not primaries:
        raise SignatureError(f"{file}: not a public key file ({last_line(done.stderr, 'gpg found no key')})")
    return primaries


def _blocks(stdout: str, paths: Sequence[str]) -> dict[str, list[str]]:
    """``rpmkeys -Kv`` output split by package: ``PATH:`` then its indented lines."""
    wanted = set(paths)
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        if not line[:1].isspace() and line.endswith(":") and line[:-1] in wanted:
            current = blocks.setdefault(line[:-1], [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return blocks


def _problem(lines: list[str] | None, check: GpgCheck, stderr: str) -> str:
    """What is wrong with one package, in words; empty when it is signed by a trusted key and intact."""
    if lines is None:
        return f"rpm cannot read it as a package ({last_line(stderr, '')})"
    signatures = [(m.group(1).upper(), m.group(2)) for m in map(_SIGNATURE.search, lines) if m]
    bad = [line for line in lines if line.endswith(": BAD") or ": BAD (" in line]
    if bad:
        by = f" by key {signatures[0][0]}" if signatures else ""
        return f"altered after it was signed{by} ({bad[0].split(' (')[0]})"
    untrusted = [key for key, status in signatures if status != "OK"]
    if untrusted:
        return f"signed with key {untrusted[0]}, which {check.truster} does not trust (it trusts {check.trusted})"
    if not signatures:
        return f"not signed ({check.truster} trusts key {check.trusted})"
    return ""
