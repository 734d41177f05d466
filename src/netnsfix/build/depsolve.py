"""Resolve the package closure of a build root against repositories' primary.xml.

mock asks dnf for this; netnsfix has no Fedora 18 dnf to ask, so it solves the
(small) problem itself: every requirement of every chosen package, and of the
source package's BuildRequires, must be provided by a chosen package.

The rules, in the order they apply:

- Candidates are x86_64 and noarch packages only (never i686: a build root is
  not multilib), and of each name only the newest EVR across all repositories
  (releases + updates: updates win when newer, as on a real Fedora 18 host).
- A package obsoleted by another candidate is not a candidate; whoever needed
  it gets the obsoleting package (which, by packaging rules, provides the old
  name).
- ``rpmlib(...)`` and other rpm-internal capabilities (``rpmlib(``,
  ``config(`` of the package itself) are satisfied by rpm, not by a package.
- A requirement is met by a package's provides (its own ``name = EVR``
  included), versioned requirements compared with rpm's own
  ``labelCompare``; a path (``/bin/sh``) also by primary's file lists.
  ``Requires(pre)`` is an ordinary requirement here: nothing is ordered,
  the packages are unpacked, not installed one by one.

When several packages provide one capability, the choice is made in this order:

1. a package already in the closure (chosen for another reason): adds nothing;
2. a package whose name is the capability (``Requires: gcc`` means gcc);
3. a package built from the same source RPM as the one that needs it
   (yum's rule: subpackages of one build belong together);
4. the shortest name, then the alphabetically first (yum's last resort, and
   what makes the result independent of repository order).

Choices between several providers are deferred until every requirement with a
single possible provider has been met, so "already in the closure" means
"needed anyway", not "happened to be read first". The result is the same for
the same repositories whatever their order and the order of the base set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import rpm

from netnsfix.archive.repodata import Dependency, Package, RepoIndex
from netnsfix.errors import ResolveError, UnmetRequirements

ARCHES = ("x86_64", "noarch")

# Fedora 18's minimal build root: mock's fedora-18 "chroot_setup_cmd" installs
# the @buildsys-build group; these are its packages, less gcc-c++ (no C package
# needs a C++ compiler; a spec that does says "BuildRequires: gcc-c++"), plus
# glibc-devel: Fedora's gcc requires it, so it is in every Fedora build root;
# naming it keeps C compiling in a root whose gcc does not say so.
BASE_BUILD_SET: tuple[str, ...] = (
    "bash",
    "bzip2",
    "coreutils",
    "cpio",
    "diffutils",
    "fedora-release",
    "findutils",
    "gawk",
    "gcc",
    "glibc-devel",
    "grep",
    "gzip",
    "info",
    "make",
    "patch",
    "redhat-rpm-config",
    "rpm-build",
    "sed",
    "shadow-utils",
    "tar",
    "unzip",
    "util-linux",
    "which",
    "xz",
)

# Capabilities rpm itself satisfies (never a package).
_RPM_INTERNAL = ("rpmlib(", "rpmlib-", "config(")

_FLAGS = {"EQ": {"EQ"}, "LT": {"LT"}, "LE": {"LT", "EQ"}, "GT": {"GT"}, "GE": {"GT", "EQ"}}


@dataclass(frozen=True)
class Reason:
    """Why a package is in the closure: ``needed_by`` asked for ``requirement``."""

    package: str  # NEVRA
    requirement: str
    needed_by: str  # a NEVRA, "base set", or "BuildRequires of <srpm>"


@dataclass(frozen=True)
class Closure:
    """The resolved build root: packages sorted by name and arch, and why each is there."""

    packages: tuple[Package, ...]
    reasons: tuple[Reason, ...]

    @property
    def nevras(self) -> tuple[str, ...]:
        return tuple(p.nevra for p in self.packages)

    def reason_for(self, nevra: str) -> Reason | None:
        return next((r for r in self.reasons if r.package == nevra), None)


def ignored(dep: Dependency) -> bool:
    """rpm-internal capabilities: met by rpm, not by any package."""
    return dep.name.startswith(_RPM_INTERNAL)


def compare_evr(
    a: tuple[str | int | None, str | None, str | None], b: tuple[str | int | None, str | None, str | None]
) -> int:
    """rpm's comparison; a missing release on either side matches any release (as rpm does)."""
    ea, va, ra = a
    eb, vb, rb = b
    if int(ea or 0) != int(eb or 0):
        return 1 if int(ea or 0) > int(eb or 0) else -1
    if ra is None or rb is None:
        ra = rb = ""
    return int(rpm.labelCompare(("0", va or "", ra), ("0", vb or "", rb)))


def overlaps(provide: Dependency, require: Dependency) -> bool:
    """Whether ``provide`` satisfies ``require`` (names equal): rpm's range overlap."""
    if provide.name != require.name:
        return False
    if not require.flags or not provide.flags or provide.version is None:
        return True  # an unversioned require, or an unversioned provide, matches everything
    sense = compare_evr(
        (provide.epoch, provide.version, provide.release), (require.epoch, require.version, require.release)
    )
    p, r = _FLAGS.get(provide.flags, set()), _FLAGS.get(require.flags, set())
    if sense < 0:
        return "GT" in p or "LT" in r
    if sense > 0:
        return "LT" in p or "GT" in r
    return bool(p & r)  # equal EVRs: both include =, or both point the same way


def self_provide(pkg: Package) -> Dependency:
    return Dependency(pkg.name, "EQ", str(pkg.epoch), pkg.version, pkg.release)


def newest(packages: Iterable[Package]) -> tuple[Package, ...]:
    """Of each name, the newest EVR (x86_64 before noarch at equal EVR); other arches dropped."""
    best: dict[str, Package] = {}
    for pkg in packages:
        if pkg.arch not in ARCHES:
            continue
        old = best.get(pkg.name)
        if old is None:
            best[pkg.name] = pkg
            continue
        sense = compare_evr((pkg.epoch, pkg.version, pkg.release), (old.epoch, old.version, old.release))
        if sense > 0 or (sense == 0 and (pkg.arch, pkg.repo_url) < (old.arch, old.repo_url) and pkg.arch == "x86_64"):
            best[pkg.name] = pkg
    return tuple(best[name] for name in sorted(best))


class Pool:
    """The candidate packages with indexes from capability and path to provider."""

    def __init__(self, packages: Iterable[Package]) -> None:
        candidates = newest(packages)
        obsoleted = {
            other.name
            for pkg in candidates
            for obs in pkg.obsoletes
            for other in candidates
            if other.name == obs.name and other.name != pkg.name and overlaps(self_provide(other), obs)
        }
        self.obsoleted = obsoleted
        self.packages = tuple(p for p in candidates if p.name not in obsoleted)
        self.by_name = {p.name: p for p in self.packages}
        self._provides: dict[str, list[tuple[Package, Dependency]]] = {}
        self._files: dict[str, list[Package]] = {}
        for pkg in self.packages:
            for dep in (self_provide(pkg), *pkg.provides):
                self._provides.setdefault(dep.name, []).append((pkg, dep))
            for path in pkg.files:
                self._files.setdefault(path, []).append(pkg)

    def providers(self, req: Dependency) -> list[Package]:
        found = {p.nevra: p for p, dep in self._provides.get(req.name, ()) if overlaps(dep, req)}
        if req.name.startswith("/"):
            found.update((p.nevra, p) for p in self._files.get(req.name, ()))
        return sorted(found.values(), key=lambda p: p.nevra)


def choose(
    candidates: Sequence[Package], req: Dependency, needed_by: Package | None, chosen: dict[str, Package]
) -> Package:
    """The module docstring's choice rule, as a sort key."""

    def key(p: Package) -> tuple[int, int, int, int, str, str]:
        same_source = needed_by is not None and bool(p.source_rpm) and p.source_rpm == needed_by.source_rpm
        return (p.name not in chosen, p.name != req.name, not same_source, len(p.name), p.name, p.arch)

    return min(candidates, key=key)


@dataclass(frozen=True)
class _Need:
    req: Dependency
    needed_by: Package | None
    origin: str  # "base set", "BuildRequires of X", or needed_by's NEVRA


def solve(
    repos: Sequence[RepoIndex] | Sequence[Package],
    names: Sequence[str] = BASE_BUILD_SET,
    extra: Sequence[Dependency] = (),
    extra_origin: str = "BuildRequires",
) -> Closure:
    """The closure of ``names`` (package names or capabilities) and ``extra`` requirements."""
    packages: list[Package] = []
    for item in repos:
        packages.extend(item.packages if isinstance(item, RepoIndex) else (item,))
    pool = Pool(packages)
    chosen: dict[str, Package] = {}
    reasons: dict[str, Reason] = {}
    pending: list[_Need] = [_Need(Dependency(n), None, "base set") for n in sorted(set(names))]
    pending += [_Need(d, None, extra_origin) for d in sorted(set(extra), key=str) if not ignored(d)]

    def take(pkg: Package, need: _Need) -> None:
        if pkg.name in chosen:
            return
        chosen[pkg.name] = pkg
        reasons[pkg.nevra] = Reason(pkg.nevra, str(need.req), need.origin)
        pending.extend(_Need(d, pkg, pkg.nevra) for d in sorted(set(pkg.requires), key=str) if not ignored(d))

    missing: list[_Need] = []  # every requirement nothing provides, reported together at the end
    while pending:
        ambiguous: list[tuple[_Need, list[Package]]] = []
        batch, pending[:] = list(pending), []
        for need in batch:
            found = pool.providers(need.req)
            if not found:
                missing.append(need)
                continue
            if any(p.name in chosen and chosen[p.name].nevra == p.nevra for p in found):
                continue
            if len(found) == 1:
                take(found[0], need)
            else:
                ambiguous.append((need, found))
        if pending:
            pending.extend(n for n, _ in ambiguous)  # forced choices first: they may settle these
            continue
        if ambiguous:
            ambiguous.sort(key=lambda item: (str(item[0].req), item[0].origin))
            need, found = ambiguous[0]
            take(choose(found, need.req, need.needed_by, chosen), need)
            pending.extend(n for n, _ in ambiguous[1:])
    if missing:
        lines = dict.fromkeys(_unresolvable(need, pool, reasons) for need in missing)  # once each, in order
        raise UnmetRequirements(list(lines))
    _check_conflicts(chosen)
    ordered = tuple(sorted(chosen.values(), key=lambda p: (p.name, p.arch)))
    return Closure(ordered, tuple(reasons[p.nevra] for p in ordered))


def _chain(origin: str, reasons: dict[str, Reason]) -> list[str]:
    """``origin`` and who needed it, back to the base set or the BuildRequires."""
    chain = [origin]
    while chain[-1] in reasons and len(chain) < 50:
        chain.append(reasons[chain[-1]].needed_by)
    return list(reversed(chain))


def _unresolvable(need: _Need, pool: Pool, reasons: dict[str, Reason]) -> str:
    why = ""
    other_versions = pool.providers(Dependency(need.req.name)) if need.req.flags else []
    if need.req.name in pool.obsoleted:
        why = " (it is obsoleted by another package)"
    elif other_versions:
        have = ", ".join(p.nevra for p in other_versions)
        why = f" (only {have} provides that name, at another version)"
    chain = _chain(need.origin, reasons)
    via = f"; chain: {' -> '.join(chain)}" if len(chain) > 1 else ""  # indirect: how the SRPM came to need it
    return f"nothing provides '{need.req}' needed by {need.origin}{why}{via}"


def _check_conflicts(chosen: dict[str, Package]) -> None:
    for pkg in sorted(chosen.values(), key=lambda p: p.name):
        for conflict in pkg.conflicts:
            other = chosen.get(conflict.name)
            if other is not None and other.name != pkg.name and overlaps(self_provide(other), conflict):
                raise ResolveError(f"{pkg.nevra} conflicts with '{conflict}', and {other.nevra} is needed too")
