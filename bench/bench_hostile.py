"""Benchmark the hostile-input guards of the build side (issue 20); prints figures, asserts nothing.

1. a 1.5 MB gzip bomb (1.5 GiB of zeros) as primary.xml.gz, read by `netnsfix resolve`: the time to the
   one-line refusal and the process's peak RSS, with repomd's open-size small (1 MiB) and honest;
2. a server trickling 20 bytes a second: how long `Fetcher.fetch` takes to give up (rate 100 bytes/s
   over a 2 s window here; the defaults are 1024 bytes/s over 60 s and an hour a file);
3. a FIFO given as the recipe: the time to the refusal (it must not wait for a writer);
4. `rpm/digests.verify_payload` on the largest RPM in the download cache: MB/s, against `rpmkeys -K
   --nosignature` on the same file.

    .venv/bin/python bench/bench_hostile.py
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostilekit import PEAK, SOURCE_REPOS, make_world, package_xml, write_archive
from scripted_http import Running, Slow

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.errors import FetchError
from netnsfix.rpm.digests import verify_payload
from netnsfix.util.httpserve import serving
from netnsfix.util.paths import cache_dir


def bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b"<metadata>")]
    parts += [packer.compress(b"\0" * (1 << 20)) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


def env_for(world: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NETNSFIX_HOME": str(world / "home"),
        "NETNSFIX_CACHE": str(world / "cache"),
        "PYTHONPATH": str(ROOT / "src"),
    }


def gzip_bomb(scratch: Path) -> None:
    size = 1536 << 20
    packed = bomb(size)
    print(f"gzip bomb: {len(packed) / 1e6:.2f} MB of gzip, {size >> 20} MiB of zeros")
    for label, open_size in (("open-size 1 MiB", 1 << 20), ("open-size honest", size)):
        world = scratch / label.replace(" ", "-")
        make_world(world)
        write_archive(world / "www", package_xml("iproute-3.6.0-2.fc18.src.rpm"))
        folder = world / "www" / SOURCE_REPOS[0] / "repodata"
        (folder / "primary.xml.gz").write_bytes(packed)
        repomd = (folder / "repomd.xml").read_text()
        repomd = re.sub(r'(<checksum type="sha256">)[0-9a-f]+', rf"\g<1>{hashlib.sha256(packed).hexdigest()}", repomd)
        repomd = re.sub(r"<size>\d+</size>", f"<size>{len(packed)}</size>", repomd)
        repomd = re.sub(r"<open-size>\d+</open-size>", f"<open-size>{open_size}</open-size>", repomd)
        (folder / "repomd.xml").write_text(repomd)
        with serving(world / "www") as served:
            argv = ["resolve", "--mirror", served.url, "--lock", str(world / "work" / "lock.json")]
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-c", PEAK, *argv], env=env_for(world), capture_output=True, text=True
            )
            took = time.monotonic() - started
        lines = done.stderr.splitlines()
        peak = int(lines[-1].split()[1]) / 1024 if lines and lines[-1].startswith("peak-rss") else float("nan")
        print(f"  {label:17} exit {done.returncode}  {took:5.2f} s  peak RSS {peak:6.0f} MiB  | {lines[0][:110]}")


def trickle(scratch: Path) -> None:
    running = Running()
    try:
        body = os.urandom(4000)
        url = running.state.route("/slow.rpm", body, Slow(chunk=20, pause=1.0))
        fetcher = Fetcher(Cache(scratch / "cache"), retries=3, backoff=0, timeout=5, min_rate=100, rate_window=2)
        started = time.monotonic()
        try:
            fetcher.fetch([url], hashlib.sha256(body).hexdigest(), len(body))
            outcome = "fetched (wrong)"
        except FetchError as error:
            outcome = str(error)[:100]
        print(f"trickle, 20 bytes/s: gave up after {time.monotonic() - started:.2f} s | {outcome}")
    finally:
        running.stop()


def fifo(scratch: Path) -> None:
    world = scratch / "fifo"
    make_world(world)
    os.mkfifo(world / "home" / "specs" / "fifo.toml")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "netnsfix", "resolve", "fifo"], env=env_for(world), capture_output=True, text=True
    )
    took = time.monotonic() - started
    print(f"FIFO as the recipe: exit {done.returncode} after {took:.2f} s | {done.stderr.strip()[-70:]}")


def digests() -> None:
    rpms = sorted(cache_dir().rglob("*.rpm"), key=lambda p: p.stat().st_size)
    if not rpms:
        print("verify_payload: no RPM in the cache to measure")
        return
    rpm = rpms[-1]
    size = rpm.stat().st_size / 1e6
    started = time.monotonic()
    checked = verify_payload(rpm)
    ours = time.monotonic() - started
    started = time.monotonic()
    subprocess.run(["rpmkeys", "--checksig", "--nosignature", str(rpm)], capture_output=True, check=False)
    theirs = time.monotonic() - started
    print(
        f"verify_payload on {rpm.name} ({size:.1f} MB): {ours:.3f} s ({size / ours:.0f} MB/s), "
        f"rpmkeys -K --nosignature {theirs:.3f} s; checked {', '.join(checked.checked)}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch:
        gzip_bomb(Path(scratch))
        trickle(Path(scratch))
        fifo(Path(scratch))
    digests()


if __name__ == "__main__":
    main()
