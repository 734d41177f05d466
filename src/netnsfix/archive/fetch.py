"""Downloads: streamed, checked against sha256, kept in a content-addressed cache.

A file enters the cache only once its checksum matches: it is streamed to
``partial/<sha256>.part`` and renamed to ``sha256/<ab>/<sha256>`` after the
check. A broken download is resumed with a Range request on the next try; a
download interrupted by Ctrl-C is resumed by the next run. A wrong checksum,
or a failure after every retry, removes the partial file. Mirrors are tried
in order.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import requests
import urllib3

from netnsfix.errors import ChecksumError, FetchError
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.paths import cache_dir

log = logging.getLogger(__name__)

CHUNK = 1 << 16
_T = TypeVar("_T")


class Progress(Protocol):
    """What the CLI passes to show a progress bar; the library never prints."""

    def start(self, name: str, total: int | None, done: int = 0) -> None: ...

    def advance(self, amount: int) -> None: ...

    def finish(self) -> None: ...


class _NoProgress:
    def start(self, name: str, total: int | None, done: int = 0) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class Cache:
    """The content-addressed store: ``root/sha256/ab/abcdef...``."""

    root: Path

    @classmethod
    def default(cls) -> Cache:
        return cls(cache_dir() / "downloads")

    def path_for(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def partial_for(self, sha256: str) -> Path:
        return self.root / "partial" / f"{sha256}.part"

    def lookup(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None


class _Retryable(Exception):
    """A failure worth another try (connection, 5xx, truncated body)."""


class Fetcher:
    """HTTP through one requests session, with retries and back-off."""

    def __init__(
        self,
        cache: Cache | None = None,
        session: requests.Session | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        progress: Progress | None = None,
    ) -> None:
        self.cache = cache or Cache.default()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "netnsfix")
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.progress: Progress = progress or _NoProgress()

    # -- small files (repodata) -------------------------------------------------

    def get_bytes(self, url: str) -> bytes:
        """The whole body at ``url`` (repodata), byte for byte, with the same retry rules as downloads.

        The bytes are the file's own (``Accept-Encoding: identity``, nothing
        decoded), so a server that labels ``.gz`` files with a Content-Encoding
        cannot change what the checksums in repomd.xml are compared with.
        """
        try:
            return self._retrying(lambda: self._get_once(url))
        except _Retryable as error:
            raise FetchError(f"{error} (after {self.retries + 1} tries)") from None

    def _get_once(self, url: str) -> bytes:
        try:
            response = self.session.get(url, headers={"Accept-Encoding": "identity"}, stream=True, timeout=self.timeout)
        except requests.RequestException as error:
            raise _Retryable(f"{url}: {type(error).__name__}: {error}") from None
        with response:
            if response.status_code >= 500:
                raise _Retryable(f"{url}: HTTP {response.status_code} {response.reason}")
            if response.status_code != 200:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason}")
            try:
                body = response.raw.read(decode_content=False)
            except (
                requests.RequestException,
                urllib3.exceptions.HTTPError,
                http.client.HTTPException,
                OSError,
            ) as error:
                raise _Retryable(f"{url}: truncated body: {error}") from None
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) != len(body):
            raise _Retryable(f"{url}: truncated body: got {len(body)} of {expected} bytes")
        return body

    def _retrying(self, once: Callable[[], _T]) -> _T:
        """``once()``, tried again with back-off after each _Retryable, ``retries`` times at most.

        When every try failed, the last _Retryable is raised.
        """
        last = _Retryable("")
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return once()
            except _Retryable as error:
                last = error
                log.info("%s (attempt %d of %d)", error, attempt + 1, self.retries + 1)
        raise last

    # -- packages ---------------------------------------------------------------

    def fetch(self, urls: Sequence[str], sha256: str, size: int | None = None, name: str = "") -> Path:
        """The file with ``sha256``, from the cache or from the first mirror that serves it."""
        cached = self.cache.lookup(sha256)
        if cached:
            log.info("%s: in the cache", name or cached.name)
            return cached
        if not urls:
            raise FetchError(f"{name or sha256}: no URL to fetch it from")
        errors: list[str] = []
        corrupt = False
        for url in urls:
            try:
                return self._fetch_one(url, sha256, size, name or url.rsplit("/", 1)[-1])
            except FetchError as error:  # a mirror serving other bytes is tried like one that fails
                corrupt = corrupt or isinstance(error, ChecksumError)
                errors.append(str(error))
                log.info("%s", error)
        kind = ChecksumError if corrupt else FetchError
        if len(errors) == 1:
            raise kind(errors[0])
        raise kind(f"every mirror failed: {'; '.join(errors)}")

    def _fetch_one(self, url: str, sha256: str, size: int | None, name: str) -> Path:
        partial = self.cache.partial_for(sha256)
        partial.parent.mkdir(parents=True, exist_ok=True)
        leftover = partial.exists()
        self._download(url, partial, size, name)
        digest = sha256_file(partial)
        if digest != sha256 and leftover:
            # the partial file an earlier run left may be what is wrong: start once from nothing
            log.info("%s: sha256 differs after resuming an earlier download; downloading it whole", url)
            partial.unlink(missing_ok=True)
            self._download(url, partial, size, name)
            digest = sha256_file(partial)
        if digest != sha256:
            partial.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: sha256 is {digest}, expected {sha256}; nothing was kept")
        dest = self.cache.path_for(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, dest)
        return dest

    def _download(self, url: str, partial: Path, size: int | None, name: str) -> None:
        """Stream ``url`` into ``partial``, resuming with Range after a broken try."""
        # A definite failure leaves nothing behind; only an interrupted
        # download (Ctrl-C) keeps its partial file to resume next time.
        try:
            self._retrying(lambda: self._stream(url, partial, size, name))
        except _Retryable as error:
            partial.unlink(missing_ok=True)
            raise FetchError(f"{error} (after {self.retries + 1} tries; nothing was kept)") from None
        except BaseException as error:
            if not isinstance(error, KeyboardInterrupt):
                partial.unlink(missing_ok=True)
            raise

    def _stream(self, url: str, partial: Path, size: int | None, name: str) -> None:
        done = partial.stat().st_size if partial.exists() else 0
        if size is not None and done > size:
            partial.unlink()
            done = 0
        if size is not None and done == size:
            return
        # the file's own bytes: no transparent compression, which would also break Range
        headers = {"Accept-Encoding": "identity"}
        if done:
            headers["Range"] = f"bytes={done}-"
        try:
            response = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        except requests.RequestException as error:
            raise _Retryable(f"{url}: {type(error).__name__}: {error}") from None
        with response:
            if response.status_code >= 500:
                raise _Retryable(f"{url}: HTTP {response.status_code} {response.reason}")
            if response.status_code == 416 and done:
                partial.unlink()
                raise _Retryable(f"{url}: the server refused to resume; starting again")
            if response.status_code not in (200, 206):
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason}")
            if response.status_code == 200 and done:
                done = 0  # the server ignored Range: start over
            if response.status_code == 206 and _range_start(response.headers.get("Content-Range")) != done:
                partial.unlink(missing_ok=True)
                raise _Retryable(f"{url}: the server resumed at another offset than {done}; starting again")
            length = response.headers.get("Content-Length")
            total = done + int(length) if length is not None and length.isdigit() else size
            self.progress.start(name, total, done)
            received = done
            read = getattr(response.raw, "read1", None) or response.raw.read
            try:
                with open(partial, "ab" if done else "wb") as out:
                    while True:
                        try:
                            # read1: whatever has arrived, so a broken body keeps every byte received
                            block = read(CHUNK, decode_content=False)
                        except (
                            requests.RequestException,
                            urllib3.exceptions.HTTPError,
                            http.client.HTTPException,
                            OSError,
                        ) as error:
                            raise _Retryable(f"{url}: connection broken after {received} bytes: {error}") from None
                        if not block:
                            break
                        out.write(block)
                        received += len(block)
                        self.progress.advance(len(block))
            finally:
                self.progress.finish()
        if total is not None and received < total:
            raise _Retryable(f"{url}: truncated body: got {received} of {total} bytes")


def _range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (content_range or "").strip())
    return int(match.group(1)) if match else None
