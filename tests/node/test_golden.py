"""The node library keeps today's results byte for byte: ``netnsfix host plan/apply --root`` on every released shape.

tests/node/golden/*.json were recorded by golden/record.py with main's code
before the library replaced it (configupdater and unidiff); each holds the
plan's and apply's output and every file's mode and sha256 after apply.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
from record import make_root, options, record, shape_name, shapes  # noqa: E402

FILES = sorted(GOLDEN.glob("*.json"))


def test_every_shape_has_a_golden_file() -> None:
    assert sorted(f"{shape_name(s)}.json" for s in shapes()) == [f.name for f in FILES]
    assert len(FILES) == 52  # 48 released shapes (systemd 197) and 4 with systemd 198


@pytest.mark.parametrize("golden", FILES, ids=[f.stem for f in FILES])
def test_host_apply_matches_the_recorded_result(golden: Path) -> None:
    expected = json.loads(golden.read_text())
    got = record(expected["shape"])
    assert got["plan"] == expected["plan"]
    assert got["apply"] == expected["apply"]
    assert got["after"] == expected["after"]


def test_a_changed_result_fails_the_comparison(tmp_path: Path) -> None:
    """The comparison can fail: one byte more in nova.conf after apply is a different tree."""
    expected = json.loads(FILES[0].read_text())
    got = record(expected["shape"])
    assert got["after"] == expected["after"]
    root = make_root(tmp_path, expected["shape"])
    from record import run, tree

    run(
        [
            "host",
            "apply",
            "privatetmp",
            "iptables-path",
            "vif-driver",
            "quantum-config",
            *options(root, expected["shape"]),
        ],
        root,
    )
    with (root / "etc/nova/nova.conf").open("ab") as stream:
        stream.write(b"\n")
    assert tree(root) != expected["after"]
