"""The restarts a node is owed, kept on the node until they are done.

``/var/lib/netnsfix/restart-owed.json`` holds ``{"version": 1, "units":
[...]}``: the units (without ``.service``) whose configuration changed and
that have not been restarted since. An apply adds its changed steps' units
BEFORE the first file changes (write-ahead), so a run killed after the files
changed still leaves the restart owed; the restart module removes each unit
once it has restarted it. Written atomically, inside the confined root, in
real folders only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from .errors import NodeError
from .rootfs import RootFS
from .settings import TEXT

MARKER = "/var/lib/netnsfix/restart-owed.json"
VERSION = 1


def owed(fs):
    # type: (RootFS) -> list[str]
    """The units owed a restart, in the order they were owed ([] when there is no marker)."""
    data = fs.read(MARKER, follow=False, links=False)
    if data is None:
        return []
    try:
        marker = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise NodeError("unreadable restart marker: %s" % error, path=fs.show(MARKER))
    units = marker.get("units") if isinstance(marker, dict) else None
    if (
        marker.get("version") != VERSION
        or not isinstance(units, list)
        or not all(isinstance(unit, TEXT) and unit and "/" not in unit for unit in units)
    ):
        raise NodeError(
            "not a restart marker netnsfix wrote (version %d, units: [...])" % VERSION, path=fs.show(MARKER)
        )
    return [str(unit) for unit in units]


def write(fs, units):
    # type: (RootFS, list[str]) -> None
    """Replace the marker with ``units``; no units removes it."""
    if not units:
        fs.unlink(MARKER, links=False)
        return
    fs.mkdirs("/var/lib/netnsfix", 0o755, links=False)
    text = json.dumps({"units": list(units), "version": VERSION}, sort_keys=True, separators=(", ", ": ")) + "\n"
    fs.write(MARKER, text.encode("utf-8"), 0o600, links=False)


def owe(fs, units):
    # type: (RootFS, list[str] | tuple[str, ...]) -> list[str]
    """Add ``units`` to what is owed (write-ahead); the whole owed list."""
    current = owed(fs)
    more = [unit for unit in units if unit not in current]
    if more:
        write(fs, current + more)
    return current + more


def clear(fs, units):
    # type: (RootFS, list[str] | tuple[str, ...]) -> list[str]
    """Remove ``units`` (restarted) from what is owed; what is still owed."""
    current = owed(fs)
    left = [unit for unit in current if unit not in units]
    if left != current:
        write(fs, left)
    return left
