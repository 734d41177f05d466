"""The node library's own unit tests (src/netnsfix/collection/tests/unit) under Python 3.11 and Python 2.7.

They are plain unittest, stdlib only, run from the collection folder as a node
would import it (``plugins.module_utils``). Python 2.7: NETNSFIX_PYTHON27, else
pyenv's 2.7.18, else ``python2.7`` on PATH; under CI a missing 2.7 is a failure
(the CI image must provide one, e.g. the fleet node image's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import unavailable

COLLECTION = Path(__file__).resolve().parents[2] / "src" / "netnsfix" / "collection"
PYENV27 = Path("/root/.pyenv/versions/2.7.18/bin/python2.7")


def python27() -> str | None:
    if os.environ.get("NETNSFIX_PYTHON27"):
        return os.environ["NETNSFIX_PYTHON27"]
    if PYENV27.exists():  # before PATH: pyenv's shim answers "command not found" when 2.7 is not selected
        return str(PYENV27)
    return shutil.which("python2.7")


def run_unit_tests(python: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-B", "-m", "unittest", "discover", "-v", "-s", "tests/unit", "-t", "."],
        cwd=COLLECTION,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("which", ["3.11", "2.7"])
def test_the_library_unit_tests_pass(which: str) -> None:
    python = sys.executable if which == "3.11" else python27()
    if python is None:
        unavailable("no Python 2.7 (set NETNSFIX_PYTHON27)")
        return
    done = run_unit_tests(python)
    assert done.returncode == 0, done.stderr
    assert "Ran 29 tests" in done.stderr and "\nOK" in done.stderr, done.stderr
    if which == "2.7":
        assert "Python 2.7" in subprocess.run([python, "--version"], capture_output=True, text=True).stderr


def test_a_failing_unit_test_fails_the_run(tmp_path: Path) -> None:
    """The runner's verdict is read, not assumed: a copy of the suite with one broken expectation fails."""
    copy = tmp_path / "collection"
    shutil.copytree(COLLECTION, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    test = copy / "tests" / "unit" / "test_library.py"
    test.write_text(test.read_text().replace("Verbose : True", "Verbose = True", 1))
    done = subprocess.run(
        [sys.executable, "-B", "-m", "unittest", "discover", "-s", "tests/unit", "-t", "."],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "FAILED (failures=1)" in done.stderr, done.stderr
