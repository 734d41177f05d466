"""Downloads: streamed, checked against sha256, kept in a content-addressed cache.

A file enters the cache only once its checksum matches: it is streamed to
``partial/<sha256>.part`` and renamed to ``sha256/<ab>/<sha256>`` after the
check. A broken download is resumed with a Range request on the next try, and
a transfer that still fails (or is interrupted) keeps its partial file for the
next run to resume; only a wrong checksum removes it. Mirrors are tried in
order.

The cache does not trust its file names: a hit is hashed again before it is
handed out, and one whose bytes no longer match is dropped (one warning) and
fetched again. Fetches of one entry are serialized by a lock on
``locks/<sha256>.lock``, so two runs sharing a cache never share a partial file.
"""

from __future__ import annotations

import errno
import http.client
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import requests
import urllib3

from netnsfix.errors import ChecksumError, FetchError
from netnsfix.util.confined import open_below, real_folder_below
from netnsfix.util.fsutil import sha256_file
from netnsfix.util.inputfile import kind_of
from netnsfix.util.locking import exclusive
from netnsfix.util.paths import cache_dir

log = logging.getLogger(__name__)

CHUNK = 1 << 16
DEADLINE = 3600.0  # seconds for one file, every try and mirror included: Fedora 18's largest package in an hour
MIN_RATE = 1024  # bytes a second, averaged over RATE_WINDOW: slower than this, a transfer gives up
RATE_WINDOW = 60.0
# What a body that breaks mid-transfer raises, from each layer under requests: worth another try.
BODY_BROKEN = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
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

    def lock_for(self, sha256: str) -> Path:
        return self.root / "locks" / f"{sha256}.lock"

    def drop_planted(self, path: Path) -> None:
        """A cache entry that is not a regular file (a symlink, a FIFO planted there) is not ours:
        drop it (one warning) rather than read or append through it."""
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISREG(mode):
            log.warning("%s: not a regular file in the cache (%s); dropped", path, kind_of(mode))
            if stat.S_ISDIR(mode):
                raise OSError(errno.EISDIR, "a folder is where a cache file belongs", str(path))
            path.unlink()

    def lookup(self, sha256: str) -> Path | None:
        """The cached file, hashed again: an entry whose bytes no longer match is dropped (one warning)."""
        path = self.path_for(sha256)
        self.drop_planted(path)
        if not path.is_file():
            return None
        actual = sha256_file(path)
        if actual == sha256:
            return path
        log.warning("%s: cached file does not match its sha256 (it is %s); dropped, fetching it again", path, actual)
        path.unlink(missing_ok=True)
        return None


class _Retryable(Exception):
    """A failure worth another try (connection, 5xx, truncated body); ``status``: the server's HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Budget:
    """The time one file may take (every try and mirror) and the slowest rate a transfer may keep."""

    deadline: float  # seconds
    min_rate: int
    window: float
    started: float = field(default_factory=time.monotonic)

    def check(self, url: str, window_start: float, window_bytes: int, now: float) -> None:
        """FetchError when the deadline has passed or the last window brought too few bytes."""
        if now - self.started > self.deadline:
            raise _TooSlow(f"{url}: gave up after {now - self.started:.0f} s, the deadline for one file")
        elapsed = now - window_start
        if elapsed >= self.window and window_bytes < self.min_rate * elapsed:
            raise _TooSlow(
                f"{url}: too slow: {window_bytes} bytes in {elapsed:.0f} s "
                f"(at least {self.min_rate} bytes/s needed); gave up"
            )


class _TooSlow(FetchError):
    """A transfer slower than the minimum rate, or past the deadline: not tried again on the same mirror."""


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
        deadline: float = DEADLINE,
        min_rate: int = MIN_RATE,
        rate_window: float = RATE_WINDOW,
    ) -> None:
        self.cache = cache or Cache.default()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "netnsfix")
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.progress: Progress = progress or _NoProgress()
        self.deadline = deadline
        self.min_rate = min_rate
        self.rate_window = rate_window

    def _budget(self) -> _Budget:
        return _Budget(self.deadline, self.min_rate, self.rate_window)

    # -- small files (repodata) -------------------------------------------------

    def get_bytes(self, url: str, limit: int | None = None) -> bytes:
        """The whole body at ``url`` (repodata), byte for byte, with the same retry rules as downloads.

        The bytes are the file's own (``Accept-Encoding: identity``, nothing
        decoded), so a server that labels ``.gz`` files with a Content-Encoding
        cannot change what the checksums in repomd.xml are compared with. More
        than ``limit`` bytes, a transfer slower than the minimum rate or past the
        deadline: one FetchError.
        """
        budget = self._budget()
        try:
            return self._retrying(lambda: self._get_once(url, limit, budget))
        except _Retryable as error:
            raise FetchError(f"{error} (after {self.retries + 1} tries)", status=error.status) from error

    def _get_once(self, url: str, limit: int | None, budget: _Budget) -> bytes:
        try:
            response = self.session.get(url, headers={"Accept-Encoding": "identity"}, stream=True, timeout=self.timeout)
        except requests.RequestException as error:
            raise _Retryable(f"{url}: {type(error).__name__}: {error}") from None
        with response:
            if response.status_code >= 500:
                raise _Retryable(f"{url}: HTTP {response.status_code} {response.reason}", response.status_code)
            if response.status_code != 200:
                raise FetchError.http(url, response.status_code, response.reason)
            body = bytearray()
            for block in self._blocks(response, url, budget, broken="truncated body"):
                body += block
                if limit is not None and len(body) > limit:
                    raise FetchError(f"{url}: more than {limit} bytes; refused (no repository file is that big)")
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) != len(body):
            raise _Retryable(f"{url}: truncated body: got {len(body)} of {expected} bytes")
        return bytes(body)

    def _blocks(
        self,
        response: requests.Response,
        url: str,
        budget: _Budget,
        received: int = 0,
        broken: str = "connection broken",
    ) -> Iterator[bytes]:
        """The body's blocks as they arrive; a broken body is _Retryable, a slow one _TooSlow."""
        read = getattr(response.raw, "read1", None) or response.raw.read
        window_start, window_bytes = time.monotonic(), 0
        while True:
            try:
                # read1: whatever has arrived, so a broken body keeps every byte received
                block = read(CHUNK, decode_content=False)
            except BODY_BROKEN as error:
                raise _Retryable(f"{url}: {broken} after {received} bytes: {error}") from None
            if not block:
                return
            received += len(block)
            window_bytes += len(block)
            yield block
            now = time.monotonic()
            budget.check(url, window_start, window_bytes, now)
            if now - window_start >= budget.window:
                window_start, window_bytes = now, 0

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
        """The file with ``sha256``, from the cache or from the first mirror that serves it.

        Holds the entry's lock throughout: a second fetch of the same file waits,
        then finds it in the cache.
        """
        label = name or sha256
        try:
            real_folder_below(self.cache.root, "locks")
            with exclusive(
                self.cache.lock_for(sha256), lambda: log.info("%s: another netnsfix is fetching it; waiting", label)
            ):
                return self._fetch_locked(urls, sha256, size, name, self._budget())
        except OSError as error:
            where = error.filename or self.cache.root
            raise FetchError(f"{where}: cannot use the download cache: {error.strerror or error}") from None

    def _fetch_locked(self, urls: Sequence[str], sha256: str, size: int | None, name: str, budget: _Budget) -> Path:
        cached = self.cache.lookup(sha256)
        if cached:
            log.info("%s: in the cache", name or cached.name)
            return cached
        if not urls:
            raise FetchError(f"{name or sha256}: no URL to fetch it from")
        failures: list[FetchError] = []
        for url in urls:
            try:
                return self._fetch_one(url, sha256, size, name or url.rsplit("/", 1)[-1], budget)
            except FetchError as error:  # a mirror serving other bytes is tried like one that fails
                failures.append(error)
                log.info("%s", error)
        if len(failures) == 1:
            raise failures[0]
        kind = ChecksumError if any(isinstance(f, ChecksumError) for f in failures) else FetchError
        raise kind(f"every mirror failed: {'; '.join(map(str, failures))}", failures=failures)

    def _fetch_one(self, url: str, sha256: str, size: int | None, name: str, budget: _Budget) -> Path:
        partial = self.cache.partial_for(sha256)
        real_folder_below(self.cache.root, "partial")
        self.cache.drop_planted(partial)
        leftover = partial.exists()
        self._download(url, partial, size, name, budget)
        digest = sha256_file(partial)
        if digest != sha256 and leftover:
            # the partial file an earlier run left may be what is wrong: start once from nothing
            log.info("%s: sha256 differs after resuming an earlier download; downloading it whole", url)
            partial.unlink(missing_ok=True)
            self._download(url, partial, size, name, budget)
            digest = sha256_file(partial)
        if digest != sha256:
            partial.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: sha256 is {digest}, expected {sha256}; nothing was kept")
        dest = self.cache.path_for(sha256)
        real_folder_below(self.cache.root, f"sha256/{sha256[:2]}")
        os.replace(partial, dest)
        return dest

    def _download(self, url: str, partial: Path, size: int | None, name: str, budget: _Budget) -> None:
        """Stream ``url`` into ``partial``, resuming with Range after a broken try.

        Whatever happens, the bytes received stay in ``partial`` for the next
        try or the next run to resume from (the sha256 check decides later);
        an empty partial file is removed.
        """
        try:
            self._retrying(lambda: self._stream(url, partial, size, name, budget))
        except _Retryable as error:
            raise FetchError(
                f"{error} (after {self.retries + 1} tries; {_kept(partial)})", status=error.status
            ) from error
        except _TooSlow as error:
            raise _TooSlow(f"{error} ({_kept(partial)})") from error
        except BaseException:
            _kept(partial)
            raise

    def _stream(self, url: str, partial: Path, size: int | None, name: str, budget: _Budget) -> None:
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
                raise _Retryable(f"{url}: HTTP {response.status_code} {response.reason}", response.status_code)
            if response.status_code == 416 and done:
                partial.unlink()
                raise _Retryable(f"{url}: the server refused to resume; starting again")
            if response.status_code not in (200, 206):
                raise FetchError.http(url, response.status_code, response.reason)
            if response.status_code == 200 and done:
                done = 0  # the server ignored Range: start over
            if response.status_code == 206 and _range_start(response.headers.get("Content-Range")) != done:
                partial.unlink(missing_ok=True)
                raise _Retryable(f"{url}: the server resumed at another offset than {done}; starting again")
            length = response.headers.get("Content-Length")
            total = done + int(length) if length is not None and length.isdigit() else size
            self.progress.start(name, total, done)
            received = done
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if done else os.O_TRUNC)
            try:
                # never through a symlink planted at partial/NAME.part: O_NOFOLLOW below the cache root
                fd = open_below(self.cache.root, f"partial/{partial.name}", flags, 0o644)
                with open(fd, "wb") as out:
                    for block in self._blocks(response, url, budget, received):
                        out.write(block)
                        received += len(block)
                        self.progress.advance(len(block))
            finally:
                self.progress.finish()
        if total is not None and received < total:
            raise _Retryable(f"{url}: truncated body: got {received} of {total} bytes")


def _kept(partial: Path) -> str:
    """Remove ``partial`` when empty; say what is kept for the next run."""
    try:
        size = partial.stat().st_size
    except FileNotFoundError:
        return "nothing was kept"
    if size == 0:
        partial.unlink(missing_ok=True)
        return "nothing was kept"
    return f"{size} bytes kept in {partial}; the next run resumes from there"


def _range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", (content_range or "").strip())
    return int(match.group(1)) if match else None
