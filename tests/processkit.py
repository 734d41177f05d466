"""Processes the tests start: stopped in a way that does not depend on inherited signal dispositions,
and killed when they do not exit in time, so none outlives the test that started it.

A non-interactive shell (``nohup bash .ci/run &``, many CI runners) starts its jobs with SIGINT
ignored, and the children inherit that; SIGTERM is what systemd, docker and CI runners send, so the
tests stop servers with SIGTERM and kill whatever does not exit.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def finish(process: subprocess.Popen, timeout: float) -> tuple:
    """``communicate(timeout)``; on timeout the process is killed (and reaped) before the error is raised."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple:
    """Send ``signum`` (SIGTERM by default) and collect the output; kill it if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signum)
    return finish(process, timeout)


def ignoring_sigint() -> None:
    """A ``preexec_fn``: start the child as a non-interactive shell's background job is started."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def wait_for_handler(pid: int, signum: int, timeout: float = 10) -> None:
    """Wait until process ``pid`` catches ``signum`` (its bit in SigCgt of /proc/PID/status).

    A server listens before it installs its handlers; a signal sent in between would be
    ignored (SIGINT inherited as ignored) or kill it (SIGTERM's default).
    """
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < deadline:
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except FileNotFoundError:
            raise AssertionError(f"process {pid} is gone") from None
        if int(fields.get("SigCgt", "0"), 16) & (1 << (signum - 1)):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} does not catch signal {signum} after {timeout} s")


def ignores(pid: int, signum: int) -> bool:
    """Whether ``signum`` is ignored in process ``pid`` (SigIgn of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def gpg_agents_under(folder: Path) -> list[tuple[int, Path]]:
    """Live gpg-agent daemons whose ``--homedir`` lies under ``folder``: (pid, homedir). Zombies (an agent
    that exited but whose parent, PID 1 in a container, never reaped it) are not running and are left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not argv or not argv[0].endswith(b"gpg-agent") or b"--homedir" not in argv:
            continue
        home = Path(argv[argv.index(b"--homedir") + 1].decode(errors="replace"))
        if home.is_relative_to(folder):
            found.append((int(entry.name), home))
    return found


def stop_gpg_agents(homes: list[Path]) -> None:
    """``gpgconf --homedir HOME --kill all`` for each keyring: what gpg itself offers to end its daemons."""
    for home in sorted(set(homes)):
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)
