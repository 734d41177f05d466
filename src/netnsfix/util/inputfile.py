"""Read a file the user named (a recipe, a lock, a manifest, a patch, a key): a regular file of a sane size.

A FIFO given as an input would block the read forever, a device would never
end, a folder is not "missing": each is refused at once, in one line naming
the file. The file is opened with O_NONBLOCK (so opening a FIFO does not wait
for a writer) and checked with fstat on the open descriptor, so what is checked
is what is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from netnsfix.errors import NetnsfixError

LIMIT = 64 << 20  # a recipe, lock, manifest or patch is kilobytes; 64 MiB is far beyond any real one

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def not_regular(path: Path) -> str | None:
    """Why ``path`` cannot be an input file ("is a folder", "is a FIFO"...), or None (a regular file, or missing)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"is {kind_of(mode)}, not a file"


def read_input(
    path: Path, error: type[NetnsfixError], *, what: str = "", missing: str = "missing", limit: int = LIMIT
) -> bytes:
    """``path``'s bytes, or one ``error`` naming it: missing, a folder/FIFO/device, too big, unreadable.

    ``what`` names the file in the messages: "the recipe" gives "cannot read the recipe: it is a FIFO".
    """
    cannot = f"cannot read {what}".rstrip()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except OSError as problem:
        raise error(f"{path}: {cannot}: {problem.strerror or problem}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: {cannot}: it is {kind_of(info.st_mode)}, not a file")
        if info.st_size > limit:
            raise error(f"{path}: {cannot}: {info.st_size} bytes, more than such a file can be ({limit} at most)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as problem:
        raise error(f"{path}: {cannot}: {problem.strerror or problem}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: {cannot}: more than {limit} bytes, more than such a file can be")
    return data


def read_input_text(
    path: Path, error: type[NetnsfixError], *, what: str = "", missing: str = "missing", limit: int = LIMIT
) -> str:
    """:func:`read_input` as UTF-8 text; bytes that are not UTF-8 are one error naming the file and the byte."""
    data = read_input(path, error, what=what, missing=missing, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text ({problem.reason} at byte {problem.start})") from None


__all__ = ["LIMIT", "kind_of", "not_regular", "read_input", "read_input_text"]
