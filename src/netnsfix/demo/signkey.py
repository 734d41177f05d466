"""The demo archive's release key: made once by netnsfix, cached, and used to sign every package in it.

Fedora signs every package it publishes, and netnsfix checks those signatures
against the recipe's keys (``archive.signature``). The demo archive stands in
for Fedora's, so it is signed the same way, with a key of its own: an RSA key
(as Fedora 18's was) made with gpg in a private keyring under the cache,
``demo-key/``, and kept there, so a warm demo signs nothing. The demo and the
tests trust it in place of the recipe's Fedora key (:meth:`DemoKey.gpgcheck`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.signature import GpgCheck
from netnsfix.errors import DemoError, SigningError
from netnsfix.publish.ownkey import kept_key, keyring_in_use
from netnsfix.publish.signing import SigningKey, sign_rpms
from netnsfix.recipe import GpgKey
from netnsfix.util.paths import cache_dir

USER_ID = "netnsfix demo archive <demo-archive@netnsfix.invalid>"
KEY_FILE = "RPM-GPG-KEY-netnsfix-demo"
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
        :data:`CREATED`), then stop gpg's agent; one signer at a time (the keyring is shared through the cache)."""
        with keyring_in_use(self.home):
            sign_rpms(SigningKey(USER_ID, self.fingerprint, home=self.home), paths, at=at)


def demo_key(cache: Path | None = None) -> DemoKey:
    """The cached demo key (``CACHE/demo-key``), made first when there is none (about a second)."""
    try:
        kept = kept_key((cache or cache_dir()) / "demo-key", USER_ID, CREATED, KEY_FILE)
    except SigningError as error:
        raise DemoError(str(error)) from None
    return DemoKey(kept.home, kept.fingerprint, kept.public_file)
