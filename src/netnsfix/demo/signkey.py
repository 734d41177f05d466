"""The demo archive's release key: made once by netnsfix, cached, and used to sign every package in it.

Fedora signs every package it publishes, and netnsfix checks those signatures
against the recipe's keys (``archive.signature``). The demo archive stands in
for Fedora's, so it is signed the same way, with a key of its own: an RSA key
(as Fedora 18's was) made with gpg in a private keyring under the cache,
``demo-key/``, and kept there, so a warm demo signs nothing. The demo and the
tests trust it in place of the recipe's Fedora key (:meth:`DemoKey.gpgcheck`).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.signature import GpgCheck
from netnsfix.errors import DemoError, SigningError
from netnsfix.publish.signing import SigningKey, sign_rpms
from netnsfix.recipe import GpgKey
from netnsfix.util.command import run
from netnsfix.util.fsutil import atomic_write_text
from netnsfix.util.paths import cache_dir

USER_ID = "netnsfix demo archive <demo-archive@netnsfix.invalid>"
KEY_FILE = "RPM-GPG-KEY-netnsfix-demo"
_STAMP = "key.json"
# 2012-10-02 12:00 UTC: the key is dated before the demo archive's packages (signed as of their build
# time, 2012-10-03), since gpg will not sign with a key made after the signature's time.
CREATED = 1349179200


@dataclass(frozen=True)
class DemoKey:
    """The demo's signing key: its keyring, fingerprint and exported public key file."""

    home: Path
    fingerprint: str
    public_file: Path

    def gpgcheck(self) -> GpgCheck:
        """Trust this key alone, as the demo archive's packages are signed with it."""
        return GpgCheck((GpgKey(self.fingerprint, self.public_file),), True, f"the demo archive's key {KEY_FILE}")

    def sign(self, paths: Sequence[Path], at: int) -> None:
        """Sign ``paths`` in place as of Unix time ``at`` (the same bytes every time, for ``at`` after
        :data:`CREATED`), then stop gpg's agent."""
        try:
            sign_rpms(SigningKey(USER_ID, self.fingerprint), paths, home=self.home, at=at)
        finally:
            _stop_agent(self.home)


_NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")
_RSA_SIGN = ("rsa2048", "sign", "never")  # RSA, as Fedora 18's keys (rpm 4.10 reads RSA and DSA only)


def _gpg(home: Path, *args: str) -> str:
    done = run(["gpg", "--homedir", str(home), "--batch", *args], check=False, what="gpg")
    if done.returncode != 0:
        raise SigningError(f"gpg {args[0]} in {home} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def _stop_agent(home: Path) -> None:
    run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def _load(base: Path) -> DemoKey | None:
    try:
        data = json.loads((base / _STAMP).read_text(encoding="utf-8"))
        key = DemoKey(base / "gnupg", str(data["fingerprint"]), base / KEY_FILE)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if key.public_file.is_file() and key.home.is_dir() else None


def demo_key(cache: Path | None = None) -> DemoKey:
    """The cached demo key (``CACHE/demo-key``), made first when there is none (about a second)."""
    base = (cache or cache_dir()) / "demo-key"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _load(base)
        if found is not None:
            return found
        home = base / "gnupg"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(mode=0o700)
        try:
            _gpg(home, "--faked-system-time", str(CREATED), *_NO_PASSPHRASE, "--quick-gen-key", USER_ID, *_RSA_SIGN)
            fingerprint = _fingerprint(home)
            public = _gpg(home, "--armor", "--export", fingerprint)
        finally:
            _stop_agent(home)
        if not public.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
            raise DemoError(f"{home}: gpg exported no public key for the demo archive's key")
        atomic_write_text(base / KEY_FILE, public)
        atomic_write_text(base / _STAMP, json.dumps({"fingerprint": fingerprint, "user_id": USER_ID}) + "\n")
        return DemoKey(home, fingerprint, base / KEY_FILE)


def _fingerprint(home: Path) -> str:
    for line in _gpg(home, "--with-colons", "--list-secret-keys").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr":
            return fields[9]
    raise DemoError(f"{home}: gpg made no secret key for the demo archive")
