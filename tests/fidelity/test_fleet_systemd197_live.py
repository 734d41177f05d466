"""Record netnsfix fleet on a node booted with systemd 197 afresh and check the claims the fixture makes.

Collected only where systemd v197 is built (scripts/fidelity/systemd197's install tree in the cache;
tests/fidelity/conftest.py): CI cannot build it in time and reads the recording instead
(test_fleet_systemd197.py). Runs scripts/fidelity/record-fleet197 as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fleet197 import check_fleet197
from testkit import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.engine]


def test_fleet_on_a_booted_systemd_197_node(tmp_path, engine) -> None:
    out = tmp_path / "fleet.txt"
    env = {**os.environ, "NETNSFIX_PYTHON": sys.executable}
    script = ROOT / "scripts" / "fidelity" / "record-fleet197"
    done = subprocess.run([str(script), str(out)], capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    check_fleet197(out.read_text())
