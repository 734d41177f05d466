"""The fidelity kit's tests run only where the kit is built (``scripts/fidelity/pkgtools``), the live
systemd 197 fleet run only where systemd v197 is built (``scripts/fidelity/systemd197``).

They are not collected elsewhere rather than skipped: CI has neither (it reads the fixtures they
recorded, ``tests/test_fedora18_tools.py``, ``test_fleet_systemd197.py``), and under CI a skip is a failure.
"""

from __future__ import annotations

from fidelitykit import PRESENT

from netnsfix.demo.fleetnode197 import tree_present

# only the tests that need the kit or the v197 build: the systemd 197 fixture tests run everywhere
collect_ignore_glob = ([] if PRESENT else ["test_kit.py"]) + (
    [] if tree_present() else ["test_fleet_systemd197_live.py"]
)
