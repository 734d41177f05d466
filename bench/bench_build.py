"""Benchmark the build side against the plain commands it wraps; prints figures, asserts nothing.

1. `netnsfix build --force` of the fixture SRPM against a plain
   `docker run --network none IMAGE rpmbuild --rebuild` of the same SRPM in the
   same image (target: ratio <= 1.10);
2. the no-op `netnsfix build` (target: < 0.5 s, no container started);
3. making the build root image from cached packages (payloads decompressed before, and not) against a plain
   `tar -c | docker import -` of the same files (target: ratio <= 1.5);
4. `netnsfix build --check-reproducible` against one `netnsfix build --force` (target: ratio <= 2.2).

The fixed cost (interpreter, imports, repodata, manifest: what the no-op build
costs) is reported apart from the overhead inside the build.

Run as root with a Docker engine:
    .venv/bin/python bench/bench_build.py [--rounds N] [--srpm FILE | --slow N] [--skip-image]
--srpm measures any SRPM (its BuildRequires must be in the demo archive); --slow N uses the
fixture SRPM with N generated C files compiled in %build (160: a build of about 4-5 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from srpmfixture import make_patched_srpm

from netnsfix.archive.fetch import Fetcher
from netnsfix.build.image import BUILD_HOME, BUILD_USER, ensure_image, fetch_packages, planned_image
from netnsfix.build.inputs import build_root_closure
from netnsfix.build.rebuild import rebuild
from netnsfix.build.roottar import write_tar
from netnsfix.demo.binaries import build_demo_binary_repo
from netnsfix.demo.signkey import demo_key
from netnsfix.tools.engine import connect
from netnsfix.util.httpserve import serving

NETNSFIX = [sys.executable, "-m", "netnsfix"]  # the interpreter running this bench, with its path


def timed(command: list[str], **kwargs) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--srpm", type=Path, help="the SRPM to build (default: the tests' fixture SRPM)")
    parser.add_argument("--slow", type=int, default=0, metavar="N", help="fixture SRPM compiling N generated files")
    parser.add_argument("--skip-image", action="store_true", help="leave out 3. (the image from cached packages)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netnsfix-bench-"))
    srpm = args.srpm.resolve() if args.srpm else make_patched_srpm(work / "srpm", slow_build=args.slow)
    key = demo_key()  # the demo archive's packages are signed with it
    repo = build_demo_binary_repo(work / "archive", signer=key)
    trust = ["--gpg-key", str(key.public_file)]
    client = connect()
    with serving(repo.root) as served:
        mirror = served.url
        subprocess.run(
            [*NETNSFIX, "image", *trust, "--mirror", mirror, "--srpm", str(srpm)], check=True, capture_output=True
        )
        out = work / "out"
        build = [*NETNSFIX, "build", *trust, "--mirror", mirror, "--srpm", str(srpm), "--out", str(out)]
        python = [sys.executable]
        interpreter = [timed([*python, "-c", "pass"]) for _ in range(args.rounds)]
        imports = [
            timed([*python, "-c", "import netnsfix.cli.build, netnsfix.pipeline, netnsfix.build.rebuild"])
            for _ in range(args.rounds)
        ]
        subprocess.run(build, check=True, capture_output=True)
        fetcher = Fetcher()
        closure = build_root_closure(
            fetcher, [f"{mirror}/releases/18/Everything/x86_64/os", f"{mirror}/updates/18/x86_64"], srpm
        )
        image = ensure_image(closure, fetcher, client, gpgcheck=key.gpgcheck())

        # 1. build vs plain rpmbuild --rebuild in the same image, interleaved rounds.
        ours, plain, library = [], [], []
        for _ in range(args.rounds):
            ours.append(timed([*build, "--force"]))
            started = time.monotonic()
            rebuild(srpm, image, work / "out-library", lambda: client, force=True)
            library.append(time.monotonic() - started)
            plain.append(
                timed([
                    "docker", "run", "--rm", "--network", "none", "--user", BUILD_USER,
                    "-v", f"{srpm}:{BUILD_HOME}/{srpm.name}:ro", image.id,
                    "rpmbuild", "--rebuild", "--define", f"_topdir {BUILD_HOME}/build", f"{BUILD_HOME}/{srpm.name}",
                ])
            )  # fmt: skip
        # 2. the no-op (the engine is unreachable on purpose: it must not be needed).
        noop = [
            timed(
                build,
                env={
                    "DOCKER_HOST": "unix:///nonexistent.sock",
                    "PATH": "/usr/bin:/bin",
                    **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
                },
            )
            for _ in range(args.rounds)
        ]

        # 4. --check-reproducible against one forced build.
        checked = [timed([*build, "--check-reproducible"]) for _ in range(args.rounds)]
        if args.skip_image:
            _report(args, closure, ours, plain, library, noop, checked, interpreter, imports)
            subprocess.run(["rm", "-rf", str(work)], check=False)
            return 0

        # 3. image from cached packages vs tar | docker import of the same files.
        rpms = fetch_packages(closure.packages, fetcher)
        rootdir = work / "rootfs"
        rootdir.mkdir()
        with open(work / "rootfs.tar", "wb") as tar_out:
            write_tar(rpms, tar_out)
        subprocess.run(["tar", "-C", str(rootdir), "-xpf", str(work / "rootfs.tar")], check=True)
        made, cold, imported = [], [], []
        ensure_image(
            closure, fetcher, client, gpgcheck=key.gpgcheck(), dist=".fc18bench-warmup"
        )  # fills the payload cache
        client.remove_image_quietly(planned_image(closure, ".fc18bench-warmup", gpgcheck=key.gpgcheck()).tag)
        for i in range(args.rounds):
            for times, payloads in ((made, None), (cold, work / f"cold-cache-{i}")):
                if payloads is not None:  # an empty cache: every payload is decompressed again
                    os.environ["NETNSFIX_CACHE"] = str(payloads)
                started = time.monotonic()
                fresh = ensure_image(
                    closure, fetcher, client, gpgcheck=key.gpgcheck(), dist=f".fc18bench{i}{time.time_ns()}"
                )
                times.append(time.monotonic() - started)
                os.environ.pop("NETNSFIX_CACHE", None)
                client.remove_image_quietly(fresh.tag)
            started = time.monotonic()
            result = subprocess.run(
                f"tar -C {rootdir} -c . | docker import - netnsfix-bench/plain:{i}",
                shell=True, check=True, capture_output=True, text=True,
            )  # fmt: skip
            imported.append(time.monotonic() - started)
            client.remove_image_quietly(result.stdout.strip())
    subprocess.run(["rm", "-rf", str(work)], check=False)
    _report(args, closure, ours, plain, library, noop, checked, interpreter, imports)
    print(
        f"image:  from cached packages {med(made):.2f} s  vs  tar | docker import {med(imported):.2f} s  ratio "
        f"{med(made) / med(imported):.3f} (target <= 1.5)"
    )
    print(f"        same, payloads not yet decompressed {med(cold):.2f} s  ratio {med(cold) / med(imported):.3f}")
    print(f"        all: image {made} cold {cold} import {imported}")
    return 0


def med(values: list[float]) -> float:
    return statistics.median(values)


def _report(args, closure, ours, plain, library, noop, checked, interpreter, imports) -> None:
    print(
        f"packages in the build root: {len(closure.packages)}; load average now {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} cores"
    )
    print(
        f"build:  netnsfix build {med(ours):.2f} s  vs  plain rpmbuild --rebuild {med(plain):.2f} s  ratio "
        f"{med(ours) / med(plain):.3f} (target <= 1.10)"
    )
    print(
        f"        rebuild() in-process {med(library):.2f} s  ratio {med(library) / med(plain):.3f} (no "
        "interpreter start, no repodata)"
    )
    print(f"no-op:  netnsfix build {med(noop):.3f} s (target < 0.5 s; engine unreachable, so no container)")
    print(
        f"fixed cost: {med(noop):.3f} s a run (the no-op: interpreter {med(interpreter):.3f} s, + imports "
        f"{med(imports) - med(interpreter):.3f} s, + repodata and manifests {med(noop) - med(imports):.3f} s; "
        "target <= 0.25 s)"
    )
    overhead = med(ours) - med(plain)
    print(
        f"        overhead of netnsfix build over plain rpmbuild: {overhead:.2f} s, of which fixed {med(noop):.2f} s, "
        f"in the build {overhead - med(noop):.2f} s"
    )
    print(
        f"check:  netnsfix build --check-reproducible {med(checked):.2f} s  vs  one build {med(ours):.2f} s  ratio "
        f"{med(checked) / med(ours):.3f} (target <= 2.2)"
    )
    print(
        f"rounds: {args.rounds}; all: build {ours} library {library} plain {plain} noop {noop} check {checked} "
        f"interpreter {interpreter} imports {imports}"
    )


if __name__ == "__main__":
    sys.exit(main())
