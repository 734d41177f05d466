"""The backup store: every file's first version, kept under the node's root.

``/var/lib/netnsfix/backups/journal.json`` records, for each file a step
changed, whether it existed, its mode, owner and sha256 before and after, and
which folders were created for it; ``files/`` holds the original bytes. The
journal is written before the file it describes (write-ahead), so an
interrupted apply can still be undone. Commands that ran are recorded with the
command that reverses them.

The store lives only in real folders inside the root (a symlink anywhere on
``var/lib/netnsfix/backups`` is refused). The journal is data from inside the
root, so undo checks every entry it will act on before it changes anything:
the path is one the step writes, the backup lies in the store and has the
recorded sha256, the mode is no wider than the file's (setuid/setgid only if
the file has them), the owner is the file's, a command to reverse is one the
steps make. A bad journal is one line and nothing changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import re
import stat

try:
    from typing import Any
except ImportError:  # Python 2.7 on a node: the names are only read by mypy
    pass

from .errors import NodeError, show
from .plan import FileChange, Node, run_checked
from .rootfs import RootFS, split
from .settings import TEXT

STORE = "/var/lib/netnsfix/backups"
JOURNAL = STORE + "/journal.json"
STORE_FOLDERS = ("/var", "/var/lib", "/var/lib/netnsfix", STORE)
VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_DB = re.compile(r"^--db=(unix|tcp|ssl):\S+$")


def sha256(data):
    # type: (bytes) -> str
    return hashlib.sha256(data).hexdigest()


def empty_journal():
    # type: () -> dict
    return {"version": VERSION, "files": [], "commands": [], "created_dirs": []}


class UndoResult:
    """What undo did for one step: files put back, files removed, commands run."""

    def __init__(self, step, restored=(), removed=(), commands=(), contents=None):
        # type: (str, tuple, tuple, tuple, dict | None) -> None
        self.step = step
        self.contents = contents or {}  # path -> (bytes now, bytes undo puts back or None)
        self.restored = tuple(restored)
        self.removed = tuple(removed)
        self.commands = tuple(commands)


class BackupStore:
    """Backups and the journal for one root (a rootfs.RootFS)."""

    def __init__(self, fs):
        # type: (RootFS) -> None
        self.fs = fs

    @property
    def shown(self):
        # type: () -> str
        return self.fs.show(STORE)

    def load(self):
        # type: () -> dict
        fs = self.fs
        where = fs.show(JOURNAL)
        data = fs.read(JOURNAL, follow=False, links=False)
        if data is None:
            return empty_journal()
        try:
            journal = json.loads(data.decode("utf-8"))
        except ValueError as error:
            raise NodeError("unreadable journal: %s" % error, path=where)
        if not isinstance(journal, dict):
            raise NodeError("unreadable journal: not a JSON object", path=where)
        if journal.get("version") != VERSION:
            raise NodeError("journal version %s, expected %d" % (show(journal.get("version")), VERSION), path=where)
        for key in ("files", "commands", "created_dirs"):
            if not isinstance(journal.get(key, []), list):
                raise NodeError("unreadable journal: %s is not a list" % key, path=where)
            journal.setdefault(key, [])
        return journal

    def exists(self):
        # type: () -> bool
        return self.fs.lstat(STORE, follow=False, links=False) is not None

    def save(self, journal):
        # type: (dict) -> None
        fs = self.fs
        if not self.exists():
            journal["created_dirs"] = fs.missing_folders(JOURNAL, links=False)
            fs.mkdirs(os.path.dirname(STORE), 0o777, links=False)
            fs.mkdirs(STORE, 0o700, links=False)
        text = json.dumps(journal, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"
        fs.write(JOURNAL, text.encode("utf-8"), 0o600, links=False)

    def remove(self, journal):
        # type: (dict) -> None
        fs = self.fs
        fs.rmtree(STORE)
        for folder in reversed([f for f in journal.get("created_dirs", []) if f in STORE_FOLDERS]):
            if not fs.rmdir(folder, links=False) and fs.lstat(folder, follow=False, links=False) is not None:
                break

    def check_writable(self, paths):
        # type: (list) -> None
        """Fail before anything changes when the store or any target cannot be written."""
        self.fs.check_writable(JOURNAL, links=False)
        for path in paths:
            self.fs.check_writable(path)

    def transaction(self, runner):
        # type: (Any) -> Transaction
        """Changes made inside are recorded; on any exception they are all reversed."""
        return Transaction(self, runner, self.load(), self.exists())

    # -- undo -------------------------------------------------------------------------------------------

    def check(self, journal, steps, node):
        # type: (dict, list, Node) -> None
        """Raise (one line) unless every entry undo would act on for ``steps`` is one apply could have written."""
        fs = self.fs
        where = fs.show(JOURNAL)
        names = dict((step.name, step) for step in steps)
        owned = {}  # type: dict
        for index, entry in enumerate(journal["files"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("step"), TEXT):
                raise NodeError("file entry %d is not a journal entry; nothing was changed" % (index + 1), path=where)
            if entry["step"] not in names:
                continue
            problem = self._file_problem(entry, names[entry["step"]], node, owned)
            if problem:
                raise NodeError(
                    "file entry %d (%s): %s; nothing was changed" % (index + 1, entry.get("path"), problem), path=where
                )
        for index, entry in enumerate(journal["commands"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("step"), TEXT):
                raise NodeError(
                    "command entry %d is not a journal entry; nothing was changed" % (index + 1), path=where
                )
            if entry["step"] not in names:
                continue
            undo = entry.get("undo")
            if undo is not None and not _known_undo(undo):
                raise NodeError(
                    "command entry %d: %s is not a command netnsfix runs to undo a step; nothing was changed"
                    % (index + 1, show(undo)),
                    path=where,
                )
        dirs = journal.get("created_dirs", [])
        if any(folder not in STORE_FOLDERS for folder in dirs):
            raise NodeError("created_dirs names a folder outside netnsfix's store; nothing was changed", path=where)

    def _file_problem(self, entry, step, node, owned):
        # type: (dict, Any, Node, dict) -> str | None
        fs = self.fs
        path = entry.get("path")
        if not isinstance(path, TEXT) or not path.startswith("/") or "/" + "/".join(split(path)) != path:
            return "the path is not an absolute, normal path"
        if ".." in split(path):
            return "the path climbs out with '..'"
        if step.name not in owned:
            try:
                owned[step.name] = step.owned(node)
            except NodeError:
                owned[step.name] = []
        if path not in owned[step.name]:
            return "not a file the %s step writes" % step.name
        for key in ("mode", "uid", "gid"):
            if not isinstance(entry.get(key), int) or isinstance(entry.get(key), bool) or entry[key] < 0:
                return "%s is not a number" % key
        if entry["mode"] > 0o7777:
            return "mode %o is not a file mode" % entry["mode"]
        existed = entry.get("existed")
        if not isinstance(existed, bool):
            return "existed is not true or false"
        dirs = entry.get("created_dirs", [])
        if not isinstance(dirs, list) or any(
            not isinstance(d, TEXT) or not path.startswith(d.rstrip("/") + "/") or ".." in split(d) for d in dirs
        ):
            return "created_dirs are not folders above the file"
        after = entry.get("sha256_after")
        if not isinstance(after, TEXT) or not _SHA256.match(after):
            return "sha256_after is not a sha256"
        current = fs.lstat(path, follow=False)
        if current is not None and not stat.S_ISREG(current.st_mode):
            return "the file is no longer a regular file"
        if not existed:
            if entry.get("backup") is not None:
                return "a file that did not exist has a backup"
            if step.name != "privatetmp":
                return "existed: false, but the %s step only edits files that exist" % step.name
            return None
        if entry.get("backup") != "files" + path:
            return "the backup is not this file's place in the store (%s)" % show(entry.get("backup"))
        before = entry.get("sha256_before")
        if not isinstance(before, TEXT) or not _SHA256.match(before):
            return "sha256_before is not a sha256"
        data = fs.read(STORE + "/" + entry["backup"], follow=False, links=False)
        if data is None:
            return "its backup %s is missing" % fs.show(STORE + "/" + entry["backup"])
        if sha256(data) != before:
            return "its backup does not have the sha256 the journal recorded"
        mode = entry["mode"]
        if current is not None:
            allowed = stat.S_IMODE(current.st_mode)
            if mode & ~allowed:
                return "mode %04o is wider than the file's %04o" % (mode, allowed)
            if (entry["uid"], entry["gid"]) != (current.st_uid, current.st_gid):
                return "owner %d:%d is not the file's %d:%d" % (
                    entry["uid"],
                    entry["gid"],
                    current.st_uid,
                    current.st_gid,
                )
        elif mode & 0o7000:
            return "mode %04o sets setuid, setgid or sticky on a file that is gone" % mode
        return None

    def preview(self, steps, node, force):
        # type: (tuple, Node, bool) -> tuple
        """What :meth:`undo` would do (UndoResults with each file's bytes now and after), checked, changing nothing."""
        fs = self.fs
        journal = self.load()
        self.check(journal, list(steps), node)
        names = [step.name for step in steps]
        files = [e for e in journal["files"] if e["step"] in names]
        commands = [c for c in journal["commands"] if c["step"] in names]
        contents = {}  # type: dict
        for entry in files:
            current = fs.read(entry["path"], follow=False)
            if not force and (current is None or sha256(current) != entry["sha256_after"]):
                raise NodeError(
                    "changed since netnsfix applied it; undo would lose that edit "
                    "(nothing was restored; --force restores the backup anyway)",
                    path=fs.show(entry["path"]),
                )
            backup = fs.read(STORE + "/" + entry["backup"], follow=False, links=False) if entry["existed"] else None
            contents[entry["path"]] = (current, backup)
        results = []
        for name in names:
            mine = [e for e in files if e["step"] == name]
            ran = [tuple(c["undo"]) for c in reversed(commands) if c["step"] == name and c.get("undo")]
            if mine or ran:
                results.append(
                    UndoResult(
                        name,
                        restored=tuple(e["path"] for e in mine if e["existed"]),
                        removed=tuple(e["path"] for e in mine if not e["existed"]),
                        commands=tuple(ran),
                        contents=dict((e["path"], contents[e["path"]]) for e in mine),
                    )
                )
        return journal, files, commands, tuple(results)

    def undo(self, steps, node, force):
        # type: (tuple, Node, bool) -> tuple
        """Put the files back (byte for byte, mode and owner), remove created ones, run the reversing commands."""
        fs = self.fs
        journal, files, commands, results = self.preview(steps, node, force)
        self.check_writable([e["path"] for e in files])
        for entry in reversed(files):
            if entry["existed"]:
                data = fs.read(STORE + "/" + entry["backup"], follow=False, links=False) or b""
                fs.write(entry["path"], data, entry["mode"], (entry["uid"], entry["gid"]))
            else:
                fs.unlink(entry["path"])
                for folder in reversed(entry.get("created_dirs", [])):
                    if not fs.rmdir(folder):
                        break
        runner = node.runner
        for entry in reversed(commands):  # after the files: daemon-reload must see the restored ones
            if entry.get("undo"):
                run_checked(runner, tuple(entry["undo"]))
        for entry in files:
            if entry.get("backup"):
                fs.unlink(STORE + "/" + entry["backup"], links=False)
        names = [step.name for step in steps]
        journal["files"] = [e for e in journal["files"] if e["step"] not in names]
        journal["commands"] = [c for c in journal["commands"] if c["step"] not in names]
        if journal["files"] or journal["commands"]:
            self.save(journal)
        elif self.exists():
            self.remove(journal)
        return results


def _known_undo(argv):
    # type: (object) -> bool
    """True for the commands the steps record to reverse themselves, and nothing else."""
    if not isinstance(argv, list) or not all(isinstance(a, TEXT) for a in argv):
        return False
    if argv == ["systemctl", "daemon-reload"]:
        return True
    if argv[:2] != ["ovs-vsctl", "--timeout=10"]:
        return False
    rest = argv[2:]
    if rest and _DB.match(rest[0]):
        rest = rest[1:]
    if rest and rest[0] == "--no-wait":
        rest = rest[1:]
    if len(rest) == 3 and rest[:2] == ["--if-exists", "del-br"]:
        return bool(_NAME.match(rest[2]))
    if len(rest) == 4 and rest[:2] == ["--if-exists", "del-port"]:
        return bool(_NAME.match(rest[2]) and _NAME.match(rest[3]))
    return False


class Transaction:
    """One apply: backs each file up (journal first), writes it, remembers how to reverse it."""

    def __init__(self, store, runner, journal, existed):
        # type: (BackupStore, Any, dict, bool) -> None
        self.store = store
        self.fs = store.fs
        self.runner = runner
        self.journal = journal
        self.existed = existed
        self.snapshot = copy.deepcopy(journal)
        self.written = []  # type: list
        self.created = []  # type: list
        self.new_backups = []  # type: list
        self.undos = []  # type: list

    def __enter__(self):
        # type: () -> Transaction
        return self

    def __exit__(self, kind, error, trace):
        # type: (object, object, object) -> None
        if kind is None:
            return
        self.rollback()
        if isinstance(error, NodeError):
            raise NodeError(
                "%s; everything this apply had changed was rolled back" % error.reason, path=error.path, key=error.key
            )

    def write(self, step, change):
        # type: (str, FileChange) -> None
        fs = self.fs
        path = change.path
        current, info = fs.read_stat(path, follow=False)
        if current != change.before:
            raise NodeError("changed while netnsfix was planning; run again", path=fs.show(path))
        if current is None or info is None:
            mode, uid, gid = change.mode, os.geteuid(), os.getegid()
        else:
            mode, uid, gid = stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
        entry = next((e for e in self.journal["files"] if e["path"] == path), None)
        parents = fs.missing_folders(path)
        if entry is None:
            backup = None
            if current is not None:
                backup = "files" + path
                self.store.save(self.journal)  # makes the store folder on first use
                fs.write(STORE + "/" + backup, current, 0o600, links=False, created=[], folder_mode=0o777)
                self.new_backups.append(STORE + "/" + backup)
            entry = {
                "step": step,
                "path": path,
                "existed": current is not None,
                "backup": backup,
                "mode": mode,
                "uid": uid,
                "gid": gid,
                "sha256_before": None if current is None else sha256(current),
                "created_dirs": parents,
            }
            self.journal["files"].append(entry)
        entry["sha256_after"] = sha256(change.after)
        self.store.save(self.journal)
        if parents:
            self.created += fs.mkdirs(parents[-1], 0o755)
        self.written.append((path, current, mode, uid, gid))
        fs.write(path, change.after, mode, (uid, gid))

    def ran(self, step, argv, undo):
        # type: (str, tuple, tuple | None) -> None
        self.undos.append(undo or ())
        self.journal["commands"].append({"step": step, "argv": list(argv), "undo": list(undo) if undo else None})
        self.store.save(self.journal)

    def rollback(self):
        # type: () -> None
        """Reverse this apply: commands, files, folders, backups, journal."""
        fs = self.fs
        for undo in reversed(self.undos):
            if undo:
                try:
                    self.runner(list(undo))
                except Exception:  # noqa: BLE001 - rolling back: go on with the files whatever a command did
                    pass
        for path, before, mode, uid, gid in reversed(self.written):
            try:
                if before is None:
                    fs.unlink(path)
                else:
                    fs.write(path, before, mode, (uid, gid))
            except (OSError, NodeError):
                pass
        for folder in reversed(self.created):
            fs.rmdir(folder)
        for backup in self.new_backups:
            try:
                fs.unlink(backup, links=False)
            except (OSError, NodeError):
                pass
        try:
            if self.existed:
                self.store.save(self.snapshot)
            elif self.store.exists():
                self.store.remove(self.journal)
        except (OSError, NodeError):
            pass
