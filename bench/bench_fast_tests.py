"""How long the quick loop takes: the whole `scripts/test --fast` (ruff, mypy, ansible-lint, then
`pytest --fast` on every core with pytest-xdist).

Prints the wall time of each phase (as scripts/test prints them), the whole run's wall time, the CPU time
of everything it ran (pytest's workers and every program they ran: the hostile catalogue's
`python -m netnsfix`, rpmbuild, ansible...), the machine's load before and after, and the count of tests;
asserts nothing. The CPU figure is what the run costs; the wall figure depends on who else uses the cores
(target: under 2 minutes on 2 idle cores).

    .venv/bin/python bench/bench_fast_tests.py [PYTEST ARGS]
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE = "scripts/test --fast: "


def main() -> None:
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "test"), "--fast", "-p", "no:cacheprovider", *sys.argv[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    phases = [line.removeprefix(PHASE) for line in done.stderr.splitlines() if line.startswith(PHASE)]
    summary = next((line for line in reversed(done.stdout.splitlines()) if re.search(r"\d+ passed", line)), "")
    print(f"pytest --fast: {summary.strip('= ') or 'no summary (exit ' + str(done.returncode) + ')'}")
    print("phases: " + ", ".join(phases))
    print(f"wall {wall:6.1f} s   cpu {children.ru_utime + children.ru_stime:6.1f} s (user + system, with children)")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
