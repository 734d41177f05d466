"""The seam to the container engine: the only module that imports the Docker SDK.

Everything that needs containers (the build root, the rebuild, the harness's
systemd check, doctor) gets an :class:`Engine` from :func:`connect` and works
with its typed :class:`Container` and :class:`Image`; the SDK's untyped
objects and its exceptions stop here. An engine that is down, or a socket
without permission, is one :class:`EngineError` with the fix in it, and so is
every call the engine refuses.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, TypeVar

from netnsfix.errors import EngineDenied, EngineError, NetnsfixError

ENGINE_HINT = "start it with 'scripts/engine start' (or 'systemctl start docker'), or set DOCKER_HOST"

T = TypeVar("T")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def _call(what: str, action: Callable[[], T]) -> T:
    """``action()``, with any SDK failure (APIError, requests errors, ...) as one EngineError naming ``what``.

    The project's own errors (raised by a stream the engine was reading from) pass through.
    """
    try:
        return action()
    except NetnsfixError:
        raise
    except Exception as error:  # the SDK raises DockerException, requests and urllib3 errors
        raise EngineError(f"Docker engine: {what}: {_short(str(error))}") from error


def _streamed(what: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` with a failure while reading them (the engine went away) as an EngineError."""
    iterator = _call(what, lambda: iter(chunks))
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except NetnsfixError:
            raise
        except Exception as error:  # as in _call
            raise EngineError(f"Docker engine: {what}: {_short(str(error))}") from error
        yield chunk


@dataclass(frozen=True)
class Image:
    """An image the engine holds: its id, tags and labels."""

    id: str
    tags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    """What ``docker exec`` of one command gave: its exit code and its output (stdout and stderr, in order)."""

    exit_code: int
    output: str


@dataclass(frozen=True)
class Bind:
    """A host path mounted into a container."""

    host: str
    inside: str
    read_only: bool = True


class Container:
    """A container this process created; ``with container:`` removes it afterwards, whatever happens."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk

    @property
    def name(self) -> str:
        return str(self._sdk.name)

    @property
    def id(self) -> str:
        return str(self._sdk.id)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._sdk.labels or {})

    def __enter__(self) -> Container:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.remove()

    def start(self) -> None:
        _call(f"cannot start {self.name}", self._sdk.start)

    def status(self) -> str:
        """The engine's current state of the container (created, running, exited, ...)."""
        _call(f"cannot inspect {self.name}", self._sdk.reload)
        return str(self._sdk.status)

    def wait(self) -> int:
        """Block until the container's command ends; its exit code."""
        answer = _call(f"waiting for {self.name}", self._sdk.wait)
        return int(answer.get("StatusCode", -1))

    def logs(self, tail: int | None = None) -> str:
        """What the container printed so far (the last ``tail`` lines)."""
        data = _call(
            f"cannot read the log of {self.name}", lambda: self._sdk.logs(tail="all" if tail is None else tail)
        )
        return bytes(data).decode("utf-8", "replace")

    def follow_logs(self) -> Iterator[bytes]:
        """The container's output as it is written, until it ends."""
        what = f"reading the log of {self.name}"
        return _streamed(what, _call(what, lambda: self._sdk.logs(stream=True, follow=True)))

    def put_archive(self, path: str, data: bytes | IO[bytes]) -> bool:
        """Unpack the tar ``data`` at ``path`` in the container; False when the engine refused it."""
        return bool(_call(f"cannot copy into {self.name}:{path}", lambda: self._sdk.put_archive(path, data)))

    def get_archive(self, path: str) -> Iterator[bytes]:
        """``path`` in the container as a tar stream, in chunks (never whole in memory)."""
        what = f"cannot copy {path} out of {self.name}"
        stream, _stat = _call(what, lambda: self._sdk.get_archive(path))
        return _streamed(what, stream)

    def exec(self, argv: Sequence[str], *, user: str = "") -> ExecResult:
        """``docker exec`` of ``argv`` in the running container, to its end."""
        result = _call(
            f"cannot run {argv[0] if argv else 'nothing'} in {self.name}",
            lambda: self._sdk.exec_run(list(argv), user=user),
        )
        return ExecResult(int(result.exit_code or 0), bytes(result.output or b"").decode("utf-8", "replace"))

    def ip_address(self) -> str:
        """The container's address on the engine's bridge network ("" when it has none)."""
        _call(f"cannot inspect {self.name}", self._sdk.reload)
        settings = self._sdk.attrs.get("NetworkSettings", {}) or {}
        return str(settings.get("IPAddress") or "")

    def commit(self, repository: str, tag: str, message: str, conf: Mapping[str, Any]) -> str:
        """The container's file system as a new image tagged ``repository:tag``; the image's id."""
        image = _call(
            f"cannot commit {self.name} as {repository}:{tag}",
            lambda: self._sdk.commit(repository=repository, tag=tag, message=message, conf=dict(conf)),
        )
        return str(image.id)

    def remove(self) -> None:
        """Remove the container, running or not; already gone is fine."""
        with contextlib.suppress(Exception):  # the SDK raises NotFound, APIError, requests errors: all fine here
            self._sdk.remove(force=True)


class Engine:
    """A Docker engine that answered a ping: images and containers, typed."""

    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self.where = where

    @property
    def local(self) -> bool:
        """Whether the engine runs on this machine (a unix socket), so host paths can be mounted."""
        return str(getattr(self._client.api, "base_url", "")).startswith("http+docker://")

    def ping(self) -> bool:
        return bool(_call("ping", self._client.ping))

    def version(self) -> str:
        """The engine's version (as ``docker version`` says it)."""
        answer = _call("cannot read the version", self._client.version)
        return str(answer.get("Version", "?"))

    def find_image(self, ref: str) -> Image | None:
        """The engine's image ``ref`` (a tag or an id), or None when there is none."""
        from docker.errors import ImageNotFound

        try:
            found = self._client.images.get(ref)
        except ImageNotFound:
            return None
        except Exception as error:  # the SDK raises APIError and requests errors
            raise EngineError(f"Docker engine: cannot look up {ref}: {error}") from error
        return Image(str(found.id), tuple(found.tags or ()), dict(found.labels or {}))

    def image_exists(self, ref: str) -> bool:
        return self.find_image(ref) is not None

    def remove_image_quietly(self, ref: str) -> None:
        """Remove the image ``ref``, best effort: a cleanup after a failure, where nothing to remove is fine."""
        with contextlib.suppress(Exception):  # the SDK raises APIError and requests errors; any of them is fine here
            self._client.images.remove(ref, force=True)

    def import_image(
        self,
        tar: Iterable[bytes] | IO[bytes],
        *,
        repository: str | None = None,
        tag: str | None = None,
        changes: Sequence[str] = (),
        what: str = "docker import",
    ) -> str:
        """``docker import`` of the tar stream ``tar`` (tagged ``repository:tag`` when given); the image's id.

        An error raised by the stream itself (a bad package) passes through as it is.
        """
        answer = _call(
            f"{what} failed",
            lambda: self._client.api.import_image_from_stream(
                tar, repository=repository, tag=tag, changes=list(changes) or None
            ),
        )
        image_id = ""
        for line in str(answer).splitlines():
            try:
                status = json.loads(line).get("status", "")
            except (ValueError, AttributeError):
                continue
            if str(status).startswith("sha256:"):
                image_id = str(status)
        if not image_id:
            raise EngineError(f"Docker engine: {what} gave no image id: {str(answer)[:200]}")
        return image_id

    def create(
        self,
        image: str,
        command: Sequence[str],
        *,
        name: str,
        user: str | None = None,
        working_dir: str | None = None,
        environment: Mapping[str, str] | None = None,
        binds: Sequence[Bind] = (),
        labels: Mapping[str, str] | None = None,
        options: ContainerOptions | None = None,
        hostname: str | None = None,
    ) -> Container:
        """A new (not yet started) container of ``image`` running ``command``, with the network off unless
        ``options`` ask for one."""
        kwargs: dict[str, Any] = {"command": list(command), "name": name, "network_mode": "none"}
        if hostname is not None:
            kwargs["hostname"] = hostname
        if user is not None:
            kwargs["user"] = user
        if working_dir is not None:
            kwargs["working_dir"] = working_dir
        if environment is not None:
            kwargs["environment"] = dict(environment)
        if labels:
            kwargs["labels"] = dict(labels)
        if binds:
            kwargs["volumes"] = {b.host: {"bind": b.inside, "mode": "ro" if b.read_only else "rw"} for b in binds}
        if options is not None:
            kwargs |= options.sdk_options()
        sdk = _call(f"cannot create a container from {image}", lambda: self._client.containers.create(image, **kwargs))
        return Container(sdk)


@dataclass(frozen=True)
class ContainerOptions:
    """Privileges and mounts beyond the defaults (what a container with systemd as PID 1 needs)."""

    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    private_cgroupns: bool = False
    tmpfs: tuple[str, ...] = ()  # folders that get an empty tmpfs
    devices: tuple[str, ...] = ()  # host devices passed in, e.g. /dev/net/tun (Open vSwitch's userspace datapath)
    network: str = "none"  # "bridge" for a container reached over the network (the fleet's SSH node)

    def sdk_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"detach": True}
        if self.cap_add:
            options["cap_add"] = list(self.cap_add)
        if self.cap_drop:
            options["cap_drop"] = list(self.cap_drop)
        if self.security_opt:
            options["security_opt"] = list(self.security_opt)
        if self.private_cgroupns:
            options["cgroupns"] = "private"
        if self.tmpfs:
            options["tmpfs"] = dict.fromkeys(self.tmpfs, "")
        if self.devices:
            options["devices"] = [f"{device}:{device}:rwm" for device in self.devices]
        if self.network != "none":
            options["network_mode"] = self.network
        return options


def connect(timeout: int = 120) -> Engine:
    """The engine at DOCKER_HOST or the default socket, checked with a ping."""
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
        if _caused_by(error, PermissionError):
            raise EngineDenied(
                f"Docker engine at {where}: permission denied; run as root or join the 'docker' group"
            ) from error
        raise EngineError(f"Docker engine at {where} is not answering ({_short(str(error))}); {ENGINE_HINT}") from error
    return Engine(client, where)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is among what led to ``error``: its causes, contexts, and the exceptions
    the SDK and requests keep in their arguments (a refused socket arrives as a PermissionError there)."""
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, kind):
            return True
        seen.add(id(item))
        todo.extend((item.__cause__, item.__context__, *item.args))
    return False
