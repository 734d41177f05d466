"""Serve a folder over HTTP on 127.0.0.1: the demo archive, tests, ``netnsfix serve``.

A threading server from the standard library is enough: the clients are
dnf, yum, requests, and the tests. It supports Range requests, so the
fetcher's resume can be tested against it for real.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from netnsfix.errors import ServeError


class _Handler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus single-range ``Range: bytes=N-`` support."""

    quiet = True
    _remaining: int | None = None  # bytes left to send of a Range answer; None: the whole file

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def send_head(self) -> BinaryIO | None:
        header = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else size - 1
        if start >= size:
            self.send_error(416, "Requested Range Not Satisfiable")
            return None
        end = min(end, size - 1)
        stream = open(path, "rb")  # noqa: SIM115 - the base class reads and closes it in copyfile
        stream.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return stream

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
        remaining = self._remaining
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            block = source.read(min(remaining, 1 << 16))
            if not block:
                break
            outputfile.write(block)
            remaining -= len(block)
        self._remaining = None


@dataclass(frozen=True)
class Served:
    root: Path
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def make_server(
    root: Path, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(type("Handler", (_Handler,), {"quiet": quiet}), directory=os.fspath(root))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except (OSError, OverflowError) as error:  # a port in use, an address not on this machine
        reason = getattr(error, "strerror", None) or error
        raise ServeError(f"{host} port {port}: cannot serve there: {reason}") from error
    server.daemon_threads = True
    return server


@contextmanager
def serving(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[Served]:
    """Serve ``root`` in a background thread for the duration of the block."""
    server = make_server(root, host, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"http {root}", daemon=True
    )
    thread.start()
    try:
        yield Served(root=root, host=host, port=server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Stop(Exception):
    """Raised by the signal handler to leave ``serve_forever``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve_until_stopped(server: http.server.HTTPServer, signals: tuple[int, ...] = STOP_SIGNALS) -> str:
    """Serve until one of ``signals`` arrives; return its name (``SIGTERM``, ``SIGINT``).

    SIGTERM is what systemd, docker and CI runners send. SIGINT gets a handler
    of its own too: a non-interactive shell starts background jobs with SIGINT
    ignored, and Python then installs no KeyboardInterrupt for it, so Ctrl-C
    (or ``kill -INT``) would otherwise do nothing. Call it from the main thread;
    the previous handlers are put back afterwards.
    """

    def stop(signum: int, _frame: object) -> None:
        raise _Stop(signum)

    previous = {signum: signal.signal(signum, stop) for signum in signals}
    try:
        server.serve_forever()
    except _Stop as stopped:
        return signal.Signals(stopped.signum).name
    except KeyboardInterrupt:  # a SIGINT handler of the caller's, if SIGINT is not among ``signals``
        return signal.SIGINT.name
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.server_close()
    return "shutdown"  # someone called server.shutdown()
