"""The restarts a node is owed, kept on the node until they are done.

``/var/lib/netnsfix/restart-owed.json`` holds ``{"version": 1, "units":
[...], "reload": true}``: the units (without ``.service``) whose configuration
changed and that have not been restarted since, and whether systemd may not
have read the unit files yet (``systemctl daemon-reload`` owed before the
restart). An apply adds its changed steps' units BEFORE the first file changes
(write-ahead, reload owed), so a run killed after the files changed still
leaves the restart and the reload owed; an apply whose own daemon-reload ran
after its last unit file was written marks the reload done, so the restart
module does not reload a second time; the restart module removes each unit
once it has restarted it. A marker without ``reload`` (an older netnsfix's)
owes it. Written atomically, inside the confined root, in real folders only.
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
    return _read(fs)[0]


def reload_owed(fs):
    # type: (RootFS) -> bool
    """Whether a ``systemctl daemon-reload`` must come before the owed restarts (True unless an apply's own
    reload ran after its last unit file changed)."""
    return _read(fs)[1]


def _read(fs):
    # type: (RootFS) -> tuple[list[str], bool]
    data = fs.read(MARKER, follow=False, links=False)
    if data is None:
        return [], False
    try:
        marker = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise NodeError("unreadable restart marker: %s" % error, path=fs.show(MARKER))
    units = marker.get("units") if isinstance(marker, dict) else None
    if (
        not isinstance(units, list)
        or marker.get("version") != VERSION
        or not all(isinstance(unit, TEXT) and unit and "/" not in unit for unit in units)
        or not isinstance(marker.get("reload", True), bool)
    ):
        raise NodeError(
            "not a restart marker netnsfix wrote (version %d, units: [...])" % VERSION, path=fs.show(MARKER)
        )
    return [str(unit) for unit in units], marker.get("reload", True)


def write(fs, units, reload=True):
    # type: (RootFS, list[str], bool) -> None
    """Replace the marker with ``units`` (and whether a daemon-reload is owed); no units removes it."""
    if not units:
        fs.unlink(MARKER, links=False)
        return
    fs.mkdirs("/var/lib/netnsfix", 0o755, links=False)
    marker = {"reload": bool(reload), "units": list(units), "version": VERSION}
    text = json.dumps(marker, sort_keys=True, separators=(", ", ": ")) + "\n"
    fs.write(MARKER, text.encode("utf-8"), 0o600, links=False)


def owe(fs, units):
    # type: (RootFS, list[str] | tuple[str, ...]) -> list[str]
    """Add ``units`` to what is owed, with a daemon-reload (write-ahead: files are about to change); the whole
    owed list."""
    current, reload = _read(fs)
    more = [unit for unit in units if unit not in current]
    if more or (current and not reload):
        write(fs, current + more, reload=True)
    return current + more


def reloaded(fs):
    # type: (RootFS) -> None
    """systemd has read every unit file as it now is (a daemon-reload ran after the last one changed)."""
    current, reload = _read(fs)
    if current and reload:
        write(fs, current, reload=False)


def clear(fs, units):
    # type: (RootFS, list[str] | tuple[str, ...]) -> list[str]
    """Remove ``units`` (restarted) from what is owed; what is still owed (the reload flag kept)."""
    current, reload = _read(fs)
    left = [unit for unit in current if unit not in units]
    if left != current:
        write(fs, left, reload=reload)
    return left
