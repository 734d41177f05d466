"""What to build, decided once: the request the CLI (or the demo) makes and every stage reads.

Before it, the same five values (recipe, mirrors, lock, signature policy,
output folder) were passed as loose keywords from function to function, with
``mirrors=[None]`` standing for "the recipe's own archive" and the signature
policy a ``GpgCheck`` in one place, a ``str`` or a ``bool`` in others. A
:class:`Request` holds them, checked and in their final form: the archive's
base URLs in the order to try them (the recipe's own when no ``--mirror`` was
given: never empty, never None), the lock's path, one :class:`GpgCheck`, and
the :class:`OutputLayout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.archive.layout import base_url
from netnsfix.archive.signature import GpgCheck
from netnsfix.manifest import OutputLayout
from netnsfix.recipe import Recipe


@dataclass(frozen=True)
class Request:
    """One build's inputs. ``bases``: the archive's base URLs, first first (resolution reads the first,
    downloads try each in turn); ``srpm``: build this SRPM instead of the srpm stage's; ``image``:
    build in this image (a tag or id) instead of the recipe's build root."""

    recipe: Recipe
    bases: tuple[str, ...]
    lock: Path
    gpgcheck: GpgCheck
    layout: OutputLayout
    refresh: bool = False  # resolve again even when the lock exists
    srpm: Path | None = None
    image: str | None = None
    force: bool = False  # build even when the outputs are current
    check_reproducible: bool = False  # build again elsewhere and compare

    @classmethod
    def of(
        cls,
        recipe: Recipe,
        *,
        mirrors: Sequence[str] = (),
        lock: Path | None = None,
        gpgcheck: GpgCheck | None = None,
        out: Path = Path("out"),
        refresh: bool = False,
        srpm: Path | None = None,
        image: str | None = None,
        force: bool = False,
        check_reproducible: bool = False,
    ) -> Request:
        """The request for ``recipe``: ``mirrors`` as given (checked; none: the recipe's archive), the
        recipe's lock and keys unless others are named, outputs under ``out``."""
        bases = tuple(base_url(recipe, mirror) for mirror in mirrors) or (recipe.base_url.rstrip("/"),)
        return cls(
            recipe=recipe,
            bases=bases,
            lock=lock or recipe.lock_path,
            gpgcheck=gpgcheck or GpgCheck.of_recipe(recipe),
            layout=OutputLayout(out),
            refresh=refresh,
            srpm=srpm,
            image=image,
            force=force,
            check_reproducible=check_reproducible,
        )

    @property
    def base(self) -> str:
        """The base URL resolution reads (the first)."""
        return self.bases[0]
