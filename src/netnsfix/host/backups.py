"""The backup store: every file's first version, kept under the node's root.

``/var/lib/netnsfix/backups/journal.json`` records, for each file a step
changed, whether it existed, its mode, owner and sha256 before and after, and
which folders were created for it; ``files/`` holds the original bytes. The
journal is written before the file it describes (write-ahead), so an
interrupted apply can still be undone. Commands that ran are recorded with the
command that reverses them.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from netnsfix.errors import HostError
from netnsfix.host.commands import Runner
from netnsfix.host.noderoot import check_writable, host_path, missing_parents, write_file

if TYPE_CHECKING:
    from netnsfix.host.core import FileChange

STORE = PurePosixPath("/var/lib/netnsfix/backups")
VERSION = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class UndoResult:
    """What undo did for one step: files put back, files removed, commands run."""

    step: str
    restored: tuple[PurePosixPath, ...] = ()
    removed: tuple[PurePosixPath, ...] = ()
    commands: tuple[tuple[str, ...], ...] = ()


class BackupStore:
    """Backups and the journal for one root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = host_path(root, STORE)
        self.journal_path = self.dir / "journal.json"

    def load(self) -> dict[str, Any]:
        try:
            journal = json.loads(self.journal_path.read_text())
        except FileNotFoundError:
            return {"version": VERSION, "files": [], "commands": [], "created_dirs": []}
        except (OSError, ValueError) as error:
            raise HostError(f"{self.journal_path}: unreadable journal: {error}") from None
        if journal.get("version") != VERSION:
            raise HostError(f"{self.journal_path}: journal version {journal.get('version')!r}, expected {VERSION}")
        return journal

    def _save(self, journal: dict[str, Any]) -> None:
        if not self.dir.exists():
            journal["created_dirs"] = [str(d) for d in missing_parents(self.journal_path)]
            self.dir.mkdir(mode=0o700, parents=True)
        write_file(
            self.journal_path, (json.dumps(journal, indent=2) + "\n").encode(), 0o600, os.geteuid(), os.getegid()
        )

    def _remove(self, journal: dict[str, Any]) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        for folder in reversed(journal.get("created_dirs", [])):
            try:
                Path(folder).rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break

    def check_writable(self, paths: Sequence[PurePosixPath]) -> None:
        """Fail before anything changes when the store or any target cannot be written."""
        check_writable(self.journal_path)
        for path in paths:
            check_writable(host_path(self.root, path))

    @contextmanager
    def transaction(self, runner: Runner) -> Iterator[_Transaction]:
        """Changes made inside are recorded; on any exception they are all reversed."""
        existed = self.journal_path.exists()
        tx = _Transaction(self, runner, self.load())
        try:
            yield tx
        except HostError as error:
            tx.rollback(existed)
            raise HostError(f"{error}; everything this apply had changed was rolled back") from None
        except BaseException:
            tx.rollback(existed)
            raise

    def undo(self, steps: Sequence[str], runner: Runner, force: bool) -> tuple[UndoResult, ...]:
        journal = self.load()
        files = [e for e in journal["files"] if e["step"] in steps]
        commands = [c for c in journal["commands"] if c["step"] in steps]
        for entry in files:
            target = host_path(self.root, entry["path"])
            current = target.read_bytes() if target.exists() else None
            if not force and (current is None or _sha256(current) != entry["sha256_after"]):
                raise HostError(
                    f"{target}: changed since netnsfix applied it; undo would lose that edit "
                    "(nothing was restored; --force restores the backup anyway)"
                )
        self.check_writable([PurePosixPath(e["path"]) for e in files])
        for entry in reversed(files):
            target = host_path(self.root, entry["path"])
            if entry["existed"]:
                data = (self.dir / entry["backup"]).read_bytes()
                write_file(target, data, entry["mode"], entry["uid"], entry["gid"])
            else:
                target.unlink(missing_ok=True)
                for folder in reversed(entry["created_dirs"]):
                    try:
                        host_path(self.root, folder).rmdir()
                    except OSError:
                        break
        for command in reversed(commands):  # after the files: daemon-reload must see the restored ones
            if command["undo"]:
                runner.run(command["undo"])
        results = []
        for step in steps:
            mine = [e for e in files if e["step"] == step]
            ran = [tuple(c["undo"]) for c in reversed(commands) if c["step"] == step and c["undo"]]
            if mine or ran:
                results.append(
                    UndoResult(
                        step,
                        restored=tuple(PurePosixPath(e["path"]) for e in mine if e["existed"]),
                        removed=tuple(PurePosixPath(e["path"]) for e in mine if not e["existed"]),
                        commands=tuple(ran),
                    )
                )
        for entry in files:
            if entry["backup"]:
                (self.dir / entry["backup"]).unlink(missing_ok=True)
        journal["files"] = [e for e in journal["files"] if e["step"] not in steps]
        journal["commands"] = [c for c in journal["commands"] if c["step"] not in steps]
        if journal["files"] or journal["commands"]:
            self._save(journal)
        elif self.dir.exists():
            self._remove(journal)
        return tuple(results)


class _Transaction:
    """One apply: backs each file up (journal first), writes it, remembers how to reverse it."""

    def __init__(self, store: BackupStore, runner: Runner, journal: dict[str, Any]) -> None:
        self.store = store
        self.runner = runner
        self.journal = journal
        self.snapshot = copy.deepcopy(journal)
        self.written: list[tuple[Path, bytes | None, int, int, int]] = []
        self.created: list[Path] = []
        self.new_backups: list[Path] = []
        self.undos: list[tuple[str, ...]] = []

    def write(self, step: str, change: FileChange) -> None:
        root = self.store.root
        target = host_path(root, change.path)
        current = target.read_bytes() if target.exists() else None
        if current != change.before:
            raise HostError(f"{target}: changed while netnsfix was planning; run again")
        if current is None:
            mode, uid, gid = change.mode, os.geteuid(), os.getegid()
        else:
            info = target.stat()
            mode, uid, gid = stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
        entry = next((e for e in self.journal["files"] if e["path"] == str(change.path)), None)
        parents = missing_parents(target)
        if entry is None:
            backup = None
            if current is not None:
                backup = "files" + str(change.path)
                where = self.store.dir / backup
                self.store._save(self.journal)  # makes the store folder on first use
                where.parent.mkdir(parents=True, exist_ok=True)
                write_file(where, current, 0o600, os.geteuid(), os.getegid())
                self.new_backups.append(where)
            entry = {
                "step": step,
                "path": str(change.path),
                "existed": current is not None,
                "backup": backup,
                "mode": mode,
                "uid": uid,
                "gid": gid,
                "sha256_before": None if current is None else _sha256(current),
                "created_dirs": [str(PurePosixPath("/") / d.relative_to(root)) for d in parents],
            }
            self.journal["files"].append(entry)
        entry["sha256_after"] = _sha256(change.after)
        self.store._save(self.journal)
        for folder in parents:
            folder.mkdir(mode=0o755)
            self.created.append(folder)
        self.written.append((target, current, mode, uid, gid))
        write_file(target, change.after, mode, uid, gid)

    def ran(self, step: str, argv: tuple[str, ...], undo: tuple[str, ...] | None) -> None:
        self.undos.append(undo or ())
        self.journal["commands"].append({"step": step, "argv": list(argv), "undo": list(undo) if undo else None})
        self.store._save(self.journal)

    def rollback(self, journal_existed: bool) -> None:
        """Reverse this apply: commands, files, folders, backups, journal."""
        for undo in reversed(self.undos):
            if undo:
                self.runner.run(undo, check=False)
        for target, before, mode, uid, gid in reversed(self.written):
            with contextlib.suppress(OSError):
                if before is None:
                    target.unlink(missing_ok=True)
                else:
                    write_file(target, before, mode, uid, gid)
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        for backup in self.new_backups:
            backup.unlink(missing_ok=True)
        if journal_existed:
            self.store._save(self.snapshot)
        elif self.store.dir.exists():
            self.store._remove(self.journal)
