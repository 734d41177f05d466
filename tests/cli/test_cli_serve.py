"""``netnsfix serve`` stops cleanly on SIGTERM and on SIGINT, even when started with SIGINT ignored.

A non-interactive shell (``nohup bash .ci/run &``, CI runners) starts background jobs with SIGINT
ignored; Python then installs no KeyboardInterrupt for it. systemd, docker and CI runners send
SIGTERM. Either way the server must say it stopped and exit 0, and no process may outlive the test.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from processkit import ignores, ignoring_sigint, stop, wait_for_handler

SIGNALS = [signal.SIGTERM, signal.SIGINT]


def start_serve(folder: Path, *, ignore_sigint: bool) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "serve", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignoring_sigint if ignore_sigint else None,
    )


def test_the_background_job_setup_really_ignores_sigint() -> None:
    # what the tests below rely on: the child starts with SIGINT ignored, as a background job does
    child = subprocess.Popen(["sleep", "30"], preexec_fn=ignoring_sigint)
    try:
        assert ignores(child.pid, signal.SIGINT)
    finally:
        stop(child, signal.SIGKILL)


@pytest.mark.parametrize("ignore_sigint", [True, False], ids=["sigint-ignored", "sigint-default"])
@pytest.mark.parametrize("signum", SIGNALS, ids=[s.name for s in SIGNALS])
def test_serve_stops_on_the_signal(tmp_path: Path, signum: signal.Signals, ignore_sigint: bool) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    server = start_serve(tmp_path, ignore_sigint=ignore_sigint)
    try:
        first = server.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", first)
        assert match, first
        assert requests.get(f"{match.group(1)}/hello.txt", timeout=10).text == "hello\n"
        wait_for_handler(server.pid, signum)
        server.send_signal(signum)
        out, err = server.communicate(timeout=10)
    finally:
        stop(server, signal.SIGKILL)  # only if it is still running: it must not outlive the test
    assert server.returncode == 0, err
    assert f"stopped ({signum.name})" in out
    assert "Traceback" not in err
