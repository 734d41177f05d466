"""The seam to the container engine: the Docker SDK behind a few calls.

Everything that needs containers (the build root, the harness's systemd
check) gets its client from :func:`connect`, so an engine that is down, or a
socket without permission, is one :class:`EngineError` with the fix in it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netnsfix.errors import EngineError

ENGINE_HINT = "start it with 'scripts/engine start' (or 'systemctl start docker'), or set DOCKER_HOST"


def connect(timeout: int = 120) -> Any:
    """A ``docker.DockerClient`` for DOCKER_HOST or the default socket, checked with a ping."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a dependency of the project
        raise EngineError("the docker Python SDK is not installed (pip install docker)") from None
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as error:
        text = str(error)
        if "Permission denied" in text:
            raise EngineError(
                f"Docker engine at {where}: permission denied; run as root or join the 'docker' group"
            ) from None
        raise EngineError(f"Docker engine at {where} is not answering ({_short(text)}); {ENGINE_HINT}") from None
    return client


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def find_image(client: Any, ref: str) -> Any | None:
    """The engine's image ``ref`` (a tag or an id), or None when there is none."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref)
    except ImageNotFound:
        return None
    except Exception as error:  # noqa: BLE001 - the SDK raises APIError and requests errors
        raise EngineError(f"Docker engine: cannot look up {ref}: {error}") from None


def image_exists(client: Any, ref: str) -> bool:
    return find_image(client, ref) is not None


def remove_image_quietly(client: Any, ref: str) -> None:
    """Remove the image ``ref``, best effort: a cleanup after a failure, where nothing to remove is fine."""
    with contextlib.suppress(Exception):  # the SDK raises APIError and requests errors; any of them is fine here
        client.images.remove(ref, force=True)


@contextmanager
def removed_afterwards(container: Any) -> Iterator[Any]:
    """Yield ``container`` and remove it whatever happens (failure, Ctrl-C)."""
    try:
        yield container
    finally:
        with contextlib.suppress(Exception):  # already gone is fine
            container.remove(force=True)
