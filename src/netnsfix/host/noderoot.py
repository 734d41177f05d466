"""Paths on the node, seen from the folder that holds its root file system.

A node path such as ``/etc/quantum/plugin.ini`` is resolved inside the root:
absolute symlinks (Fedora makes plugin.ini one) are followed relative to the
root, never to the machine running netnsfix.

A root is checked before any step looks at it (it must exist and hold a
node's ``etc/`` and ``usr/``), and one apply or undo at a time holds its lock:
an flock on the root folder itself, so the lock creates nothing inside the
root, dies with its holder, and /proc/locks names the holder's pid.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from netnsfix.errors import HostError
from netnsfix.util.fsutil import atomic_write_bytes

MAX_LINKS = 40
NODE_FOLDERS = ("etc", "usr")


def check_root(root: Path) -> None:
    """Raise unless ``root`` is a folder that looks like a node's root (says what is missing)."""
    if not root.exists():
        raise HostError(f"{root}: no such folder (the node's root)")
    if not root.is_dir():
        raise HostError(f"{root}: not a folder (the node's root)")
    missing = [f"{name}/" for name in NODE_FOLDERS if not (root / name).is_dir()]
    if missing:
        raise HostError(f"{root}: does not look like a node's root: no {' or '.join(missing)} in it")


@contextmanager
def locked_root(root: Path) -> Iterator[None]:
    """Hold ``root``'s lock for one apply or undo; a second one fails at once, naming the holder's pid."""
    check_root(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(os.fstat(fd))
            who = f"process {holder}" if holder else "another process"
            raise HostError(
                f"{root}: another netnsfix host apply or undo is running on this root ({who} holds its lock); "
                "nothing was changed"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _lock_holder(info: os.stat_result) -> int | None:
    """The pid /proc/locks gives for the flock on the file ``info`` describes."""
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted and fields[4].isdigit():
            return int(fields[4])
    return None


def host_path(root: Path, node_path: str | PurePosixPath) -> Path:
    """Where ``node_path`` lies under ``root``, without following symlinks."""
    relative = PurePosixPath(node_path).relative_to("/")
    return root / relative


def resolve(root: Path, node_path: str | PurePosixPath) -> PurePosixPath:
    """``node_path`` with every symlink followed as the node would, staying inside ``root``."""
    parts = list(PurePosixPath(node_path).relative_to("/").parts)
    done = PurePosixPath("/")
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            done = done.parent
            continue
        candidate = done / part
        on_disk = host_path(root, candidate)
        if on_disk.is_symlink():
            links += 1
            if links > MAX_LINKS:
                raise HostError(f"{on_disk}: too many levels of symbolic links")
            target = PurePosixPath(os.readlink(on_disk))
            if target.is_absolute():
                done = PurePosixPath("/")
                parts = list(target.relative_to("/").parts) + parts
            else:
                parts = list(target.parts) + parts
            continue
        done = candidate
    return done


def read_file(root: Path, node_path: str | PurePosixPath, needed_by: str) -> bytes:
    """The bytes of a file the step edits; a missing file is one clear error."""
    path = host_path(root, resolve(root, node_path))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise HostError(f"{host_path(root, node_path)}: missing ({needed_by} edits it)") from None
    except OSError as error:
        raise HostError(f"{path}: cannot read: {error.strerror}") from None


def is_system_root(root: Path) -> bool:
    """True when ``root`` is the running system's own ``/``."""
    return root.resolve() == Path("/")


def systemd_runs(root: Path) -> bool:
    """True when systemd manages ``root`` (the running system, booted with systemd)."""
    return is_system_root(root) and Path("/run/systemd/system").is_dir()


def write_file(path: Path, data: bytes, mode: int, uid: int, gid: int) -> None:
    """Write ``data`` under a temporary name with the given mode and owner, then rename it into place.

    Fedora ships quantum.conf as root:quantum 0640: an edit must keep both, and
    readers must see the old file or the new one, never a part.
    """
    atomic_write_bytes(path, data, mode, owner=(uid, gid))


def missing_parents(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, outermost first."""
    result: list[Path] = []
    parent = path.parent
    while not parent.exists():
        result.append(parent)
        parent = parent.parent
    return list(reversed(result))


def check_writable(path: Path) -> None:
    """Raise unless a file can be written at ``path`` (its nearest existing folder accepts new names)."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        reason = "read-only file system" if _read_only_fs(folder) else "immutable, or no write permission"
        raise HostError(f"{path}: cannot write: {folder} is not writable ({reason}); nothing was changed")
    if path.exists() and not os.access(path, os.W_OK):
        raise HostError(f"{path}: cannot write: the file is read-only or immutable; nothing was changed")


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
