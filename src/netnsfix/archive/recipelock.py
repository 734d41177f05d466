"""The lock: what a recipe resolved to, so later runs fetch the same bytes without asking again.

``NAME.lock.json`` sits beside the recipe by default. It keeps the repository
and the location inside it, not only the URL: the URL is rebuilt from the
current base or ``--mirror``, so one lock serves every mirror, and the sha256
pins the bytes whichever mirror serves them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netnsfix.archive.fetch import Fetcher
from netnsfix.archive.repodata import BytesSource
from netnsfix.archive.resolve import Resolved, find_srpm, rebase, source_urls
from netnsfix.errors import FetchError, RecipeError
from netnsfix.recipe import Recipe
from netnsfix.util.confined import control_character, unconfined_reason
from netnsfix.util.fsutil import atomic_write_text
from netnsfix.util.inputfile import read_input_text
from netnsfix.util.urls import WEB, url_problem

LOCK_FORMAT = 1
GONE = (404, 410)  # HTTP statuses that mean the archive no longer has what the lock names
_SHA256 = re.compile(r"[0-9a-f]{64}")


def write_lock(path: Path, recipe: Recipe, resolved: Resolved, now: datetime | None = None) -> Resolved:
    """Write the lock atomically: the recipe's name, when, and every field of ``resolved``;
    return ``resolved`` as a later read of the lock gives it (with ``resolved_at``)."""
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    data: dict[str, Any] = {
        "lock_format": LOCK_FORMAT,
        "recipe": recipe.name,
        "resolved_at": when.isoformat().replace("+00:00", "Z"),
        **{name: value for name, value in asdict(resolved).items() if name != "resolved_at"},
    }
    try:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    except OSError as error:
        raise RecipeError(f"{path}: cannot write the lock: {error.strerror or error}") from error
    return replace(resolved, resolved_at=when)


def _check(path: Path, data: Any, recipe: Recipe) -> Resolved:
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: malformed lock: not a JSON object")
    values: dict[str, Any] = {"resolved_at": _resolved_at(data.get("resolved_at"))}
    for f in fields(Resolved):
        if f.name == "resolved_at":
            continue
        if f.name not in data:
            raise RecipeError(f"{path}: malformed lock: missing field '{f.name}'")
        value = data[f.name]
        want = int if f.type in ("int", int) else str
        if not isinstance(value, want) or isinstance(value, bool):
            raise RecipeError(f"{path}: malformed lock: field '{f.name}' must be a {want.__name__}")
        values[f.name] = value
    if data.get("lock_format") != LOCK_FORMAT:
        raise RecipeError(f"{path}: malformed lock: lock_format is {data.get('lock_format')!r}, expected {LOCK_FORMAT}")
    if not _SHA256.fullmatch(values["sha256"]):
        raise RecipeError(f"{path}: malformed lock: sha256 {values['sha256']!r} is not 64 lower-case hex digits")
    if values["size"] < 0:
        raise RecipeError(f"{path}: malformed lock: size is negative")
    location = values["location"]
    reason = unconfined_reason(location)
    if reason is not None:
        raise RecipeError(
            f"{path}: malformed lock: location {location!r} is not a path inside the repository ({reason})"
        )
    problem = url_problem(values["url"], WEB)
    if problem is not None:
        raise RecipeError(f"{path}: malformed lock: url {values['url']!r} {problem}")
    for name in ("name", "version", "release", "arch", "nevra", "repo"):
        bad = control_character(values[name])
        if bad is not None:
            raise RecipeError(f"{path}: malformed lock: field '{name}' holds the control character {bad!r}")
    if values["repo"] not in recipe.source_repos:
        raise RecipeError(
            f"{path}: lock names repository {values['repo']!r}, which recipe {recipe.name} no longer lists; "
            "resolve again with --refresh"
        )
    if (values["name"], values["version"]) != (recipe.package, recipe.version):
        raise RecipeError(
            f"{path}: lock is for {values['name']} {values['version']}, but recipe {recipe.name} asks for "
            f"{recipe.package} {recipe.version}; resolve again with --refresh"
        )
    return Resolved(**values)


def read_lock(path: Path, recipe: Recipe, mirror: str | None = None) -> Resolved:
    """The lock at ``path``, checked against the recipe, its URL rebuilt for ``mirror``."""
    text = read_input_text(path, RecipeError, what="the lock", missing="no lock")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RecipeError(f"{path}: malformed lock: {error}") from None
    return rebase(_check(path, data, recipe), recipe, mirror)


def _resolved_at(value: object) -> datetime | None:
    """When the lock was written (None when a hand-made lock does not say, or not as ISO 8601).

    The patched spec's %changelog entry carries its day: taken from an input,
    not the clock, so the same recipe and lock make the same SRPM on any day."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def locked_srpm(
    recipe: Recipe,
    fetcher: BytesSource,
    mirror: str | None = None,
    lock_path: Path | None = None,
    refresh: bool = False,
) -> Resolved:
    """The lock's answer when there is one (no network), else resolve and write the lock.

    ``refresh`` resolves anew and rewrites the lock even when one exists.
    """
    path = lock_path or recipe.lock_path
    if path.exists() and not refresh:
        return read_lock(path, recipe, mirror)
    return write_lock(path, recipe, find_srpm(recipe, fetcher, mirror))


def fetch_locked(
    fetcher: Fetcher, recipe: Recipe, resolved: Resolved, mirrors: Sequence[str | None], lock_path: Path | None
) -> Path:
    """Fetch what the lock (or a fresh resolve) names; a package the archive no longer has says how to move on."""
    try:
        return fetcher.fetch(source_urls(resolved, recipe, mirrors), resolved.sha256, resolved.size, resolved.file_name)
    except FetchError as error:
        if not any(failure.status in GONE for failure in error.each()):
            raise
        raise error.with_note(
            f"; the lock {lock_path or recipe.lock_path} may name a package the archive no longer has: "
            "resolve again with --refresh"
        ) from error
