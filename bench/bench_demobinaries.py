"""Benchmark: the demo archive's binary side, cold and cached.

- cold: the Debian root (debootstrap; reused from the cache when present, its
  time printed only when it had to be made) then the repackaging, phase by
  phase, into a fresh scratch folder (the module's cache is not touched);
- cached: build_demo_binary_repo() into a fresh destination when the cache
  holds the result (links, no rpmbuild).
Also prints the repositories' sizes, the package count and rpm-build's closure.
Prints figures; exit status 0 always (figures, not a test).

    .venv/bin/python bench/bench_demobinaries.py
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "demo")]  # conftest helpers, then the demo tests' closure()

from test_demo_binaries import closure

from netnsfix.archive.repodata import parse_primary
from netnsfix.demo import binaries as demobinaries
from netnsfix.tools.debootstrap import ensure_debian_root


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> int:
    started = time.monotonic()
    debian = ensure_debian_root(demobinaries.DEBIAN_INCLUDE)
    print(f"debian root        {time.monotonic() - started:7.1f} s  ({debian.path})")
    with tempfile.TemporaryDirectory(prefix="netnsfix-bench-demobin-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        timings: dict[str, float] = {}
        started = time.monotonic()
        packages = demobinaries.build_into(debian, work / "out", work / "scratch", timings)
        cold = time.monotonic() - started
        for phase, seconds in timings.items():
            print(f"  {phase:<16} {seconds:7.1f} s")
        print(f"repackage (cold)   {cold:7.1f} s  {len(packages)} packages")
        release = _size(work / "out" / demobinaries.RELEASE_PATH)
        updates = _size(work / "out" / demobinaries.UPDATES_PATH)
        print(f"release repository {release / 1e6:7.1f} MB; updates {updates / 1e6:.1f} MB")
        demobinaries.build_demo_binary_repo(work / "warm")  # fills the module cache if empty
        started = time.monotonic()
        repo = demobinaries.build_demo_binary_repo(work / "cached")
        print(f"cached call        {time.monotonic() - started:7.2f} s  (key {repo.key})")
        listed = []
        for folder in (repo.repo, repo.updates):
            primary = next((folder / "repodata").glob("*-primary.xml.gz"))
            listed += parse_primary(gzip.decompress(primary.read_bytes()), str(primary))
        chosen, missing = closure(listed, demobinaries.BASE_BUILD_SET)
        size = sum(p.size for p in chosen.values())
        print(
            f"base set closure   {len(chosen)} packages, {size / 1e6:.1f} MB of RPMs, unresolved: {missing or 'none'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
