"""One path policy for every file written from a name netnsfix did not choose.

Names come from repodata hrefs, locks, RPM headers, cache entries: a hostile
one must not climb out of its target by spelling (``..``, ``%2e%2e``,
``/etc``, ``a\\b``, a URL) nor by a symlink planted on the way. So a name is
percent-decoded (until it no longer changes) and normalised before it is
checked (:func:`relative_name`), files are opened below their target one
component at a time with ``O_NOFOLLOW`` (:func:`open_below`), and an output
folder may neither lie inside nor hold a repository, the cache or a stage's
build folder (:func:`overlap`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DECODE_ROUNDS = 4  # %252e%252e decodes to %2e%2e, then to ..: a server may decode more than once


def control_character(text: str) -> str | None:
    """The first character a line of text cannot hold (C0 controls, DEL, C1 controls, line separators)."""
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0 or char in "\u2028\u2029":
            return char
    return None


def decoded(name: str) -> str:
    """``name`` percent-decoded until it no longer changes (a few rounds at most)."""
    for _ in range(_DECODE_ROUNDS):
        once = unquote(name, errors="surrogateescape")
        if once == name:
            break
        name = once
    return name


def unconfined_reason(name: str, single: bool = False) -> str | None:
    """Why ``name`` is not a plain relative path inside its target, or None when it is.

    Checked on the percent-decoded text as well as on the text itself: ``%2e%2e``
    reaches a server's file system as ``..``. ``single``: one file name, no folder
    (an inventory host's ``host_vars/NAME.yml``, a package file in its folder).
    """
    if not name:
        return "it is empty"
    if single and "/" in decoded(name):
        return "it holds a '/' (a file name is one component)"
    for text in dict.fromkeys((name, decoded(name))):
        bad = control_character(text)
        if bad is not None:
            return f"it holds the control character {bad!r}"
        if "\\" in text:
            return "it holds a backslash"
        if text.startswith("/"):
            return "it is an absolute path"
        if _SCHEME.match(text):
            return "it is a URL"
        parts = text.split("/")
        if any(part in ("..", ".") for part in parts):
            return "it climbs out by '..'" if ".." in parts else "it holds a '.' component"
        if any(part == "" for part in parts):
            return "it holds an empty component ('//' or a trailing '/')"
    return None


def relative_name(name: str) -> PurePosixPath:
    """``name`` as a relative path below its target; ValueError (with the reason) when it is not one."""
    reason = unconfined_reason(name)
    if reason is not None:
        raise ValueError(reason)
    return PurePosixPath(name)


def open_below(root: Path, relative: str, flags: int, mode: int = 0o644, make_folders: bool = False) -> int:
    """Open ``root/relative`` without following a symlink anywhere below ``root``; a file descriptor.

    Each folder on the way is opened with ``O_NOFOLLOW`` relative to the one
    above (and made with ``make_folders``), and so is the file: a symlink
    planted at any step is ``OSError(ELOOP)`` naming the path, never followed.
    ``root`` itself is the caller's choice and may be a symlink.
    """
    parts = relative_name(relative).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        where = root
        for part in parts[:-1]:
            where = where / part
            if make_folders:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            child = _open_step(part, os.O_RDONLY | os.O_DIRECTORY, 0, fd, where)
            os.close(fd)
            fd = child
        return _open_step(parts[-1], flags, mode, fd, root / relative)
    finally:
        os.close(fd)


def _open_step(name: str, flags: int, mode: int, dir_fd: int, path: Path) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and _is_symlink(path):
            raise OSError(errno.ELOOP, "a symlink is in the way (not followed)", str(path)) from None
        raise OSError(error.errno, error.strerror, str(path)) from None


def _is_symlink(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def real_folder_below(root: Path, relative: str) -> Path:
    """``root/relative`` as a real folder (made when missing): no component below ``root`` may be a symlink."""
    parts = relative_name(relative).parts
    root.mkdir(parents=True, exist_ok=True)
    where = root
    for part in parts:
        where = where / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(where, 0o755)
        if _is_symlink(where) or not where.is_dir():
            what = "a symlink" if _is_symlink(where) else "not a folder"
            raise OSError(errno.ELOOP if _is_symlink(where) else errno.ENOTDIR, f"{what} is in the way", str(where))
    return where


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies below it (both resolved: symlinks and ``..`` do not hide it)."""
    return _resolved(path).is_relative_to(_resolved(folder))


def overlap(path: Path, others: Iterable[tuple[Path, str]]) -> str | None:
    """How ``path`` overlaps one of ``others`` ((folder, what it is)), or None when apart from all.

    "is X" / "is inside X" / "holds X": an output folder may be none of these to
    a repository, the cache or a build folder, since writing one would change the other.
    """
    for other, what in others:
        if _resolved(path) == _resolved(other):
            return f"is {what} {other}"
        if inside(path, other):
            return f"is inside {what} {other}"
        if inside(other, path):
            return f"holds {what} {other}"
    return None


def enclosing(path: Path, marker: str) -> Path | None:
    """The nearest folder at or above ``path`` (resolved) that holds ``marker`` (say, repodata/repomd.xml)."""
    here = _resolved(path)
    for folder in (here, *here.parents):
        if (folder / marker).exists():
            return folder
    return None


__all__ = [
    "control_character",
    "decoded",
    "enclosing",
    "inside",
    "open_below",
    "overlap",
    "real_folder_below",
    "relative_name",
    "unconfined_reason",
]
