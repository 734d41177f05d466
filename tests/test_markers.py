"""The fast run (``pytest --fast``, ``scripts/test --fast``) can be trusted: a test that needs the engine
or root and is not marked so fails instead of slipping into it, and a test that reaches the engine or
the network under --fast fails too. Each rule is shown failing on a test written to break it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from testkit import ROOT

BROKEN = """
import socket
import pytest

def test_uses_the_engine_unmarked(engine):
    pass

def test_needs_root_unmarked(need_root):
    pass

@pytest.mark.engine
def test_marked_is_left_out(engine):
    pass

def test_reaches_the_engine_itself():
    import docker
    docker.from_env()

def test_reaches_the_network():
    socket.create_connection(("192.0.2.1", 80), timeout=1)

def test_loopback_is_fine():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=1).close()
"""


def test_the_fast_run_fails_unmarked_and_reaching_tests(tmp_path: Path) -> None:
    for helper in ("conftest.py", "testkit.py", "processkit.py"):
        shutil.copy(ROOT / "tests" / helper, tmp_path / helper)
    (tmp_path / "test_broken.py").write_text(BROKEN)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow\n    engine\n    root\n")
    # its own --basetemp: pytest then leaves the numbered folders of other runs alone (removing a big
    # stale one at its exit once made this test take 30 s)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--fast", "-q", "-p", "no:cacheprovider", "-rfE"),
            *("--basetemp", str(tmp_path / "base"), str(tmp_path / "test_broken.py")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "2 failed, 1 passed, 1 deselected, 2 errors in" in out, out
    assert (
        "test_uses_the_engine_unmarked needs the engine (fixture engine) but is not marked @pytest.mark.engine" in out
    )
    assert "test_needs_root_unmarked needs root (fixture need_root) but is not marked @pytest.mark.root" in out
    assert "FAILED test_broken.py::test_reaches_the_engine_itself" in out
    assert "--fast: the test reached the Docker engine; mark it engine or slow" in out
    assert "FAILED test_broken.py::test_reaches_the_network" in out
    assert "--fast: the test reached the network (('192.0.2.1', 80)); mark it engine or slow" in out
