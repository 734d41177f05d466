"""Keys netnsfix makes once and keeps: the publisher's own (so ``publish`` signs by default) and the demo's.

A repository served over plain HTTP is only as good as the check a host makes on what
it downloads; Fedora 18's yum checks a package's GPG signature (``gpgcheck=1``) and
nothing stronger than MD5 otherwise. So ``netnsfix publish`` signs unless told not to,
with ``--sign KEYID`` from the operator's keyring or, by default, with a key of its own:
an RSA key (rpm 4.10 reads RSA and DSA only) made with gpg in a private keyring
(``CACHE/publish-key/gnupg``), no passphrase, kept, so every later publish on this
machine signs with the same key and hosts import it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import SigningError
from netnsfix.publish.signing import SigningKey
from netnsfix.util.command import run
from netnsfix.util.fsutil import atomic_write_text
from netnsfix.util.paths import cache_dir

OWN_USER_ID = "netnsfix publisher <publish@netnsfix.invalid>"
OWN_KEY_FOLDER = "publish-key"
_STAMP = "key.json"
_PUBLIC = "public.asc"
_NO_PASSPHRASE = ("--pinentry-mode", "loopback", "--passphrase", "")
_RSA_SIGN = ("rsa2048", "sign", "never")


@dataclass(frozen=True)
class KeptKey:
    """A key in a private keyring of its own: the keyring, fingerprint, user id and exported public key."""

    home: Path
    fingerprint: str
    user_id: str
    public_file: Path

    def signing_key(self) -> SigningKey:
        return SigningKey(self.user_id, self.fingerprint, home=self.home)


def gpg(home: Path, *args: str) -> str:
    """Run gpg on the private keyring ``home``; a failure is one SigningError line."""
    done = run(["gpg", "--homedir", str(home), "--batch", *args], check=False, what="gpg")
    if done.returncode != 0:
        raise SigningError(f"gpg {args[0]} in {home} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent gpg started for ``home``, so no daemon outlives the command."""
    run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


@contextlib.contextmanager
def keyring_in_use(home: Path) -> Iterator[None]:
    """Sign with the kept keyring ``home`` alone, then stop its agent. Two processes signing with one
    keyring (a demo beside a test run, two test workers) would otherwise stop the agent the other's
    rpmsign still talks to, and that signing fails."""
    with open(home.parent / ".lock", "w") as lock:  # kept_key's lock: nor is the key made anew meanwhile
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            stop_agent(home)


def kept_key(base: Path, user_id: str, created: int | None = None, public_name: str = _PUBLIC) -> KeptKey:
    """The key kept in ``base`` (``base/gnupg``, its public half in ``base/public_name``), made first
    when there is none (about a second). ``created``: the key's Unix creation time (gpg will not
    sign as of a time before it)."""
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _load(base, user_id, public_name)
        if found is not None:
            return found
        home = base / "gnupg"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(mode=0o700)
        faked = ("--faked-system-time", str(created)) if created is not None else ()
        try:
            gpg(home, *faked, *_NO_PASSPHRASE, "--quick-gen-key", user_id, *_RSA_SIGN)
            fingerprint = _fingerprint(home)
            public = gpg(home, "--armor", "--export", fingerprint)
        finally:
            stop_agent(home)
        if not public.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
            raise SigningError(f"{home}: gpg exported no public key for {user_id}")
        atomic_write_text(base / public_name, public)
        atomic_write_text(base / _STAMP, json.dumps({"fingerprint": fingerprint, "user_id": user_id}) + "\n")
        return KeptKey(home, fingerprint, user_id, base / public_name)


def own_key(cache: Path | None = None) -> SigningKey:
    """The publisher's own key (``CACHE/publish-key``), made on the first publish that signs with it."""
    return kept_key((cache or cache_dir()) / OWN_KEY_FOLDER, OWN_USER_ID).signing_key()


def _load(base: Path, user_id: str, public_name: str) -> KeptKey | None:
    try:
        data = json.loads((base / _STAMP).read_text(encoding="utf-8"))
        key = KeptKey(base / "gnupg", str(data["fingerprint"]), user_id, base / public_name)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if key.public_file.is_file() and key.home.is_dir() and data.get("user_id") == user_id else None


def _fingerprint(home: Path) -> str:
    for line in gpg(home, "--with-colons", "--list-secret-keys").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr":
            return fields[9]
    raise SigningError(f"{home}: gpg made no secret key")
