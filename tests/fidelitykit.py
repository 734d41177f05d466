"""Where the fidelity kit (``scripts/fidelity/pkgtools``) is, and whether it is built.

``NETNSFIX_FIDELITY_KIT`` names the kit's prefix (default: the cache's ``fidelity/fedora18``).
"""

from __future__ import annotations

import os
from pathlib import Path


def kit_prefix() -> Path:
    explicit = os.environ.get("NETNSFIX_FIDELITY_KIT")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("NETNSFIX_CACHE") or str(Path.home() / ".cache" / "netnsfix")
    return Path(cache) / "fidelity" / "fedora18"


KIT = kit_prefix()
PRESENT = all((KIT / "bin" / tool).is_file() for tool in ("rpm", "rpmkeys", "yum", "createrepo"))
