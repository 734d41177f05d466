"""Which shared libraries an ``ip`` binary needs, and which of them a system lacks.

A Fedora binary verified on Debian, or in a container image, may need
libraries that are not there; the harness must then say which, instead of
reporting a failed ``ip netns add``. PT_INTERP and DT_NEEDED come from the ELF
file itself; what is missing comes from the dynamic loader's own trace
(``LD_TRACE_LOADED_OBJECTS=1``, what ``ldd`` uses), run where the binary will run.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import VerifyError

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5

# Runs ``sh -c SCRIPT sh ARG`` where the binary will run; returns (exit code, output).
ShellRunner = Callable[[str, str], tuple[int, str]]


@dataclass(frozen=True)
class ElfInfo:
    interpreter: str | None  # None: statically linked
    needed: tuple[str, ...]


def read_elf(path: Path) -> ElfInfo | None:
    """PT_INTERP and DT_NEEDED of an ELF file; None if it is not ELF (a script, say)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return None
    wide, endian = data[4] == 2, "<" if data[5] == 1 else ">"
    try:
        if wide:
            (phoff,) = struct.unpack_from(endian + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
            header = endian + "IIQQQQQQ"  # type, flags, offset, vaddr, paddr, filesz, memsz, align
        else:
            (phoff,) = struct.unpack_from(endian + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x2A)
            header = endian + "IIIIIIII"  # type, offset, vaddr, paddr, filesz, memsz, flags, align
        segments = []
        for index in range(phnum):
            fields = struct.unpack_from(header, data, phoff + index * phentsize)
            if wide:
                kind, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = fields
            else:
                kind, offset, vaddr, _paddr, filesz, _memsz, _flags, _align = fields
            segments.append((kind, offset, vaddr, filesz))
        interpreter = next(
            (data[o : o + n].split(b"\0", 1)[0].decode() for k, o, _v, n in segments if k == PT_INTERP), None
        )
        return ElfInfo(interpreter, _needed(data, segments, wide, endian))
    except (struct.error, UnicodeDecodeError, IndexError) as error:
        raise VerifyError(f"{path}: a damaged ELF file ({error})") from None


def _needed(data: bytes, segments: list[tuple[int, int, int, int]], wide: bool, endian: str) -> tuple[str, ...]:
    dynamic = next(((o, n) for k, o, _v, n in segments if k == PT_DYNAMIC), None)
    if dynamic is None:
        return ()
    entry = endian + ("qQ" if wide else "iI")
    size = struct.calcsize(entry)
    offsets, strtab = [], None
    for at in range(dynamic[0], dynamic[0] + dynamic[1] - size + 1, size):
        tag, value = struct.unpack_from(entry, data, at)
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            offsets.append(value)
        elif tag == DT_STRTAB:
            strtab = value
    if strtab is None:
        return ()
    base = next((o + strtab - v for k, o, v, n in segments if k == PT_LOAD and v <= strtab < v + n), None)
    if base is None:
        return ()
    return tuple(data[base + off :].split(b"\0", 1)[0].decode() for off in offsets)


TRACE = 'LD_TRACE_LOADED_OBJECTS=1 "$0" 2>&1; echo "@@rc $?"'


def missing_libraries(info: ElfInfo, run: ShellRunner, binary: str) -> tuple[str, ...]:
    """The libraries (or the loader itself) that ``binary`` cannot find where ``run`` runs."""
    if info.interpreter is None:
        return ()
    _code, output = run(TRACE, binary)
    missing = [line.split("=>")[0].strip() for line in output.splitlines() if "not found" in line and "=>" in line]
    if missing:
        return tuple(missing)
    if "@@rc 0" not in output:
        # the loader itself could not start: most often the interpreter is not there
        return (info.interpreter,)
    return ()


def require_libraries(path: Path, run: ShellRunner, binary: str, where: str) -> None:
    """Raise one error naming every library ``path`` needs that ``where`` lacks."""
    info = read_elf(path)
    if info is None:
        return
    missing = missing_libraries(info, run, binary)
    if missing:
        raise VerifyError(f"{path}: needs libraries that {where} lacks: {', '.join(missing)}")
