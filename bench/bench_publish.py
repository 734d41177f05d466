"""Benchmark: `netnsfix publish` against `createrepo_c` alone on the same RPMs.

Builds 1000 small noarch RPMs once (one spec, 1000 subpackages; cached under
$NETNSFIX_CACHE/test-rpms), then for 1, 100 and 1000 RPMs times
- publish(): manifest check (sha256), header reads, copies into the repository,
  gzip+sqlite repodata built aside and swapped in;
- createrepo_c --general-compress-type=gz --database on a folder holding the
  same files (what an operator runs by hand; it copies nothing and checks no manifest);
and the incremental case: one new package published into the 1000-package repository.
Best of --repeat runs, interleaved. Prints a table; exit status 0 always (figures, not a test).

    .venv/bin/python bench/bench_publish.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rpmkit import build_rpms, make_outdir

from netnsfix.publish.repository import publish


def createrepo_binary() -> str:
    beside = Path(sys.executable).parent / "createrepo_c"  # the wheel's, same library as the bindings
    return str(beside) if beside.exists() else (shutil.which("createrepo_c") or "createrepo_c")


def time_createrepo(binary: str, rpms: list[Path], work: Path) -> float:
    folder = work / "plain"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for rpm in rpms:
        shutil.copyfile(rpm, folder / rpm.name)
    start = time.perf_counter()
    subprocess.run([binary, "-q", "--general-compress-type=gz", "--database", str(folder)], check=True)
    return time.perf_counter() - start


def time_publish(outdir: Path, work: Path) -> float:
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    start = time.perf_counter()
    publish(outdir, repo)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--dir",
        type=Path,
        action="append",
        help="where repositories are written; repeatable (default: the system temp "
        "folder, then /dev/shm, a tmpfs, to show the disk's share)",
    )
    args = parser.parse_args()
    places = args.dir or [Path(tempfile.gettempdir())] + ([Path("/dev/shm")] if Path("/dev/shm").is_dir() else [])
    t0 = time.perf_counter()
    built = build_rpms("nfxbench", 1000, arch_package=False)
    extra_built = build_rpms("nfxbenchextra", 0)
    noarch = sorted(built.glob("*.noarch.rpm"))
    extra = sorted(extra_built.glob("*.x86_64.rpm"))
    binary = createrepo_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"RPMs ready in {time.perf_counter() - t0:.1f} s ({len(noarch)} noarch, cached)")
    print(f"createrepo_c: {binary} ({version}); best of {args.repeat} runs, interleaved")
    for place in places:
        with tempfile.TemporaryDirectory(prefix="netnsfix-bench-", dir=place) as tmp:
            fs = subprocess.run(["stat", "-f", "-c", "%T", tmp], capture_output=True, text=True).stdout.strip()
            print(
                f"\n== repositories in {place} ({fs}); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
            )
            run_place(Path(tmp), binary, noarch, extra, args.repeat)
    return 0


def run_place(work: Path, binary: str, noarch: list[Path], extra: list[Path], repeat: int) -> None:
    print(f"{'RPMs':>6} {'publish s':>10} {'createrepo_c s':>15} {'ratio':>7}   publish steps (s)")
    for count in (1, 100, 1000):
        outdir = make_outdir(work / f"out{count}", noarch[:count])
        ours, theirs = [], []
        for _ in range(repeat):
            theirs.append(time_createrepo(binary, noarch[:count], work))
            ours.append(time_publish(outdir, work))
        steps = publish(outdir, work / "steps-repo").timings
        shutil.rmtree(work / "steps-repo")
        print(
            f"{count:>6} {min(ours):>10.3f} {min(theirs):>15.3f} {min(ours) / min(theirs):>7.2f}   "
            + " ".join(f"{name}={seconds:.3f}" for name, seconds in steps)
        )
    outdir = work / "out1000"
    extra_out = make_outdir(work / "extra", extra)
    incremental, noop = [], []
    for _ in range(repeat):
        repo = work / "inc-repo"
        shutil.rmtree(repo, ignore_errors=True)
        publish(outdir, repo)
        start = time.perf_counter()
        result = publish(extra_out, repo)
        incremental.append(time.perf_counter() - start)
        assert result.added == ("nfxbenchextra-1.0-1.x86_64",), result
        start = time.perf_counter()
        publish(outdir, repo)
        noop.append(time.perf_counter() - start)
    print(
        f"incremental: 1 RPM into a 1000-RPM repository: {min(incremental):.3f} s (target < 3 s); steps: "
        + " ".join(f"{name}={seconds:.3f}" for name, seconds in result.timings)
    )
    print(f"republish of the same 1000 RPMs (no change, repomd.xml untouched): {min(noop):.3f} s")


if __name__ == "__main__":
    raise SystemExit(main())
