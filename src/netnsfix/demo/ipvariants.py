"""The three ``ip`` binaries that tell a fix from the bug, built from one source.

All three come from the demo tree (``netnsfix/demo/iproute2-3.6.0``, a
3.6.0-like ``ip netns``) with a shipped patch applied by ``patch -p1`` at fuzz
0, exactly as rpmbuild's %prep would: none gives 3.6.0's bug, the seed's patch
its workaround (the namespace keeps the host's /sys), upstream's patch the real
fix (the namespace sees its own /sys). Tests, the CI regression check and the
benchmark all need them, so builds are cached by the hash of what went in.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from netnsfix.errors import CommandError, PatchError
from netnsfix.util.command import last_line, run
from netnsfix.util.fsutil import atomic_copy
from netnsfix.util.paths import project_root

DEMO_TREE = Path(__file__).resolve().parent / "iproute2-3.6.0"
# Variant name -> shipped patch (under patches/), None for the unpatched 3.6.0-like ip.
VARIANTS: dict[str, str | None] = {
    "unpatched": None,
    "seed": "iproute-3.6.0-netns-keep-sys.patch",
    "upstream": "iproute-3.6.0-netns-make-rslave.patch",
}


def variant_patch(name: str, root: Path | None = None) -> Path | None:
    """The shipped patch that makes variant ``name`` (None for the unpatched one)."""
    if name not in VARIANTS:
        raise PatchError(f"unknown ip variant {name!r}; known: {', '.join(VARIANTS)}")
    file = VARIANTS[name]
    return None if file is None else (root or project_root()) / "patches" / file


def _content_key(patch: Path | None) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in DEMO_TREE.rglob("*") if p.is_file() and _is_source(p)):
        digest.update(str(path.relative_to(DEMO_TREE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(b"patch\0" + (patch.read_bytes() if patch else b""))
    return digest.hexdigest()[:16]


def _is_source(path: Path) -> bool:
    return path.suffix != ".o" and path.name != "ip"


def _build_outputs(folder: str, names: list[str]) -> set[str]:
    """copytree filter: leave out objects and a built ip/ip, keep the ip/ folder."""
    return {name for name in names if not _is_source(Path(folder) / name) and not (Path(folder) / name).is_dir()}


def build_variant(patch: Path | None, out: Path) -> Path:
    """Build the demo ``ip`` with ``patch`` applied; return ``out/<key>/ip`` (reused if built)."""
    if patch is not None and not patch.is_file():
        raise PatchError(f"{patch}: no such patch file")
    key = _content_key(patch)
    target = out / key / "ip"
    if target.is_file():
        return target
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ipvariant-", dir=out) as work:
        tree = Path(work) / "iproute2-3.6.0"
        shutil.copytree(DEMO_TREE, tree, ignore=_build_outputs)
        if patch is not None:
            _run(["patch", "-p1", "-F0", "--no-backup-if-mismatch", "-s", "-i", str(patch.resolve())], tree, patch)
        _run(["make", "-s", "CC=gcc", "ip/ip"], tree, patch)
        atomic_copy(tree / "ip" / "ip", target)
    return target


def _run(command: list[str], cwd: Path, patch: Path | None) -> None:
    what = patch.name if patch else "no patch"
    result = run(command, cwd=cwd, check=False)
    if result.returncode != 0:
        error = PatchError if command[0] == "patch" else CommandError
        raise error(
            f"{' '.join(command[:2])} in the demo tree ({what}) failed: {last_line(result.stderr, result.stdout)}"
        )


def build_named_variant(name: str, out: Path) -> Path:
    """``build_variant`` by variant name: unpatched, seed or upstream."""
    return build_variant(variant_patch(name), out)
