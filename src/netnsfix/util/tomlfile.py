"""Read a TOML file the user gave (recipe, node settings, topology, fleet site) with one-line errors.

Each reader used to spell out the same four failures; here they are worded once, and the
caller says which error type its stage raises and how a missing file reads.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from netnsfix.errors import NetnsfixError
from netnsfix.util.inputfile import read_input_text


def read_toml(path: Path, error: type[NetnsfixError], *, missing: str = "missing", what: str = "") -> dict[str, Any]:
    """``path``'s tables, or one ``error`` naming the file: missing, unreadable, not UTF-8, not valid TOML.

    ``what`` names the file's kind in the messages (" the recipe"); a folder, FIFO or device is refused at once.
    """
    text = read_input_text(path, error, what=what.strip(), missing=missing)  # a FIFO or a folder is refused at once
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None
