"""tests/node/test_proof.py under a node's Python 2.7 (``python2.7 -m unittest``), as CI runs it.

proof.py runs on Fedora 18's Python 2.7.3 in netnsfix.node.verify; its rule tests must pass there too.
The interpreter is found as tests/node/test_library_unit.py finds it (NETNSFIX_PYTHON27, pyenv's 2.7.18,
python2.7 on PATH; under CI a missing one fails). A copy with one broken expectation must fail the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from testkit import unavailable

NODE_TESTS = Path(__file__).resolve().parents[1] / "node"
SRC = Path(__file__).resolve().parents[2] / "src"


def interpreter() -> str | None:
    found = [os.environ.get("NETNSFIX_PYTHON27"), "/root/.pyenv/versions/2.7.18/bin/python2.7"]
    return next((p for p in found if p and Path(p).exists()), None) or shutil.which("python2.7")


def unittest_run(python: str, folder: Path, pattern: str = "test_proof.py") -> subprocess.CompletedProcess[str]:
    argv = [python, "-B", "-m", "unittest", "discover", "-s", str(folder), "-p", pattern]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(SRC)})


@pytest.fixture
def python27() -> str:
    python = interpreter()
    if python is None:
        unavailable("no Python 2.7 (set NETNSFIX_PYTHON27)")
    assert python is not None
    assert "Python 2.7" in subprocess.run([python, "--version"], capture_output=True, text=True).stderr
    return python


def test_the_proof_rules_pass_under_python27(python27: str) -> None:
    done = unittest_run(python27, NODE_TESTS)
    assert done.returncode == 0 and "\nOK" in done.stderr, done.stderr
    assert "Ran 28 tests" in done.stderr, done.stderr


def test_the_old_kernel_rules_pass_under_python27(python27: str) -> None:
    """tests/node/test_proof_kernel36.py (kernel 3.6's answers, simulated) on a node's Python too."""
    done = unittest_run(python27, NODE_TESTS, "test_proof_kernel36.py")
    assert done.returncode == 0 and "\nOK" in done.stderr, done.stderr
    assert "Ran 11 tests" in done.stderr, done.stderr


def test_a_broken_expectation_fails_the_run(python27: str, tmp_path: Path) -> None:
    copy = tmp_path / "node"
    shutil.copytree(NODE_TESTS / "observations", copy / "observations")
    source = (NODE_TESTS / "test_proof.py").read_text()
    broken = source.replace('expected = proof.FAIL if variant == "unpatched" else proof.PASS', "expected = proof.PASS")
    assert broken != source
    (copy / "test_proof.py").write_text(broken)
    done = unittest_run(python27, copy)
    assert done.returncode != 0 and "FAILED (failures=1)" in done.stderr, done.stderr
