"""One publish at a time per repository: an fcntl lock on DIR/.netnsfix-publish.lock.

flock() locks belong to the open file, so two processes (or two threads that
each open the file) exclude each other, and the kernel drops the lock when a
publisher dies, even by SIGKILL: a killed publish never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netnsfix.errors import PublishError

LOCK_NAME = ".netnsfix-publish.lock"


def ensure_repository_dir(repo: Path) -> None:
    """Create the repository folder, or say in one line why it cannot be written."""
    try:
        repo.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PublishError(f"{repo}: cannot create the repository folder: {error.strerror or error}") from None
    if not repo.is_dir():
        raise PublishError(f"{repo}: not a folder")
    if not os.access(repo, os.W_OK):
        raise PublishError(f"{repo}: repository folder is not writable")


@contextmanager
def locked(repo: Path) -> Iterator[Path]:
    """Hold the repository's publish lock for the block (waits for a running publish)."""
    ensure_repository_dir(repo)
    path = repo / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise PublishError(f"{path}: cannot open the publish lock: {error.strerror or error}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
