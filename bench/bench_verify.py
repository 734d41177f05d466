"""Time each verify check and the whole run, with the systemd image cached.

Targets (issue 3): mounts under 0.5 s, every check together under 15 s.
Run as root with a Docker engine:  .venv/bin/python bench/bench_verify.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from netnsfix.demo.ipvariants import build_named_variant
from netnsfix.tools.engine import connect
from netnsfix.verify import DEFAULT_CHECKS as CHECKS
from netnsfix.verify import verify_binary
from netnsfix.verify.systemd_image import ensure_systemd_image

TARGETS = {"mounts": 0.5, "all": 15.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = connect()
    start = time.monotonic()
    image = ensure_systemd_image(client)
    print(f"systemd image {image}: ready in {time.monotonic() - start:.2f} s (cached after the first run)")
    with tempfile.TemporaryDirectory(prefix="netnsfix-bench-") as folder:
        binaries = {name: build_named_variant(name, Path(folder)) for name in ("unpatched", "seed", "upstream")}
        binaries["debian"] = Path("/usr/sbin/ip")
        print(f"{'binary':<10} {'check':<8} {'median s':>9} {'max s':>7}  target")
        for name, binary in binaries.items():
            per_check: dict[str, list[float]] = {check: [] for check in CHECKS}
            totals: list[float] = []
            for _ in range(args.runs):
                result = verify_binary(binary, CHECKS, image, client=client)
                totals.append(result.seconds)
                for check in result.checks:
                    per_check[check.name].append(check.seconds)
            for check, times in [*per_check.items(), ("all", totals)]:
                target = TARGETS.get(check)
                mark = "" if target is None else f"< {target} s " + ("ok" if max(times) < target else "MISSED")
                print(f"{name:<10} {check:<8} {statistics.median(times):>9.3f} {max(times):>7.3f}  {mark}")


if __name__ == "__main__":
    main()
