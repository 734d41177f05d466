"""Where netnsfix finds its own files and keeps what it reuses between runs.

Two folders every stage may need, named in one place: the project root (the
recipes in ``specs/``, ``patches/``, ``container/``, ``examples/``) and the
cache (downloads, Debian roots, demo archives, decompressed payloads).
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder with ``specs/`` and ``patches/``: ``NETNSFIX_HOME``, else the source checkout."""
    explicit = os.environ.get("NETNSFIX_HOME")
    if explicit:
        return Path(explicit)
    return Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    """Where downloads and built images' inputs are kept between runs.

    ``NETNSFIX_CACHE`` wins, then ``$XDG_CACHE_HOME/netnsfix``, then ``~/.cache/netnsfix``.
    """
    explicit = os.environ.get("NETNSFIX_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netnsfix"
