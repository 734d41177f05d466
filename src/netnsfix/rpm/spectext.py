"""Text from inputs, made inert for a spec file: what rpm reads there is a macro language, not data.

rpm expands macros on every spec line it reads, the %changelog included (4.10
and 4.18 alike: ``%(cmd)`` runs a shell, ``%{lua:...}`` runs Lua, ``%{expand:...}``
expands twice), so a recipe's changelog text or author written as it is would run
during ``rpmbuild -bs`` and again in the build root. Every value netnsfix writes
into a spec goes through :func:`spec_literal`: characters a spec line cannot
hold (newline, NUL, other controls) are refused, and each ``%`` is doubled,
which rpm reads back as one literal ``%``.
"""

from __future__ import annotations

from netnsfix.errors import SpecError
from netnsfix.util.confined import control_character


def spec_problem(value: str) -> str | None:
    """Why ``value`` cannot stand on one spec line, or None."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not text"
    bad = control_character(value)
    if bad is not None:
        return f"holds the control character {bad!r} (a spec line cannot)"
    if value != value.strip():
        return "starts or ends with whitespace"
    return None


def spec_literal(value: str, what: str, where: object) -> str:
    """``value`` escaped for rpm's macro language (``%`` -> ``%%``); SpecError naming ``where`` and ``what``
    when it cannot stand on one spec line."""
    problem = spec_problem(value)
    if problem is not None:
        raise SpecError(f"{where}: {what} {value!r} {problem}")
    return value.replace("%", "%%")


__all__ = ["spec_literal", "spec_problem"]
