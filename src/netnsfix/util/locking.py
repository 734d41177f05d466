"""An exclusive lock held on a file that exists only while it is held.

flock() locks belong to the open file, so they exclude other processes and
are dropped by the kernel when a holder dies (even by SIGKILL). The lock file
is removed on release: a waiter that locked a file removed meanwhile notices
(the path no longer names the inode it holds) and tries again, so two holders
never believe they hold one lock and no lock file is left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the block, waiting for another holder.

    ``on_wait`` is called once when the lock is busy, before waiting. OSError
    (a folder that cannot be written) is left to the caller to name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)  # the holder before us removed it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
