"""Recipes: what to fetch, which patch to add, and how to name the result.

A recipe is a TOML file in ``specs/``; its name is the file name without
``.toml``. Paths inside it (the patch) are relative to the project root, the
folder that holds ``specs/``, and must stay inside its ``patches/``. Every value
is checked for its type strictly (``bug = true`` is not a bug number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netnsfix.errors import RecipeError
from netnsfix.util.confined import control_character, unconfined_reason
from netnsfix.util.paths import project_root
from netnsfix.util.tomlfile import read_toml
from netnsfix.util.urls import WEB, url_problem

DEFAULT_RECIPE = "iproute-3.6.0-fc18"
# rpm's Release may hold these (no '-', '/' or spaces); checked before anything is downloaded
_RELEASE_SUFFIX = re.compile(r"^[A-Za-z0-9._+~^]+\Z")
# the patch's file name goes into the spec's Patch tag and SOURCES as it is: no macro, no space
_PATCH_FILE_NAME = re.compile(r"^[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*\Z")

# Every key a recipe may hold (the README: recipes are strict); anything else is a typo or a trap.
# A table's keys, by table ("" is the top level); "gpg.keys" is the list of [[gpg.keys]] tables.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"description", "package", "archive", "patch", "release", "changelog", "gpg", "distribution"}),
    "package": frozenset({"name", "version"}),
    "archive": frozenset({"base_url", "source_repos", "binary_repos"}),
    "patch": frozenset({"file", "bug"}),
    "release": frozenset({"suffix"}),
    "changelog": frozenset({"author", "text"}),
    "gpg": frozenset({"keys"}),
    "distribution": frozenset({"name", "glibc"}),
    "gpg.keys": frozenset({"fingerprint", "file"}),
}


@dataclass(frozen=True)
class GpgKey:
    """A release key the recipe trusts: its full fingerprint and the public key file shipped beside it."""

    fingerprint: str  # 40 hex digits, upper case
    file: Path


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    description: str
    package: str
    version: str
    base_url: str
    source_repos: tuple[str, ...]
    binary_repos: tuple[str, ...]
    patch: Path
    bug: int
    release_suffix: str
    changelog_author: str
    changelog_text: str
    gpg_keys: tuple[GpgKey, ...] = ()  # [[gpg.keys]]: the archive's signatures are checked against these
    distribution: str = ""  # [distribution] name, e.g. "Fedora 18"
    glibc: str = ""  # [distribution] glibc: the distribution's glibc version, e.g. "2.16"

    @property
    def lock_path(self) -> Path:
        """The lock sits beside the recipe: ``NAME.lock.json``."""
        return self.path.with_name(f"{self.name}.lock.json")


def specs_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "specs"


def _unknown_keys(data: dict[str, Any], path: Path) -> None:
    """Refuse a key the recipe format does not have, naming it with its table."""
    tables: list[tuple[str, Any]] = [("", data)]
    for name in ("package", "archive", "patch", "release", "changelog", "gpg"):
        tables.append((name, data.get(name)))
    gpg = data.get("gpg")
    if isinstance(gpg, dict) and isinstance(gpg.get("keys"), list):
        tables += [("gpg.keys", entry) for entry in gpg["keys"]]
    for table, node in tables:
        if not isinstance(node, dict):
            continue
        for key in node:
            if key not in KNOWN_KEYS[table]:
                where = f"{table}.{key}" if table else key
                known = ", ".join(sorted(KNOWN_KEYS[table]))
                raise RecipeError(f"{path}: unknown key '{where}' (recipes are strict; known here: {known})")


def _no_controls(node: Any, path: Path, where: str = "") -> None:
    """No string value may hold a newline or another control character (each ends up on one line somewhere)."""
    if isinstance(node, dict):
        for key, value in node.items():
            _no_controls(value, path, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for value in node:
            _no_controls(value, path, where)
    elif isinstance(node, str):
        bad = control_character(node)
        if bad is not None:
            raise RecipeError(f"{path}: field '{where}' holds the control character {bad!r}; values are one line")
        if node != node.strip():
            raise RecipeError(f"{path}: field '{where}' {node!r} starts or ends with whitespace")


def _field(data: dict[str, Any], path: Path, *keys: str, kind: type = str) -> Any:
    node: Any = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise RecipeError(f"{path}: missing field '{'.'.join(keys)}'")
        node = node[key]
    if kind is tuple:
        if not isinstance(node, list) or not node or not all(isinstance(i, str) for i in node):
            raise RecipeError(f"{path}: field '{'.'.join(keys)}' must be a non-empty list of strings")
        return tuple(node)
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        what = {int: "an integer", str: "a string"}.get(kind, f"a {kind.__name__}")
        raise RecipeError(f"{path}: field '{'.'.join(keys)}' must be {what}, not {node!r}")
    return node


def _gpg_keys(data: dict[str, Any], path: Path, base: Path) -> tuple[GpgKey, ...]:
    """``[[gpg.keys]]`` entries: ``fingerprint`` (40 hex digits, spaces allowed) and ``file``."""
    entries = data.get("gpg", {}).get("keys", []) if isinstance(data.get("gpg", {}), dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RecipeError(f"{path}: field 'gpg.keys' must be a list of tables (fingerprint, file)")
    keys = []
    for entry in entries:
        fingerprint = _field(entry, path, "fingerprint").replace(" ", "").upper()
        if len(fingerprint) != 40 or any(c not in "0123456789ABCDEF" for c in fingerprint):
            raise RecipeError(f"{path}: gpg key fingerprint '{entry['fingerprint']}' is not 40 hex digits")
        keys.append(GpgKey(fingerprint, base / _field(entry, path, "file")))
    return tuple(keys)


def load_recipe(path: Path, root: Path | None = None) -> Recipe:
    """Read and check one recipe file."""
    data = read_toml(path, RecipeError, missing="no such recipe", what=" the recipe")
    _unknown_keys(data, path)
    _no_controls(data, path)
    base = root or path.resolve().parent.parent
    patch = base / _field(data, path, "patch", "file")
    if not patch.resolve().is_relative_to((base / "patches").resolve()):
        raise RecipeError(f"{path}: patch file {patch} is outside {base / 'patches'}")
    if patch.is_dir():
        raise RecipeError(f"{path}: patch file {patch} is a folder, not a file")
    if not patch.is_file():
        raise RecipeError(f"{path}: patch file {patch} does not exist")
    if not _PATCH_FILE_NAME.match(patch.name):
        raise RecipeError(
            f"{path}: patch file name {patch.name!r} may only hold letters, digits and . _ + ~ - "
            "(it becomes the spec's Patch tag)"
        )
    bug = _field(data, path, "patch", "bug", kind=int)
    if bug <= 0:
        raise RecipeError(f"{path}: field 'patch.bug' must be a bug number, not {bug}")
    suffix = _field(data, path, "release", "suffix")
    if not _RELEASE_SUFFIX.match(suffix):
        raise RecipeError(f"{path}: field 'release.suffix' {suffix!r} may only hold letters, digits and . _ + ~ ^")
    base_url = _field(data, path, "archive", "base_url")
    problem = url_problem(base_url, WEB)
    if problem is not None:
        raise RecipeError(f"{path}: field 'archive.base_url' {base_url!r} {problem}")
    for field_name in ("source_repos", "binary_repos"):
        for repo in _field(data, path, "archive", field_name, kind=tuple):
            reason = unconfined_reason(repo.strip("/"))
            if reason is not None:
                raise RecipeError(
                    f"{path}: field 'archive.{field_name}' entry {repo!r} is not a path below the base URL: {reason}"
                )
    if not isinstance(data.get("description", ""), str):
        raise RecipeError(f"{path}: field 'description' must be a str")
    return Recipe(
        name=path.name.removesuffix(".toml"),
        path=path,
        description=data.get("description", ""),
        package=_field(data, path, "package", "name"),
        version=_field(data, path, "package", "version"),
        base_url=base_url.rstrip("/"),
        source_repos=_field(data, path, "archive", "source_repos", kind=tuple),
        binary_repos=_field(data, path, "archive", "binary_repos", kind=tuple),
        patch=patch,
        bug=bug,
        release_suffix=suffix,
        changelog_author=_field(data, path, "changelog", "author"),
        changelog_text=_field(data, path, "changelog", "text"),
        gpg_keys=_gpg_keys(data, path, base),
        **_distribution(data, path),
    )


def _distribution(data: dict[str, Any], path: Path) -> dict[str, str]:
    """``[distribution]`` (optional): ``name`` and ``glibc`` (digits and dots)."""
    if "distribution" not in data:
        return {}
    name = _field(data, path, "distribution", "name")
    glibc = _field(data, path, "distribution", "glibc")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", glibc):
        raise RecipeError(f"{path}: field 'distribution.glibc' {glibc!r} is not a version such as 2.16")
    return {"distribution": name, "glibc": glibc}


def find_recipe(name_or_path: str | None, root: Path | None = None) -> Recipe:
    """A recipe by name (``specs/NAME.toml``) or by path to a .toml file."""
    name = name_or_path or DEFAULT_RECIPE
    candidate = Path(name)
    if candidate.suffix == ".toml" or candidate.is_file():
        return load_recipe(candidate, root)
    path = specs_dir(root) / f"{name}.toml"
    if "/" in name or name.startswith(".") or not path.exists():
        known = ", ".join(recipe_names(root)) or "none"
        raise RecipeError(f"{path}: no such recipe (known: {known})")
    return load_recipe(path, root)


def recipe_names(root: Path | None = None) -> list[str]:
    return [p.name.removesuffix(".toml") for p in sorted(specs_dir(root).glob("*.toml"))]


def list_recipes(root: Path | None = None) -> list[Recipe]:
    return [load_recipe(p, root) for p in sorted(specs_dir(root).glob("*.toml"))]


def scan_recipes(root: Path | None = None) -> list[Recipe | RecipeError]:
    """Every recipe in ``specs/``, a broken one as its error (so one cannot hide the others)."""
    found: list[Recipe | RecipeError] = []
    for path in sorted(specs_dir(root).glob("*.toml")):
        try:
            found.append(load_recipe(path, root))
        except RecipeError as error:
            found.append(error)
    return found
