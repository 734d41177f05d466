"""A node's root folder, entered one component at a time so that nothing leaves it.

``netnsfix host --root DIR`` and the modules' ``root`` name a folder holding a
node's file system. Every path under it is walked from a held folder
descriptor, one name at a time, with ``O_NOFOLLOW``: a symbolic link is read
and followed the way the node itself would see it (an absolute target starts
again at the root, ``..`` stops at the root), so no link can lead out. Python
2.7 has no ``dir_fd``: a name inside a held folder is reached through
``/proc/self/fd/N/NAME``, which the kernel resolves from that very folder,
whatever was renamed or swapped for a symlink since it was opened.

Only regular files are read (opened ``O_NONBLOCK`` and checked with ``fstat``
before the first byte, so a FIFO cannot hang a plan and a device is refused)
and only up to MAX_BYTES. A file is replaced by writing a temporary name
``O_EXCL`` in the held folder and renaming it there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import fcntl
import fnmatch
import os
import stat

from .errors import NodeError

MAX_BYTES = 16 * 1024 * 1024  # no file netnsfix edits is near this; a larger one is not the file it knows
MAX_LINKS = 40
NODE_FOLDERS = ("etc", "usr")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def at(fd, name):
    # type: (int, str) -> str
    """The path that names ``name`` inside the folder held open as ``fd`` (resolved by the kernel from ``fd``)."""
    return "/proc/self/fd/%d/%s" % (fd, name)


def split(node_path):
    # type: (str) -> list[str]
    """The names of a node path ("/etc//quantum/./x" -> ["etc", "quantum", "x"]); ".." is kept."""
    if "\0" in node_path:
        raise NodeError("a path with a NUL byte", path=repr(node_path))
    return [part for part in node_path.split("/") if part not in ("", ".")]


def _lstat(fd, name):
    # type: (int, str) -> os.stat_result | None
    try:
        return os.lstat(at(fd, name))
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


class Located:
    """Where a node path ended: the folder that holds it (held open), its name there, the path as resolved."""

    def __init__(self, fd, name, path):
        # type: (int | None, str, str) -> None
        self.fd = fd
        self.name = name
        self.path = path

    def close(self):
        # type: () -> None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        # type: () -> Located
        return self

    def __exit__(self, *exc):
        # type: (object) -> None
        self.close()


class RootFS:
    """A node's root folder: every read and write of the library goes through here."""

    def __init__(self, root):
        # type: (str) -> None
        self.root = os.path.abspath(str(root))
        # answers that cannot change during one run on this root (systemd's version), asked once
        self.memo = {}  # type: dict

    def show(self, node_path):
        # type: (str) -> str
        """``node_path`` as the user knows it: under the root (``/`` shows the path itself)."""
        if self.root == "/":
            return "/" + "/".join(split(node_path))
        return self.root + "/" + "/".join(split(node_path))

    def is_system(self):
        # type: () -> bool
        """True when the root is the running system's own ``/``."""
        return os.path.realpath(self.root) == "/"

    def systemd_runs(self):
        # type: () -> bool
        """True when systemd manages the root (the running system, booted with systemd)."""
        return self.is_system() and os.path.isdir("/run/systemd/system")

    def check(self):
        # type: () -> None
        """Raise unless the root is a folder that looks like a node's root (says what is missing)."""
        if not os.path.exists(self.root):
            raise NodeError("no such folder (the node's root)", path=self.root)
        if not os.path.isdir(self.root):
            raise NodeError("not a folder (the node's root)", path=self.root)
        missing = []
        for name in NODE_FOLDERS:
            with self.locate(name) as where:
                info = None if where.fd is None else _lstat(where.fd, where.name)
                if info is None or not stat.S_ISDIR(info.st_mode):
                    missing.append(name + "/")
        if missing:
            raise NodeError("does not look like a node's root: no %s in it" % " or ".join(missing), path=self.root)

    def open_root(self):
        # type: () -> int
        try:
            return os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError as error:
            raise NodeError("cannot open the node's root: %s" % error.strerror, path=self.root)

    def locate(self, node_path, follow=True, links=True, create=None, mode=0o755):
        # type: (str, bool, bool, list[str] | None, int) -> Located
        """Walk to ``node_path``'s folder; ``fd`` is None when a folder on the way does not exist.

        ``follow``: a symlink as the last name is followed too. ``links`` False:
        any symlink on the way is refused (netnsfix's own files live only in real
        folders). ``create``: missing folders are made (mode ``mode``) and their
        node paths appended to the list.
        """
        parts = split(node_path)
        if not parts:
            raise NodeError("not a file path", path=self.show(node_path))
        stack = [self.open_root()]
        names = []  # type: list[str]
        seen = 0
        try:
            while True:
                part = parts.pop(0)
                if part == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                        names.pop()
                    if not parts:
                        raise NodeError("not a file path", path=self.show(node_path))
                    continue
                fd = stack[-1]
                info = _lstat(fd, part)
                last = not parts
                if info is not None and stat.S_ISLNK(info.st_mode) and (follow or not last):
                    shown = self.show("/".join(names + [part]))
                    if not links:
                        raise NodeError(
                            "a symbolic link; netnsfix keeps its own files only in real folders inside the root, "
                            "nothing was changed",
                            path=shown,
                        )
                    seen += 1
                    if seen > MAX_LINKS:
                        raise NodeError("too many levels of symbolic links", path=shown)
                    target = os.readlink(at(fd, part))
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                        del names[:]
                    parts = split(target) + parts
                    if not parts:  # a link to "/" itself: not a file
                        raise NodeError("a symbolic link to the root folder, not a file", path=shown)
                    continue
                if last:
                    located = Located(stack.pop(), part, "/" + "/".join(names + [part]))
                    return located
                if info is None:
                    if create is None:
                        return Located(None, part, "/" + "/".join(names + [part] + parts))
                    os.mkdir(at(fd, part), mode)
                    create.append("/" + "/".join(names + [part]))
                elif not stat.S_ISDIR(info.st_mode):
                    raise NodeError("not a folder", path=self.show("/".join(names + [part])))
                try:
                    child = os.open(at(fd, part), os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
                except OSError as error:
                    raise NodeError(
                        "cannot enter (%s; swapped for a symbolic link?)" % error.strerror,
                        path=self.show("/".join(names + [part])),
                    )
                stack.append(child)
                names.append(part)
        except OSError as error:
            raise NodeError("cannot reach: %s" % error.strerror, path=self.show(node_path))
        finally:
            for fd in stack:
                os.close(fd)

    def resolve(self, node_path, links=True):
        # type: (str, bool) -> str
        """``node_path`` with every symlink followed as the node would, inside the root."""
        with self.locate(node_path, links=links) as where:
            return where.path

    def lstat(self, node_path, follow=True, links=True):
        # type: (str, bool, bool) -> os.stat_result | None
        with self.locate(node_path, follow=follow, links=links) as where:
            return None if where.fd is None else _lstat(where.fd, where.name)

    def exists(self, node_path, follow=False):
        # type: (str, bool) -> bool
        """True when something (a symlink too, unless ``follow``) is at ``node_path``."""
        return self.lstat(node_path, follow=follow) is not None

    def read(self, node_path, follow=True, links=True):
        # type: (str, bool, bool) -> bytes | None
        """The bytes of the regular file at ``node_path``; None when it does not exist; else an error."""
        with self.locate(node_path, follow=follow, links=links) as where:
            if where.fd is None:
                return None
            return self._read_at(where, node_path)

    def read_stat(self, node_path, follow=True, links=True):
        # type: (str, bool, bool) -> tuple[bytes | None, os.stat_result | None]
        """:meth:`read` with the file's status (mode, owner) taken from the same open file."""
        with self.locate(node_path, follow=follow, links=links) as where:
            if where.fd is None:
                return None, None
            info = []  # type: list[os.stat_result]
            data = self._read_at(where, node_path, info)
            return data, (info[0] if info else None)

    def _read_at(self, where, node_path, info_out=None):
        # type: (Located, str, list[os.stat_result] | None) -> bytes | None
        assert where.fd is not None
        shown = self.show(where.path)
        try:
            fd = os.open(at(where.fd, where.name), os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC)
        except OSError as error:
            if error.errno == errno.ENOENT:
                return None
            if error.errno == errno.ELOOP:
                raise NodeError("a symbolic link where a file was expected", path=shown)
            raise NodeError("cannot read: %s" % error.strerror, path=shown)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise NodeError(
                    "exists and is not a file (%s); netnsfix reads only regular files" % _kind(info.st_mode), path=shown
                )
            if info.st_size > MAX_BYTES:
                raise NodeError("%d bytes, more than the %d netnsfix reads" % (info.st_size, MAX_BYTES), path=shown)
            chunks = []
            total = 0
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_BYTES:
                    raise NodeError("grew past the %d bytes netnsfix reads" % MAX_BYTES, path=shown)
                chunks.append(chunk)
            if info_out is not None:
                info_out.append(info)
            return b"".join(chunks)
        except OSError as error:
            raise NodeError("cannot read: %s" % error.strerror, path=shown)
        finally:
            os.close(fd)

    def write(self, node_path, data, mode, owner=None, links=True, created=None, folder_mode=0o755):
        # type: (str, bytes, int, tuple[int, int] | None, bool, list[str] | None, int) -> None
        """Replace (or create) the regular file at ``node_path`` with ``data``: temp name O_EXCL, then rename.

        The last name is not followed (the caller passes a resolved path): a
        symlink or anything but a regular file there is refused. ``created``:
        missing folders are made and listed there (else they must exist).
        """
        with self.locate(node_path, follow=False, links=links, create=created, mode=folder_mode) as where:
            shown = self.show(where.path)
            if where.fd is None:
                raise NodeError("its folder does not exist", path=shown)
            info = _lstat(where.fd, where.name)
            if info is not None and not stat.S_ISREG(info.st_mode):
                raise NodeError("exists and is not a file (%s); nothing was changed" % _kind(info.st_mode), path=shown)
            temp = ".%s.%s.tmp" % (where.name[:200], binascii.hexlify(os.urandom(6)).decode("ascii"))
            try:
                fd = os.open(at(where.fd, temp), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
            except OSError as error:
                raise NodeError("cannot write: %s" % error.strerror, path=shown)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                    if owner is not None and tuple(owner) != (os.geteuid(), os.getegid()):
                        os.fchown(fd, owner[0], owner[1])
                    os.fchmod(fd, mode)
                finally:
                    os.close(fd)
                os.rename(at(where.fd, temp), at(where.fd, where.name))
            except OSError as error:
                try:
                    os.unlink(at(where.fd, temp))
                except OSError:
                    pass
                raise NodeError("cannot write: %s" % error.strerror, path=shown)

    def unlink(self, node_path, links=True):
        # type: (str, bool) -> bool
        """Remove the file (or symlink) at ``node_path``; False when there was none. Never a folder."""
        with self.locate(node_path, follow=False, links=links) as where:
            if where.fd is None:
                return False
            info = _lstat(where.fd, where.name)
            if info is None:
                return False
            if stat.S_ISDIR(info.st_mode):
                raise NodeError("a folder, not a file; nothing was removed", path=self.show(where.path))
            os.unlink(at(where.fd, where.name))
            return True

    def rmdir(self, node_path, links=True):
        # type: (str, bool) -> bool
        """Remove the empty folder at ``node_path``; False when it is missing, not empty, or not a folder."""
        try:
            with self.locate(node_path, follow=False, links=links) as where:
                if where.fd is None:
                    return False
                info = _lstat(where.fd, where.name)
                if info is None or not stat.S_ISDIR(info.st_mode):
                    return False
                os.rmdir(at(where.fd, where.name))
                return True
        except (OSError, NodeError):
            return False

    def mkdirs(self, node_path, mode=0o755, links=True):
        # type: (str, int, bool) -> list[str]
        """Make the folder ``node_path`` and any missing parents; the node paths made, outermost first."""
        made = []  # type: list[str]
        with self.locate(node_path, follow=False, links=links, create=made, mode=mode) as where:
            assert where.fd is not None
            info = _lstat(where.fd, where.name)
            if info is None:
                os.mkdir(at(where.fd, where.name), mode)
                made.append(where.path)
            elif not stat.S_ISDIR(info.st_mode):
                raise NodeError("not a folder", path=self.show(where.path))
        return made

    def missing_folders(self, node_path, links=True):
        # type: (str, bool) -> list[str]
        """The folders above ``node_path`` that do not exist yet, outermost first."""
        parts = split(node_path)[:-1]
        missing = []  # type: list[str]
        for depth in range(len(parts), 0, -1):
            folder = "/" + "/".join(parts[:depth])
            if self.lstat(folder, links=links) is not None:
                break
            missing.insert(0, folder)
        return missing

    def check_writable(self, node_path, links=True):
        # type: (str, bool) -> None
        """Raise unless a file can be written at ``node_path`` (its nearest existing folder accepts names)."""
        parts = split(node_path)
        for depth in range(len(parts) - 1, -1, -1):
            folder = "/" + "/".join(parts[:depth])
            with self._folder(folder, links) as fd:
                if fd is None:
                    continue
                here = "/proc/self/fd/%d" % fd
                if not os.access(here, os.W_OK):
                    reason = "read-only file system" if _read_only_fs(here) else "immutable, or no write permission"
                    raise NodeError(
                        "cannot write: %s is not writable (%s); nothing was changed"
                        % (self.show(folder) if depth else self.root, reason),
                        path=self.show(node_path),
                    )
                if depth == len(parts) - 1:
                    info = _lstat(fd, parts[-1])
                    if info is not None and stat.S_ISREG(info.st_mode) and not os.access(at(fd, parts[-1]), os.W_OK):
                        raise NodeError(
                            "cannot write: the file is read-only or immutable; nothing was changed",
                            path=self.show(node_path),
                        )
                return

    def _folder(self, node_path, links):
        # type: (str, bool) -> _Held
        if not split(node_path):
            return _Held(self.open_root())
        with self.locate(node_path, follow=False, links=links) as where:
            if where.fd is None:
                return _Held(None)
            info = _lstat(where.fd, where.name)
            if info is None or not stat.S_ISDIR(info.st_mode):
                return _Held(None)
            return _Held(os.open(at(where.fd, where.name), os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC))

    def listdir(self, node_path):
        # type: (str) -> list[str]
        """The names in the folder ``node_path`` (symlinks followed inside the root); [] when it is none."""
        if not split(node_path):
            fd = self.open_root()
        else:
            with self.locate(node_path) as where:
                if where.fd is None:
                    return []
                info = _lstat(where.fd, where.name)
                if info is None or not stat.S_ISDIR(info.st_mode):
                    return []
                fd = os.open(at(where.fd, where.name), os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        try:
            return os.listdir("/proc/self/fd/%d" % fd)
        finally:
            os.close(fd)

    def glob(self, pattern):
        # type: (str) -> list[str]
        """The node paths matching ``pattern`` (shell wildcards within one name), symlinks followed inside the root."""
        current = ["/"]
        for part in split(pattern):
            following = []  # type: list[str]
            for folder in current:
                prefix = folder.rstrip("/") + "/"
                if any(char in part for char in "*?["):
                    following += [prefix + name for name in self.listdir(folder) if fnmatch.fnmatchcase(name, part)]
                else:
                    following.append(prefix + part)
            current = following
        return [path for path in current if self.lstat(path) is not None]

    def rmtree(self, node_path):
        # type: (str) -> None
        """Remove the folder ``node_path`` and everything in it; symlinks inside are removed, never followed."""
        with self.locate(node_path, follow=False, links=False) as where:
            if where.fd is None:
                return
            info = _lstat(where.fd, where.name)
            if info is None or not stat.S_ISDIR(info.st_mode):
                return
            fd = os.open(at(where.fd, where.name), os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
            try:
                _empty(fd)
            finally:
                os.close(fd)
            os.rmdir(at(where.fd, where.name))

    def lock(self):
        # type: () -> RootLock
        """The root's lock: one apply or undo at a time; a second fails at once naming the holder's pid."""
        return RootLock(self)


class _Held:
    def __init__(self, fd):
        # type: (int | None) -> None
        self.fd = fd

    def __enter__(self):
        # type: () -> int | None
        return self.fd

    def __exit__(self, *exc):
        # type: (object) -> None
        if self.fd is not None:
            os.close(self.fd)


class RootLock:
    """An flock on the root folder itself: creates nothing inside the root, dies with its holder."""

    def __init__(self, fs):
        # type: (RootFS) -> None
        self.fs = fs
        self.fd = None  # type: int | None

    def __enter__(self):
        # type: () -> RootLock
        self.fs.check()
        self.fd = self.fs.open_root()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as error:  # Python 2.7's fcntl raises IOError
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = _lock_holder(os.fstat(self.fd))
            os.close(self.fd)
            self.fd = None
            who = "process %d" % holder if holder else "another process"
            raise NodeError(
                "another netnsfix host apply or undo is running on this root (%s holds its lock); "
                "nothing was changed" % who,
                path=self.fs.root,
            )
        return self

    def __exit__(self, *exc):
        # type: (object) -> None
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def _empty(fd):
    # type: (int) -> None
    for name in os.listdir("/proc/self/fd/%d" % fd):
        info = os.lstat(at(fd, name))
        if stat.S_ISDIR(info.st_mode):
            child = os.open(at(fd, name), os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
            try:
                _empty(child)
            finally:
                os.close(child)
            os.rmdir(at(fd, name))
        else:
            os.unlink(at(fd, name))


def _lock_holder(info):
    # type: (os.stat_result) -> int | None
    """The pid /proc/locks gives for the flock on the file ``info`` describes."""
    wanted = "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    try:
        with open("/proc/locks") as stream:
            lines = stream.read().splitlines()
    except (IOError, OSError):  # Python 2.7's open() raises IOError
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted and fields[4].isdigit():
            return int(fields[4])
    return None


def _read_only_fs(path):
    # type: (str) -> bool
    try:
        return bool(os.statvfs(path).f_flag & 1)  # ST_RDONLY
    except OSError:
        return False


def _kind(mode):
    # type: (int) -> str
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a file"
