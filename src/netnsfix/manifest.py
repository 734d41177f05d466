"""Manifests: what went into a stage and what came out, each with its sha256.

Every stage that writes an output folder (srpm, build) writes
``manifest.json`` beside its outputs; publish checks RPMs against it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from netnsfix import __version__
from netnsfix.errors import NetnsfixError
from netnsfix.util.fsutil import atomic_write_text, sha256_file

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
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(
            stage=data["stage"],
            recipe=data["recipe"],
            inputs=tuple(FileRecord(**item) for item in data["inputs"]),
            outputs=tuple(FileRecord(**item) for item in data["outputs"]),
            tool=data.get("tool", "netnsfix"),
            tool_version=data.get("tool_version", ""),
            extra=data.get("extra", {}),
        )
    except FileNotFoundError:
        raise NetnsfixError(f"{path}: no manifest (is {folder} an output folder of netnsfix?)") from None
    except OSError as error:  # unreadable (permissions, a folder in its place): one error naming the file
        raise NetnsfixError(f"{path}: cannot read the manifest: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise NetnsfixError(f"{path}: not a netnsfix manifest: {error}") from None
