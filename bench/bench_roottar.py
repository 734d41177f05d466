"""Benchmark the build root's payload stream alone (no engine): RPMs -> one tar, written to a null sink.

The figures behind bench_build.py's "image" line without ``docker import``: the
demo archive's x86_64 packages (about 170 Debian-made RPMs, xz payloads as in
Fedora 18) planned and streamed by :func:`netnsfix.build.roottar.write_tar`,
with payloads decompressed now ("cold", threads decompress ahead) and read
from the payload cache ("warm"). Prints figures, asserts nothing.

Run: .venv/bin/python bench/bench_roottar.py [--rounds N] [--packages DIR]
(the demo binaries are made by ``netnsfix demo`` or the test suite, in the cache).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from netnsfix.build.roottar import plan_rootfs, write_tar
from netnsfix.util.paths import cache_dir


class _Null(io.RawIOBase):
    """Counts what is written and keeps none of it."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.count += len(data)
        return len(data)


def _packages(folder: Path | None) -> list[Path]:
    if folder is None:
        found = sorted(cache_dir().glob("demo-binaries/*/releases/18/Everything/x86_64/os"))
        if not found:
            raise SystemExit("no demo binaries in the cache: run the test suite or `netnsfix demo` once")
        folder = found[0]
    return sorted(folder.rglob("*.rpm"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--packages", type=Path, help="a folder of RPMs (default: the demo archive's x86_64 os)")
    args = parser.parse_args()
    rpms = _packages(args.packages)
    size = sum(p.stat().st_size for p in rpms)
    plans, colds, warms = [], [], []
    written = 0
    for _ in range(args.rounds):
        started = time.monotonic()
        plan = plan_rootfs(rpms)
        plans.append(time.monotonic() - started)
        sink = _Null()
        started = time.monotonic()
        write_tar(rpms, sink, plan)  # type: ignore[arg-type]
        colds.append(time.monotonic() - started)
        written = sink.count
        cache = Path(tempfile.mkdtemp(prefix="netnsfix-bench-payloads-"))
        try:
            write_tar(rpms, _Null(), plan, payload_cache=cache)  # type: ignore[arg-type]  # fills the cache
            started = time.monotonic()
            write_tar(rpms, _Null(), plan, payload_cache=cache)  # type: ignore[arg-type]
            warms.append(time.monotonic() - started)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    print(
        f"{len(rpms)} packages, {size / 1e6:.1f} MB of RPMs -> {written / 1e6:.1f} MB of tar; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"plan {statistics.median(plans):.2f} s; tar, payloads decompressed now {statistics.median(colds):.2f} s; "
        f"from the payload cache {statistics.median(warms):.2f} s (medians of {args.rounds})"
    )
    print(f"all: plan {plans} cold {colds} warm {warms}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
