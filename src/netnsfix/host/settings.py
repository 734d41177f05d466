"""Node settings from a TOML file (``--config``) and command-line options, options winning.

The checks themselves are the node library's (module_utils/settings.py, the
ones the modules run on a node); this module only reads the TOML and names
the option that set a wrong value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netnsfix.collection.plugins.module_utils.errors import SettingsError
from netnsfix.collection.plugins.module_utils.settings import (
    INTEGRATION_BRIDGE,
    KEYS,
    PUBLIC_BRIDGE,
    ROLES,
    PhysNet,
    Settings,
    default_settings,
    validate,
)
from netnsfix.errors import HostError
from netnsfix.util.tomlfile import read_toml

HostSettings = Settings
__all__ = [
    "INTEGRATION_BRIDGE",
    "KEYS",
    "PUBLIC_BRIDGE",
    "ROLES",
    "HostSettings",
    "PhysNet",
    "default_settings",
    "load_settings",
    "settings_from",
]
# The option that sets each setting, to name it when its value is wrong.
OPTIONS = {"physnets": "--physnet", "bridge_mappings": "--bridge-mapping", "ovs_wait": "--ovs-no-wait"}


def load_settings(config: Path | None, overrides: Mapping[str, Any]) -> Settings:
    """Settings from ``config`` (TOML) with ``overrides`` (CLI options, None = unset) on top."""
    raw: dict[str, Any] = {}
    source = "command line"
    if config is not None:
        source = str(config)
        raw = read_toml(config, HostError)
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise HostError(f"{config}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
        for key in ("physnets", "bridge_mappings"):  # a string would be taken as one entry: say so
            if isinstance(raw.get(key), str):
                raise HostError(f"{config}: {key} must be a list of strings ({key} = [{raw[key]!r}]), not a string")
    given = {key for key, value in overrides.items() if value is not None}
    raw.update({key: overrides[key] for key in given})
    try:
        return validate(raw, source)
    except SettingsError as error:
        key = error.key or ""
        where = OPTIONS.get(key, f"--{key.replace('_', '-')}") if key in given else source
        raise HostError(where, error.reason) from error


def settings_from(raw: Mapping[str, Any], source: str) -> Settings:
    """Settings from a table already read (a fleet site file's node), checked as ``--config`` is."""
    try:
        return validate(dict(raw), source)
    except SettingsError as error:
        raise HostError(source, error.reason) from error
