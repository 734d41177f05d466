"""Print how long the source side's steps take here: the demo archive (cold, warm), a fetch over 127.0.0.1.

Run: .venv/bin/python bench/source_side.py
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.demo.archive import build_demo_archive
from netnsfix.rpm.extract import extract
from netnsfix.util.httpserve import serving


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    print(f"{label:48} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root, cache = Path(scratch) / "archive", Path(scratch) / "cache"
        archive = timed("demo archive, cold (rpmbuild x4, createrepo_c x2)", lambda: build_demo_archive(root, cache))
        timed("demo archive, again (stamp check)", lambda: build_demo_archive(root, cache))
        timed("demo archive, new folder from the cache", lambda: build_demo_archive(Path(scratch) / "b", cache))
        timed("extract the iproute SRPM", lambda: extract(archive.srpm_path, Path(scratch) / "src"))
        big = Path(scratch) / "www" / "big.bin"
        big.parent.mkdir()
        big.write_bytes(os.urandom(64 << 20))
        digest = hashlib.sha256(big.read_bytes()).hexdigest()
        with serving(big.parent) as served:
            fetcher = Fetcher(Cache(Path(scratch) / "dl"))
            seconds = time.perf_counter()
            fetcher.fetch([f"{served.url}/big.bin"], digest, big.stat().st_size)
            seconds = time.perf_counter() - seconds
        print(
            f"{'fetch 64 MiB over 127.0.0.1 (stream, sha256, rename)':48} {seconds:8.3f} s  ({64 / seconds:.0f} MiB/s)"
        )


if __name__ == "__main__":
    main()
