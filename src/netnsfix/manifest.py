"""Manifests: what went into a stage and what came out, each with its sha256.

Every stage that writes an output folder (srpm, build) writes
``manifest.json`` beside its outputs; publish checks RPMs against it. The
stages decide here, and only here, whether a previous run's outputs can be
kept (:func:`reusable`): rpmbuild stamps a new build time on every run, so
making an output again when nothing changed would make every later stage
run again for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from netnsfix import __version__
from netnsfix.errors import ManifestError, NetnsfixError
from netnsfix.util.confined import enclosing, inside
from netnsfix.util.fsutil import atomic_write_text, sha256_file
from netnsfix.util.inputfile import read_input_text
from netnsfix.util.paths import cache_dir

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class FileRecord:
    """One file: ``path`` is relative to the manifest's folder for outputs,
    or a URL / absolute path for inputs."""

    path: str
    sha256: str
    size: int
    kind: str = ""  # "srpm", "rpm", "log", "patch", "spec", "source", ...

    @classmethod
    def of(cls, path: Path, name: str | None = None, kind: str = "") -> FileRecord:
        return cls(path=name or str(path), sha256=sha256_file(path), size=path.stat().st_size, kind=kind)


@dataclass(frozen=True)
class Manifest:
    stage: str  # "srpm", "build"
    recipe: str
    inputs: tuple[FileRecord, ...]
    outputs: tuple[FileRecord, ...]
    tool: str = "netnsfix"
    tool_version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_NAME
        atomic_write_text(path, self.to_json())
        return path

    def output(self, kind: str) -> list[FileRecord]:
        return [record for record in self.outputs if record.kind == kind]


def read_manifest(folder: Path) -> Manifest:
    """The manifest in ``folder``; :class:`ManifestError` naming the file when it is missing or not one."""
    path = folder / MANIFEST_NAME
    text = read_input_text(
        path, ManifestError, what="the manifest", missing=f"no manifest (is {folder} an output folder of netnsfix?)"
    )
    try:
        data = json.loads(text)
        return Manifest(
            stage=data["stage"],
            recipe=data["recipe"],
            inputs=tuple(FileRecord(**item) for item in data["inputs"]),
            outputs=tuple(FileRecord(**item) for item in data["outputs"]),
            tool=data.get("tool", "netnsfix"),
            tool_version=data.get("tool_version", ""),
            extra=data.get("extra", {}),
        )
    except KeyError as error:
        raise ManifestError(f"{path}: not a netnsfix manifest: it lacks the field {error}") from None
    except (ValueError, TypeError, AttributeError) as error:
        raise ManifestError(f"{path}: not a netnsfix manifest: {error}") from None


def is_stage_folder(folder: Path) -> bool:
    """True when ``folder`` holds a netnsfix stage's manifest (publish and fleet export keep apart from it)."""
    try:
        return read_manifest(folder).tool == "netnsfix"
    except NetnsfixError:
        return False


@dataclass(frozen=True)
class Reuse:
    """The answer to "may the outputs in this folder be kept?": the manifest when yes, the reason when not."""

    manifest: Manifest | None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.manifest is not None


def reusable(
    folder: Path,
    stage: str,
    inputs: Sequence[FileRecord],
    *,
    recipe: str | None = None,
    extra: Mapping[str, Any] | None = None,
    needs: Sequence[str] = (),
) -> Reuse:
    """Whether ``folder`` holds ``stage``'s outputs made from exactly ``inputs``, all intact.

    The inputs match when the same kinds come in the same order with the same
    sha256 (a path or URL may differ: a mirror's port, an SRPM's folder).
    ``recipe``, when given, must be the manifest's; each ``extra`` item must
    equal the manifest's; each kind in ``needs`` must be among the outputs.
    Every output must be a file of ``folder`` with the recorded size and
    sha256. Reads files only; an unreadable manifest is a reason, not an error.
    """
    try:
        manifest = read_manifest(folder)
    except ManifestError as error:
        return Reuse(None, str(error))
    if manifest.stage != stage:
        return Reuse(None, f"the manifest is the {manifest.stage!r} stage's, not {stage!r}'s")
    if recipe is not None and manifest.recipe != recipe:
        return Reuse(None, f"the outputs are recipe {manifest.recipe!r}'s, not {recipe!r}'s")
    if len(manifest.inputs) != len(inputs):
        return Reuse(None, f"{len(inputs)} inputs now, {len(manifest.inputs)} then")
    for before, now in zip(manifest.inputs, inputs, strict=True):
        if (before.kind, before.sha256) != (now.kind, now.sha256):
            return Reuse(
                None, f"input {now.kind} {now.path} changed (sha256 {now.sha256[:12]}, was {before.sha256[:12]})"
            )
    for key, value in (extra or {}).items():
        if manifest.extra.get(key) != value:
            return Reuse(None, f"{key} is {value!r} now, {manifest.extra.get(key)!r} then")
    for kind in needs:
        if not manifest.output(kind):
            return Reuse(None, f"the manifest lists no {kind} output")
    for record in manifest.outputs:
        path = folder / record.path
        if "/" in record.path or record.path in ("", ".", ".."):
            return Reuse(None, f"output {record.path!r} is not a file name in {folder}")
        if not path.is_file():
            return Reuse(None, f"output {path} is missing")
        if path.stat().st_size != record.size or sha256_file(path) != record.sha256:
            return Reuse(None, f"output {path} is not the file the manifest records (size or sha256 differs)")
    return Reuse(manifest)


@dataclass(frozen=True)
class OutputLayout:
    """Where the stages write for a recipe: ``ROOT/RECIPE/srpm`` and ``ROOT/RECIPE/build``."""

    root: Path = Path("out")

    def srpm(self, recipe: str) -> Path:
        return self.root / recipe / "srpm"

    def build(self, recipe: str) -> Path:
        return self.root / recipe / "build"

    def check(self) -> None:
        """Refuse a root that is itself a stage's folder (writing under it would nest a second tree), or that
        lies in a yum repository or netnsfix's cache (what serve serves, what runs share)."""
        repository = enclosing(self.root, "repodata/repomd.xml")
        if repository is not None:
            raise ManifestError(
                f"{self.root}: is inside the yum repository {repository}; the outputs would be served with it: "
                "give --out a folder of its own"
            )
        if inside(self.root, cache_dir()):
            raise ManifestError(
                f"{self.root}: is inside netnsfix's cache {cache_dir()}; give --out a folder of its own"
            )
        for folder in (self.root, self.root.parent):
            if (folder / MANIFEST_NAME).is_file():
                raise ManifestError(
                    f"{self.root}: is inside a stage's output folder ({folder / MANIFEST_NAME}); --out takes the "
                    f"output root, the folder that holds RECIPE/srpm and RECIPE/build"
                )
        for stage in ("srpm", "build"):
            if (self.root / stage / MANIFEST_NAME).is_file():
                raise ManifestError(
                    f"{self.root}: is a recipe's output folder (it holds {stage}/{MANIFEST_NAME}); --out takes the "
                    f"output root above it, {self.root.parent}"
                )
