"""Read a TOML file the user gave (recipe, node settings, topology, fleet site) with one-line errors.

Each reader used to spell out the same four failures; here they are worded once, and the
caller says which error type its stage raises and how a missing file reads.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from netnsfix.errors import NetnsfixError


def read_toml(path: Path, error: type[NetnsfixError], *, missing: str = "missing", what: str = "") -> dict[str, Any]:
    """``path``'s tables, or one ``error`` naming the file: missing, unreadable, not UTF-8, not valid TOML.

    ``what`` names the file's kind in the "cannot read" message (" the recipe").
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text ({problem.reason} at byte {problem.start})") from None
    except OSError as problem:  # a folder, unreadable
        raise error(f"{path}: cannot read{what}: {problem.strerror or problem}") from None
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None
