"""Which shared libraries an ``ip`` binary needs, and which of them a system lacks.

A Fedora binary verified on Debian, or in a container image, may need
libraries that are not there; the harness must then say which, instead of
reporting a failed ``ip netns add``. PT_INTERP and DT_NEEDED come from the ELF
file itself; what is missing comes from the dynamic loader's own trace
(``LD_TRACE_LOADED_OBJECTS=1``, what ``ldd`` uses), run where the binary will run.
"""

from __future__ import annotations

import os
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


# e_machine values (the ELF psABI supplements) of the machines a Linux distribution ships for,
# keyed by the name ``uname -m`` gives on them.
MACHINES = {
    3: "i386",
    8: "MIPS",
    20: "PowerPC",
    21: "PowerPC 64",
    22: "s390",
    40: "ARM",
    62: "x86-64",
    183: "AArch64",
    243: "RISC-V",
    258: "LoongArch",
}
UNAME_MACHINE = {
    "x86_64": 62,
    "i386": 3,
    "i686": 3,
    "aarch64": 183,
    "armv7l": 40,
    "ppc64le": 21,
    "ppc64": 21,
    "s390x": 22,
    "riscv64": 243,
    "loongarch64": 258,
}
ET_EXEC, ET_DYN = 2, 3


@dataclass(frozen=True)
class Executable:
    """What kind of file the binary under test is, as the kernel's execve sees it."""

    description: str  # "an x86-64 ELF executable, dynamically linked (...)", "a script for /bin/sh", ...
    elf: bool
    runnable: bool  # False: the kernel cannot run it on this machine (and why is in ``description``)


def host_machine() -> int | None:
    """This machine's ELF e_machine (None when netnsfix does not know its ``uname -m``)."""
    return UNAME_MACHINE.get(os.uname().machine)


def identify(path: Path, host: int | None = None) -> Executable:
    """Tell an ELF for this machine from one for another, a script, or something else."""
    with path.open("rb") as stream:
        head = stream.read(256)
    if head.startswith(b"#!"):
        line = head[2:].split(b"\n", 1)[0].decode(errors="replace").strip()
        return Executable(
            f"a script for {line.split()[0] if line else 'nothing'} (#!{line}), not an ELF binary", False, True
        )
    if not head.startswith(b"\x7fELF"):
        return Executable(
            "a file with neither an ELF header nor a #! line: the kernel refuses it and /bin/sh runs it as a script",
            False,
            True,
        )
    if len(head) < 20 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return Executable("a damaged ELF file (its header is cut short or invalid)", True, False)
    endian = "<" if head[5] == 1 else ">"
    kind, machine = struct.unpack_from(endian + "HH", head, 16)
    name = MACHINES.get(machine, f"machine {machine}")
    host = host_machine() if host is None else host
    if host is not None and machine != host:
        here = MACHINES.get(host, f"machine {host}")
        return Executable(f"an ELF executable for {name}; this machine is {here} and cannot run it", True, False)
    if kind not in (ET_EXEC, ET_DYN):
        what = {1: "a relocatable object (.o)", 4: "a core dump"}.get(kind, f"an ELF file of type {kind}")
        return Executable(f"{what}, not an executable", True, False)
    info = read_elf(path)
    linked = "statically linked" if info is None or info.interpreter is None else f"loader {info.interpreter}"
    return Executable(f"an {name} ELF executable ({linked})", True, True)


def require_runnable(path: Path) -> Executable:
    """What ``path`` is; raise one clear error when the kernel here cannot run it at all."""
    found = identify(path)
    if not found.runnable:
        raise VerifyError(f"{path}: {found.description}")
    return found


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
