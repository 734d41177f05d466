"""Read the fixtures scripts/fidelity/record-systemd197 wrote: systemd's own unit dumps and systemctl's answers.

A dump file holds, per unit, ``## NAME exit CODE``, its stderr as ``## stderr: ...`` lines, then the
block ``systemd --test`` printed for it (``\\t-> Unit NAME:`` and ``\\t\\tKey: value`` lines). Anything
else (a second PrivateTmp line, a missing one, a unit without its block) is an error, so a fixture
that does not say what the tests claim cannot pass for one that does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


class DumpError(ValueError):
    """A fixture that is not the shape record-systemd197 writes."""


@dataclass(frozen=True)
class UnitDump:
    unit: str
    exit: int
    stderr: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]

    def values(self, key: str) -> list[str]:
        return [value for name, value in self.fields if name == key]

    def one(self, key: str) -> str:
        """The one value of ``key`` in the unit's dump; none or several is a DumpError."""
        found = self.values(key)
        if len(found) != 1:
            raise DumpError(f"{self.unit}: {len(found)} '{key}:' lines in its dump, expected one")
        return found[0]

    @property
    def privatetmp(self) -> str:
        return self.one("PrivateTmp")


HEAD = re.compile(r"^## (\S+) exit (\d+)$")
FIELD = re.compile(r"^\t\t([A-Za-z][A-Za-z ]*): ?(.*)$")


def parse_dumps(text: str, source: str = "dump") -> dict[str, UnitDump]:
    """Every unit's dump in one fixture file, by unit name."""
    dumps: dict[str, UnitDump] = {}
    unit = ""
    code = 0
    stderr: list[str] = []
    fields: list[tuple[str, str]] = []
    seen_block = False

    def close() -> None:
        if unit:
            if not seen_block:
                raise DumpError(f"{source}: {unit} has no '-> Unit {unit}:' block")
            dumps[unit] = UnitDump(unit, code, tuple(stderr), tuple(fields))

    for number, line in enumerate(text.splitlines(), 1):
        head = HEAD.match(line)
        if head:
            close()
            unit, code, stderr, fields, seen_block = head[1], int(head[2]), [], [], False
        elif line.startswith("## stderr: "):
            stderr.append(line.removeprefix("## stderr: "))
        elif line.startswith("#") or not unit:
            continue
        elif line == f"\t-> Unit {unit}:":
            seen_block = True
        elif seen_block and (field := FIELD.match(line)):
            fields.append((field[1], field[2]))
        elif seen_block and line.startswith("\t\t"):
            continue  # continuation lines (an ExecStart's command and status)
        else:
            raise DumpError(f"{source}:{number}: unexpected line {line!r}")
    close()
    return dumps


def read_dumps(path: Path) -> dict[str, UnitDump]:
    return parse_dumps(path.read_text(), str(path))


def answers(text: str) -> dict[str, tuple[list[str], int]]:
    """``$ COMMAND`` -> (its output lines, its exit code) from a booted.txt; the last run of a command wins."""
    found: dict[str, tuple[list[str], int]] = {}
    command = ""
    output: list[str] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            command, output = line[2:], []
        elif command and (done := re.fullmatch(r"exit (\d+)", line)):
            found[command] = (output, int(done[1]))
            command = ""
        elif command:
            output.append(line)
    return found


def sections(text: str) -> dict[str, str]:
    """A booted.txt's parts by their ``## NAME`` header (the text before the first one is left out)."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    found: dict[str, str] = {}
    for part in parts:
        name, _, body = part.partition("\n")
        if name.startswith("stderr: "):
            continue
        found[name] = body
    return found
